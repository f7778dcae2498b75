package org.criu2core.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.criu2core.container.RootFs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What gdb's machine interface, jhsdb, Delve and dpkg print, read back; and the settings handed to them. */
class ParsersTest {
    @TempDir
    Path tmp;

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

    /** Delve's goroutines -t: the selected one, one on a thread, a wait reason with its time, errors, unreadable ones. */
    @Test
    void delveGoroutines() {
        String out = String.join("\n", "Type 'help' for list of commands.",
                "* Goroutine 5 - User: /src/a b.go:12 main.(*T).run (0x401000) (thread 4242)",
                "\t0  0x0000000000401000 in main.(*T).run",
                "\t    at /src/a b.go:12",
                "\t(truncated)",
                "  Goroutine 6 - User: /usr/lib/go/src/runtime/proc.go:364 runtime.gopark (0x43ccbd) [GC worker (idle) 1234567]",
                "\t 0  0x000000000043ccbd in runtime.gopark",
                "\t     at /usr/lib/go/src/runtime/proc.go:364",
                "\t          error: could not read frame 1",
                "  Goroutine (unreadable bad g)",
                "[3 goroutines]", "");
        var goroutines = Delve.parse(out);
        assertEquals(3, goroutines.size());
        assertEquals(new Delve.Goroutine(5, "running", null, 4242, new Delve.Location("main.(*T).run", "/src/a b.go", 12,
                "0x401000"), List.of(new Stacks.Frame(0, "0x0000000000401000", "main.(*T).run", "/src/a b.go", 12, null)),
                true, null), goroutines.get(0));
        assertEquals(new Delve.Goroutine(6, "waiting", "GC worker (idle)", null, new Delve.Location("runtime.gopark",
                "/usr/lib/go/src/runtime/proc.go", 364, "0x43ccbd"), List.of(new Stacks.Frame(0, "0x000000000043ccbd",
                "runtime.gopark", "/usr/lib/go/src/runtime/proc.go", 364, null)), false, "could not read frame 1"),
                goroutines.get(1));
        assertEquals(new Delve.Goroutine(-1, "unreadable", null, null, null, List.of(), false, "bad g"), goroutines.get(2));
    }

    @Test
    void aJdkOfTheFeatureReleaseNearestInUpdate() {
        assertEquals(List.of(17, 0, 21, 1), HotSpot.versionNumbers("17.0.21.1+2-1-deb12u1-Debian"));
        assertEquals(List.of(25, 0, 3), HotSpot.versionNumbers("25.0.3+9-LTS"));
        assertEquals(List.of(), HotSpot.versionNumbers("internal"));
        var jdk25 = new HotSpot.Jdk(Path.of("/j/25"), "25.0.3+9-LTS");
        var jdk17a = new HotSpot.Jdk(Path.of("/j/17a"), "17.0.15+6-Debian-1deb12u1");
        var jdk17b = new HotSpot.Jdk(Path.of("/j/17b"), "17.0.22+7");
        var jdk17c = new HotSpot.Jdk(Path.of("/j/17c"), "17.0.27+3");
        assertEquals(Optional.of(jdk17b), HotSpot.sameFeature(List.of(jdk25, jdk17a, jdk17b), "17.0.21.1+2-1-deb12u1-Debian"));
        assertEquals(Optional.of(jdk17c), HotSpot.sameFeature(List.of(jdk17a, jdk17c), "17.0.21+9"),
                "as near as 17.0.15: the newer");
        assertEquals(Optional.empty(), HotSpot.sameFeature(List.of(jdk25, jdk17a), "21.0.4+7"));
    }

