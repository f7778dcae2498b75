package org.criu2core.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Goroutines of the real Go program of ../shared/checkpoints/go, read by Delve from the
 * converted core: what Delve shows on the kernel's own core (expected/dlv-goroutines.txt), and
 * the frames the case's README names.
 */
class GoroutinesTest {
    private static final String SOURCE = "/opt/criu2core/go/goroutines.go";

    @TempDir
    Path tmp;

    @Test
    void stacksShowTheGoroutinesDelveShowsOnTheKernelsCore() throws Exception {
        Path go = Fixtures.sharedCase("checkpoints", "go");
        var run = KernelCores.cli("stacks", go.resolve("images").toString(), "--root", go.resolve("root").toString(),
                "--json", "--cache-dir", tmp.resolve("cache").toString());
        assertEquals(0, run.status(), run.err());
        JsonNode process = new ObjectMapper().readTree(run.out()).get("processes").get(0);
        assertEquals(30267, process.get("pid").asInt());
        assertEquals("go", process.get("runtime").get("name").asText());
        assertEquals("go1.19.8", process.get("runtime").get("version").asText());
        assertEquals("/opt/criu2core/bin/goroutines", process.get("runtime").get("file").asText());
        assertTrue(process.get("go").asText().matches("Delve \\S+ \\(dlv core\\), go1\\.19\\.8"), process.get("go").asText());
        assertEquals(List.of(), notes(process));
        // the threads are as before: the Ms in the runtime's futex and epoll waits
        assertEquals(List.of("runtime.futex", "runtime.futex", "runtime.epollwait", "runtime.futex"),
                functions(process.get("threads"), 0));

        List<Delve.Goroutine> delve = Delve.parse(Files.readString(go.resolve("expected/dlv-goroutines.txt")));
        JsonNode goroutines = process.get("goroutines");
        assertEquals(26, delve.size());
        assertEquals(delve.size(), goroutines.size(), run.out());
        for (int i = 0; i < delve.size(); i++) {
            var expected = delve.get(i);
            JsonNode g = goroutines.get(i);
            assertEquals(expected.id(), g.get("id").asLong());
            assertEquals(expected.waitReason(), g.get("waitReason").asText());
            assertEquals("waiting", g.get("status").asText());
            assertTrue(g.get("thread").isNull());
            assertEquals(expected.location().function(), g.get("location").get("function").asText());
            assertEquals(expected.location().file(), g.get("location").get("file").asText());
            assertEquals(expected.location().line(), g.get("location").get("line").asInt());
            // Delve's default depth of 10 cut goroutine 36 off; stacks asks for 100 frames
            assertEquals(expected.truncated(), expected.id() == 36);
            assertFalse(g.get("truncated").asBoolean());
            List<Stacks.Frame> frames = new ArrayList<>();
            g.get("frames").forEach(f -> frames.add(new Stacks.Frame(f.get("level").asInt(), f.get("pc").asText(),
                    f.get("function").asText(), f.get("file").asText(), f.get("line").asInt(), null)));
            assertEquals(expected.frames(), expected.truncated() ? frames.subList(0, expected.frames().size()) : frames,
                    "goroutine " + expected.id());
        }

        // the user frames the case's README names, by goroutine id
        Map<Long, String> user = new TreeMap<>();
        for (JsonNode g : goroutines) {
            for (JsonNode f : g.get("frames")) {
                if (f.get("function").asText().matches("main\\.[a-zA-Z]+") && f.get("file").asText().equals(SOURCE)) {
                    user.put(g.get("id").asLong(), f.get("function").asText() + ":" + f.get("line").asInt()
                            + " [" + g.get("waitReason").asText() + "]");
                    break;
                }
            }
        }
        Map<Long, String> expected = new TreeMap<>();
        expected.put(1L, "main.main:151 [semacquire]");
        expected.put(18L, "main.holdMutex:64 [sleep]");
        for (long id = 19; id <= 26; id++) {
            expected.put(id, "main.waitOnChannel:41 [chan receive]");
        }
        expected.put(27L, "main.selectLoop:50 [select]");
        expected.put(28L, "main.wantMutex:72 [semacquire]");
        expected.put(29L, "main.wantMutex:72 [semacquire]");
        for (long id = 30; id <= 35; id++) {
            expected.put(id, "main.sleeper:82 [sleep]");
        }
        expected.put(36L, "main.acceptLoop:90 [IO wait]");
        assertEquals(expected, user);
        List<String> runtimeOwn = new ArrayList<>();
        for (JsonNode g : goroutines) {
            if (!user.containsKey(g.get("id").asLong())) {
                runtimeOwn.add(g.get("id").asLong() + " " + g.get("waitReason").asText());
            }
        }
        assertEquals(List.of("2 force gc (idle)", "3 GC sweep wait", "4 GC scavenge wait", "17 finalizer wait",
                "37 GC worker (idle)", "38 GC worker (idle)"), runtimeOwn);
        JsonNode accept = goroutines.get(delve.size() - 3);
        assertEquals(36, accept.get("id").asInt());
        assertEquals("net.(*TCPListener).Accept", accept.get("frames").get(8).get("function").asText());
        assertEquals("main.main.func6", accept.get("frames").get(10).get("function").asText());
    }

