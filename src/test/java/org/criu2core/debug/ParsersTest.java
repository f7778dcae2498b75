package org.criu2core.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What gdb's machine interface and jhsdb print, read back. */
class ParsersTest {
    @Test
    void miRecordsWithTuplesListsAndEscapes() {
        var p = new GdbMi.Parser("^done,stack=[frame={level=\"0\",addr=\"0x1\",func=\"f\",file=\"a \\\"b\\\".c\"},"
                + "frame={level=\"1\",addr=\"0x2\",func=\"??\",from=\"/lib/libc.so.6\"}],names=[\"x\",\"\\303\\251\"]", 1);
        assertEquals("done", p.word());
        var results = p.results();
        assertEquals(List.of(Map.of("level", "0", "addr", "0x1", "func", "f", "file", "a \"b\".c"),
                Map.of("level", "1", "addr", "0x2", "func", "??", "from", "/lib/libc.so.6")), results.get("stack"));
        assertEquals(List.of("x", "é"), results.get("names"));
        assertEquals("\"a\\\\b\\\"c\"", GdbMi.quote("a\\b\"c"));
    }

    @Test
    void jstackThreadsByNativeId() {
        String out = String.join("\n", "Attaching to core c from executable e, please wait...",
                "Debugger attached successfully.", "",
                "\"main\" #1 prio=5 tid=0x00007fef4c017530 nid=0x4a25 in Object.wait() [0x00007fef52b1e000]",
                "   java.lang.Thread.State: WAITING (on object monitor)",
                " - java.lang.Object.wait(long) @bci=0 (Interpreted frame)",
                "\t- waiting on <0x00000000fc3fff68> (a java.lang.Thread)",
                " - Idle.main(java.lang.String[]) @bci=138, line=26 (Interpreted frame)", "", "",
                "\"Signal Dispatcher\" #4 daemon prio=9 tid=0x00007fef4c0ebd70 nid=0x4a2d waiting on condition [0x0]",
                "   java.lang.Thread.State: RUNNABLE", "");
        var threads = HotSpot.parse(out);
        assertEquals(List.of(0x4a25, 0x4a2d), List.copyOf(threads.keySet()));
        var main = threads.get(0x4a25);
        assertEquals("main", main.name());
        assertEquals("WAITING (on object monitor)", main.state());
        assertEquals(List.of(new HotSpot.JavaFrame("java.lang.Object.wait(long)", 0, null, "Interpreted frame"),
                new HotSpot.JavaFrame("Idle.main(java.lang.String[])", 138, 26, "Interpreted frame")), main.frames());
        assertEquals(5, main.lines().size());
        assertEquals(List.of(), threads.get(0x4a2d).frames());
    }
}