    /** Where debug info is looked for: the root's directory first, debuginfod on or off, never asked about. */
    @Test
    void debugInfoSettingsForEachDebugger() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("root/usr/lib/debug")).getParent().getParent().getParent();
        var urls = DebugInfo.of(null, " http://127.0.0.1:8002  https://debuginfod.debian.net\n");
        assertEquals(List.of("http://127.0.0.1:8002", "https://debuginfod.debian.net"), urls.debuginfodUrls());
        assertEquals(List.of("set debug-file-directory " + root.toAbsolutePath() + "/usr/lib/debug:/usr/lib/debug",
                "set debuginfod enabled on", "set debuginfod urls http://127.0.0.1:8002 https://debuginfod.debian.net"),
                urls.gdbCommands(root));
        assertEquals("debug-info-directories: [\"" + root.toAbsolutePath() + "/usr/lib/debug\", \"/usr/lib/debug\"]\n",
                urls.delveConfig(root));
        assertEquals(List.of("settings append target.debug-file-search-paths \"" + root.toAbsolutePath()
                + "/usr/lib/debug\"", "settings append target.debug-file-search-paths \"/usr/lib/debug\""),
                urls.lldbCommands(root));
        assertEquals(List.of("http://a"), DebugInfo.of("http://a", "http://b").debuginfodUrls(), "--debuginfod first");

        var none = DebugInfo.of(null, null);
        assertEquals(List.of("set debug-file-directory /usr/lib/debug", "set debuginfod enabled off"),
                none.gdbCommands(Path.of("/")));
        assertEquals(List.of("set debug-file-directory /usr/lib/debug", "set debuginfod enabled off"),
                none.gdbCommands(tmp.resolve("no-such-root")));
        Map<String, String> env = new HashMap<>(Map.of("DEBUGINFOD_URLS", "https://elsewhere", "HOME", "/root"));
        none.environment(env);
        assertEquals(Map.of("HOME", "/root"), env, "the user's servers are not asked unless set here");
        urls.environment(env);
        assertEquals("http://127.0.0.1:8002 https://debuginfod.debian.net", env.get("DEBUGINFOD_URLS"));

        Path colon = Files.createDirectories(tmp.resolve("a:b/usr/lib/debug")).getParent().getParent().getParent();
        assertEquals(List.of(Path.of("/usr/lib/debug")), none.directories(colon));
        assertEquals(List.of("debug info: " + colon.toAbsolutePath() + "/usr/lib/debug is not searched: gdb's"
                + " debug-file-directory is a list separated by ':', and this path holds one"), none.notes(colon));
    }

    /** Go's build info: the version inline from Go 1.18 on; nothing from older layouts or broken bytes. */
    @Test
    void goBuildInfoVersion() {
        byte[] info = new byte[64];
        byte[] magic = "\u00ff Go buildinf:".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        System.arraycopy(magic, 0, info, 0, magic.length);
        info[14] = 8;
        info[15] = 2;
        info[32] = 8;
        System.arraycopy("go1.19.8".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, info, 33, 8);
        assertEquals("go1.19.8", LanguageRuntime.goVersion(info));
        info[32] = 40; // longer than the bytes left
        assertEquals(null, LanguageRuntime.goVersion(java.util.Arrays.copyOf(info, 50)));
        info[32] = (byte) 0xff; // a varint that never ends
        java.util.Arrays.fill(info, 33, 64, (byte) 0xff);
        assertEquals(null, LanguageRuntime.goVersion(info));
        info[15] = 0; // Go 1.13-1.17: pointers to the strings, which a section alone cannot follow
        assertEquals(null, LanguageRuntime.goVersion(info));
        assertEquals(null, LanguageRuntime.goVersion(new byte[10]));
    }

    /** The interpreter's package version from the root's dpkg status: installed packages only, the interpreter's first. */
    @Test
    void pythonPackageVersionFromTheRootsDpkgStatus() throws Exception {
        Path root = tmp.resolve("root");
        Path status = Files.createDirectories(root.resolve("var/lib/dpkg")).resolve("status");
        Files.writeString(status, String.join("\n", "Package: python3.11-minimal", "Status: deinstall ok config-files",
                "Version: 3.11.2-6", "", "Package: libpython3.11-stdlib", "Status: install ok installed",
                "Version: 3.11.2-6+deb12u9", "Description: x", " Version: 9", "", "Package: python3.12-minimal",
                "Status: install ok installed", "Version: 3.12.1-1", ""));
        try (var rootFs = new RootFs(root)) {
            assertEquals(Optional.of("3.11.2-6+deb12u9"), CPython.installedVersion(rootFs, "3.11"));
            assertEquals(Optional.of("3.12.1-1"), CPython.installedVersion(rootFs, "3.12"));
            assertEquals(Optional.empty(), CPython.installedVersion(rootFs, "3.10"));
        }
        try (var rootFs = new RootFs(Files.createDirectories(tmp.resolve("bare")))) {
            assertEquals(Optional.empty(), CPython.installedVersion(rootFs, "3.11"));
        }
    }

    /** Which file holds the interpreter: a libpython it maps before the executable that calls into it. */
    @Test
    void theInterpreterFile() {
        var fedora = new ProcessFacts(1, 0, "python3", "alive", "x86_64", "/usr/bin/python3.12", List.of(),
                List.of("/usr/bin/python3.12", "/usr/lib64/libpython3.12.so.1.0", "/usr/lib64/libc.so.6"));
        assertEquals(Optional.of("/usr/lib64/libpython3.12.so.1.0"), CPython.interpreter(fedora));
        var uwsgi = new ProcessFacts(1, 0, "uwsgi", "alive", "x86_64", "/usr/bin/uwsgi", List.of(),
                List.of("/usr/bin/uwsgi", "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"));
        assertEquals(Optional.of("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"), CPython.interpreter(uwsgi));
        var debian = new ProcessFacts(1, 0, "python3.11", "alive", "x86_64", "/usr/bin/python3.11", List.of(),
                List.of("/usr/bin/python3.11", "/usr/lib/x86_64-linux-gnu/libc.so.6"));
        assertEquals(Optional.of("/usr/bin/python3.11"), CPython.interpreter(debian));
        assertEquals(Optional.of("3.11"), CPython.version("/usr/bin/python3.11"));
        assertEquals(Optional.empty(), CPython.interpreter(new ProcessFacts(1, 0, "sh", "alive", "x86_64", "/bin/sh",
                List.of(), List.of("/bin/sh"))));
    }
}