    @Test
    void theTextGroupsGoroutinesOfOneStackAndNamesTheirIds() throws Exception {
        Path go = Fixtures.sharedCase("checkpoints", "go");
        var run = KernelCores.cli("stacks", go.resolve("images").toString(), "--root", go.resolve("root").toString(),
                "--cache-dir", tmp.resolve("cache").toString());
        assertEquals(0, run.status(), run.err());
        List<String> lines = run.out().lines().toList();
        assertTrue(lines.contains("  runtime:  go go1.19.8 (/opt/criu2core/bin/goroutines)"), run.out());
        assertTrue(lines.contains("  goroutines: 26"), run.out());
        int group = lines.indexOf("  8 goroutines 19-26 [chan receive]");
        assertTrue(group > 0, run.out());
        assertEquals("    #3  0x0000000000514dc5 in main.waitOnChannel at " + SOURCE + ":41", lines.get(group + 4));
        int main = lines.indexOf("  goroutine 1 [semacquire]");
        assertEquals("    #5  0x00000000005161b3 in main.main at " + SOURCE + ":151", lines.get(main + 6));
        for (String header : List.of("  goroutine 27 [select]", "  2 goroutines 28-29 [semacquire]",
                "  6 goroutines 30-35 [sleep]", "  goroutine 36 [IO wait]", "  2 goroutines 37-38 [GC worker (idle)]")) {
            assertTrue(lines.contains(header), header + " in\n" + run.out());
        }
    }

    @Test
    void runtimeNoneShowsNativeStacksAloneAndAForcedRuntimeSaysWhatItLacks() throws Exception {
        Path go = Fixtures.sharedCase("checkpoints", "go");
        String[] common = {"stacks", go.resolve("images").toString(), "--root", go.resolve("root").toString(), "--json",
                "--cache-dir", tmp.resolve("cache").toString(), "--runtime"};
        var none = KernelCores.cli(concat(common, "none"));
        assertEquals(0, none.status(), none.err());
        JsonNode process = new ObjectMapper().readTree(none.out()).get("processes").get(0);
        assertTrue(process.get("runtime").isNull() && process.get("goroutines").isNull() && process.get("go").isNull(),
                none.out());
        assertEquals(4, process.get("threads").size());

        var python = KernelCores.cli(concat(common, "python"));
        assertEquals(0, python.status(), python.err());
        process = new ObjectMapper().readTree(python.out()).get("processes").get(0);
        assertEquals("python", process.get("runtime").get("name").asText());
        assertTrue(process.get("runtime").get("forced").asBoolean());
        assertEquals(List.of("Python frames: none: no python3.X executable or libpython3.X among the mapped files tells"
                + " the interpreter's version, which gdb's extension (py-bt) must match"), notes(process));

        var bad = KernelCores.cli(concat(common, "rust"));
        assertEquals(2, bad.status(), bad.err());
        assertTrue(bad.err().contains("--runtime is none, go, python or java, not rust"), bad.err());
    }

