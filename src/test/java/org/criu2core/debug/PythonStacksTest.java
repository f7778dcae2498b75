package org.criu2core.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Python frames from gdb's CPython extension. No checkpoint of a CPython process is at hand, so
 * the unwinder reads a core of a real one that gdb's gcore wrote, with / as its root.
 */
class PythonStacksTest {
    private static final String SCRIPT = String.join("\n",
            "import sys, threading, time",
            "def inner(n):",
            "    time.sleep(1000)",
            "def outer():",
            "    inner(3)",
            "t = threading.Thread(target=outer, name='sleeper')",
            "t.start()",
            "print('ready', flush=True)",
            "t.join()", "");

    @TempDir
    Path tmp;

    @Test
    void pythonFramesOfEveryThread() throws Exception {
        Path python = Path.of("/usr/bin/python3");
        Assumptions.assumeTrue(Files.isExecutable(python), "skipped: no /usr/bin/python3");
        Assumptions.assumeTrue(Debugger.executable(Path.of("/"), "/usr/bin/gcore") != null, "skipped: no gcore (gdb)");
        python = python.toRealPath();
        String version = CPython.version(CPython.interpreter(new ProcessFacts(1, 0, "python3", "alive", "x86_64",
                python.toString(), List.of(), List.of())).orElseThrow()).orElseThrow();
        Assumptions.assumeTrue(CPython.extension(version).isPresent(),
                "skipped: gdb's extension for Python " + version + " is not installed (.ci/run installs python3-dbg)");
        Path script = Files.writeString(tmp.resolve("sleeper.py"), SCRIPT);
        Process p = new ProcessBuilder(python.toString(), script.toString()).redirectErrorStream(true).start();
        Path core;
        List<Integer> tids;
        try {
            var reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("ready", reader.readLine());
            try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(p.pid()), "task"))) {
                tids = tasks.map(t -> Integer.parseInt(t.getFileName().toString())).sorted().toList();
            }
            var gcore = new ProcessBuilder("gcore", "-o", tmp.resolve("core").toString(), Long.toString(p.pid()))
                    .redirectErrorStream(true).redirectOutput(tmp.resolve("gcore.log").toFile()).start();
            assertTrue(gcore.waitFor(120, TimeUnit.SECONDS) && gcore.exitValue() == 0,
                    Files.readString(tmp.resolve("gcore.log")));
            core = tmp.resolve("core." + p.pid());
        } finally {
            p.destroyForcibly();
        }
        var threads = tids.stream().map(t -> new ProcessFacts.ThreadFacts(t, "python3")).toList();
        var facts = new ProcessFacts((int) p.pid(), 0, "python3", "alive", "x86_64", python.toString(), threads,
                List.of(python.toString()));
        var stacks = Stacks.of(facts, core, Path.of("/"), Stacks.Options.DEFAULTS);
        assertEquals(List.of(), stacks.notes());
        assertEquals(2, stacks.threads().size());
        var main = stacks.threads().get(0).python();
        var sleeper = stacks.threads().get(1).python();
        assertEquals(new Stacks.PythonFrame("<module>", script.toString(), 9), main.get(main.size() - 1));
        assertTrue(main.stream().anyMatch(f -> f.function().equals("join")), main.toString());
        List<Stacks.PythonFrame> ours = sleeper.stream().filter(f -> script.toString().equals(f.file())).toList();
        assertEquals(List.of(new Stacks.PythonFrame("inner", script.toString(), 3),
                new Stacks.PythonFrame("outer", script.toString(), 5)), ours);
        assertTrue(sleeper.get(0).function().startsWith("built-in method sleep"), sleeper.toString());
    }
}