    /**
     * Without Delve, one line names its package and the native stacks still print: the command
     * runs in a JVM of its own whose PATH has gdb and not dlv.
     */
    @Test
    void aMissingDelveIsOneLineNamingItsPackageAndTheNativeStacksStillPrint() throws Exception {
        Path go = Fixtures.sharedCase("checkpoints", "go");
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path gdb = Programs.onPath("gdb").orElseThrow(() -> new AssertionError("gdb is not installed (.ci/run installs it)"));
        Files.createSymbolicLink(bin.resolve("gdb"), gdb);
        var p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), "org.criu2core.cli.Main", "stacks",
                go.resolve("images").toString(), "--root", go.resolve("root").toString(), "--cache-dir",
                tmp.resolve("cache").toString()).redirectErrorStream(true);
        p.environment().put("PATH", bin.toString());
        var process = p.start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(300, TimeUnit.SECONDS), out);
        assertEquals(0, process.exitValue(), out);
        assertTrue(out.contains("\n  note:     Goroutines: none: dlv: not installed; install the package delve"
                + " (Debian, Ubuntu: apt-get install delve)\n"), out);
        assertTrue(out.contains("    #0  0x000000000046bc80 in runtime.epollwait at /usr/lib/go-1.19/src/runtime/"
                + "sys_linux_amd64.s:706"), out);
        assertFalse(out.contains("goroutines:"), out);
    }

    /** A Go executable stripped of its DWARF (as -ldflags=-s -w builds are): one line says why there are no goroutines. */
    @Test
    void aStrippedGoExecutableIsOneLineSayingDelveNeedsItsDwarf() throws Exception {
        Path go = Fixtures.sharedCase("checkpoints", "go");
        Path root = Fixtures.copyTree(go.resolve("root"), tmp.resolve("root"));
        Path exe = root.resolve("opt/criu2core/bin/goroutines");
        exe.toFile().setWritable(true);
        var strip = new ProcessBuilder("strip", "--strip-all", exe.toString()).redirectErrorStream(true).start();
        String stripped = new String(strip.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(strip.waitFor(60, TimeUnit.SECONDS) && strip.exitValue() == 0, stripped);
        var run = KernelCores.cli("stacks", go.resolve("images").toString(), "--root", root.toString(), "--json",
                "--cache-dir", tmp.resolve("cache").toString());
        assertEquals(0, run.status(), run.err());
        JsonNode process = new ObjectMapper().readTree(run.out()).get("processes").get(0);
        assertEquals("go1.19.8", process.get("runtime").get("version").asText(), "the build info stays");
        assertEquals(List.of("Goroutines: none: Delve reads them with the executable's DWARF, and"
                + " /opt/criu2core/bin/goroutines has none (built with -ldflags=-w, or stripped) nor has a debug file"
                + " for it been found in /usr/lib/debug: dlv core failed (exit status 1): could not open debug info"),
                notes(process));
        assertTrue(process.get("goroutines").isNull());
        assertEquals(4, process.get("threads").size());
    }

    /** debug --debugger dlv opens Delve on the cached core with the root's executable. */
    @Test
    void debugOpensDelveOnTheCore() throws Exception {
        Path go = Fixtures.sharedCase("checkpoints", "go");
        Path script = Files.writeString(tmp.resolve("script.dlv"), "goroutines\nprint main.marker\nexit\n");
        var run = KernelCores.cli("debug", go.resolve("images").toString(), "--root", go.resolve("root").toString(),
                "--debugger", "dlv", "--cache-dir", tmp.resolve("cache").toString(), "--", "--init", script.toString());
        assertEquals(0, run.status(), run.err());
        assertTrue(run.err().matches("(?s).*running: \\S*/dlv core \\S*/opt/criu2core/bin/goroutines \\S*/core\\.30267"
                + " --allow-non-terminal-interactive=true --init \\S*script\\.dlv\n.*"), run.err());
        assertTrue(run.out().contains("[26 goroutines]"), run.out());
        assertTrue(run.out().contains("\"C2C-GO-MARKER\""), run.out());
    }

    private static List<String> notes(JsonNode process) {
        List<String> notes = new ArrayList<>();
        process.get("notes").forEach(n -> notes.add(n.asText()));
        return notes;
    }

    private static List<String> functions(JsonNode threads, int level) {
        List<String> functions = new ArrayList<>();
        threads.forEach(t -> functions.add(t.get("frames").get(level).get("function").asText()));
        return functions;
    }

    private static String[] concat(String[] a, String b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + 1);
        all[a.length] = b;
        return all;
    }
}
