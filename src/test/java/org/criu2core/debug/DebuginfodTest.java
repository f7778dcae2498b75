package org.criu2core.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.criu2core.Fixtures;
import org.criu2core.elf.ElfObject;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debug info fetched by build id from a real debuginfod server (Debian's debuginfod, started
 * on a loopback port by each test), for native frames and for the Python interpreter. No CRIU
 * runs here, so each test takes a real checkpoint and changes its root: the debug info that
 * the root's file had is taken out of it and served by debuginfod alone. This machine's
 * debug-file directory is pointed at an empty one, so nothing is found there by chance.
 */
class DebuginfodTest {
    /** The threads fixture's executable (README: built with -g), and its GNU build id. */
    private static final String THREADS_EXE = "opt/criu2core/bin/threads";
    private static final String THREADS_BUILD_ID = "30c726f355cc720c6515edaea844ea0d2fdc35f2";
    /** The python case's /usr/bin/python3.11 (3.11.2-6+deb12u9, README), and where python3.11-dbg puts its DWARF. */
    private static final String PYTHON_BUILD_ID = "c561f3aa7232f2bd6ac6d56bd475f1c154a00486";
    private static final Path PYTHON_DEBUG_FILE = Path.of("/usr/lib/debug/.build-id/c5/61f3aa7232f2bd6ac6d56bd475f1c154a00486.debug");
    private static final String PYTHON_PACKAGE_VERSION = "3.11.2-6+deb12u9";
    private static final Pattern PY_BT_THREAD = Pattern.compile("^Thread \\d+ \\(Thread 0x[0-9a-f]+ \\(LWP (\\d+)\\)\\):$");

    @TempDir
    Path tmp;

    /**
     * The threads fixture with its executable stripped of every symbol (strip --strip-all keeps
     * the build id note): gdb names its frames only when debuginfod serves the debug part
     * (objcopy --only-keep-debug of the same build).
     */
    @Test
    void aStrippedExecutablesFramesAreNamedThroughDebuginfodAndNotWithoutIt() throws Exception {
        Path fixture = Fixtures.checkpoint("threads");
        Path root = Fixtures.copyTree(fixture.resolve("root"), tmp.resolve("root"));
        Path exe = root.resolve(THREADS_EXE);
        Path served = Files.createDirectories(tmp.resolve("served"));
        run("objcopy", "--only-keep-debug", exe.toString(), served.resolve("threads.debug").toString());
        run("strip", "--strip-all", exe.toString());
        try (var channel = FileChannel.open(exe, StandardOpenOption.READ)) {
            var elf = ElfObject.read(channel, exe.toString());
            assertEquals(THREADS_BUILD_ID, elf.buildId().orElseThrow());
            assertTrue(!elf.hasDebugInfo() && !elf.sections().containsKey(".symtab"), elf.sections().keySet().toString());
        }
        var cached = Converted.rootProcess(fixture.resolve("images"), root, tmp.resolve("cache"));
        Path nothingHere = Files.createDirectories(tmp.resolve("no-debug-files"));
        Path client = tmp.resolve("debuginfod-client");

        var without = Stacks.of(cached.facts(), cached.core(), root,
                new Stacks.Options(null, null, new DebugInfo(List.of(nothingHere), List.of(), client)));
        var main = without.threads().get(0);
        assertEquals(8229, main.tid());
        assertEquals(List.of("??", "??"), main.frames().subList(0, 2).stream().map(Stacks.Frame::function).toList());
        assertNull(main.frames().get(0).file());

        try (var server = DebuginfodServer.start(served, tmp.resolve("debuginfod"), THREADS_BUILD_ID)) {
            var through = Stacks.of(cached.facts(), cached.core(), root,
                    new Stacks.Options(null, null, new DebugInfo(List.of(nothingHere), List.of(server.url()), client)));
            assertEquals(List.of(), through.notes());
            var t = through.threads();
            assertEquals(List.of(8229, 8233, 8234), t.stream().map(Stacks.ThreadStack::tid).toList());
            assertEquals(List.of("spin_forever /opt/criu2core/src/common.h:36", "main threads.c:40"), named(t.get(0), 2));
            assertEquals(List.of("spin_forever /opt/criu2core/src/common.h:36", "worker threads.c:14"), named(t.get(1), 2));
            assertEquals(List.of("spin_forever /opt/criu2core/src/common.h:36", "worker threads.c:14"), named(t.get(2), 2));
        }
        assertTrue(Files.isRegularFile(client.resolve(THREADS_BUILD_ID).resolve("debuginfo")),
                "gdb fetched the debug file through debuginfod's client");
    }

    /**
     * The python case's interpreter with the host's copy of its DWARF hidden: with nothing,
     * one line naming the build id, the package and DEBUGINFOD_URLS (and the package's version
     * once the root has a dpkg status); through debuginfod, the Python frames gdb's py-bt shows
     * on the kernel's core with the host's copy.
     */
    @Test
    void pythonFramesThroughDebuginfodWithTheHostsCopyHidden() throws Exception {
        Path python = Fixtures.sharedCase("checkpoints", "python");
        Assumptions.assumeTrue(Files.isRegularFile(PYTHON_DEBUG_FILE), "skipped: " + PYTHON_DEBUG_FILE
                + ", the DWARF of the case's interpreter build (python3.11-dbg " + PYTHON_PACKAGE_VERSION
                + "), is not on this machine to be served: Debian has moved past that build");
        Assumptions.assumeTrue(CPython.extension("3.11").isPresent(),
                "skipped: gdb's extension for Python 3.11 is not installed (.ci/run installs python3.11-dbg)");
        Path root = JavaStacksTest.rootWithLinks(python.resolve("root"), tmp.resolve("root"));
        var cached = Converted.rootProcess(python.resolve("images"), root, tmp.resolve("cache"));
        Path nothingHere = Files.createDirectories(tmp.resolve("no-debug-files"));
        Path client = tmp.resolve("debuginfod-client");
        var local = new DebugInfo(List.of(nothingHere), List.of(), client);

        var neither = Stacks.of(cached.facts(), cached.core(), root, new Stacks.Options(null, null, local));
        String where = "not in the root's /usr/lib/debug (it has none), " + nothingHere
                + "/.build-id/c5/61f3aa7232f2bd6ac6d56bd475f1c154a00486.debug; DEBUGINFOD_URLS is not set (nor --debuginfod URL); ";
        assertEquals(List.of("Python frames: none: no debug info for the interpreter /usr/bin/python3.11 (build id "
                + PYTHON_BUILD_ID + "): " + where + "Debian's and Ubuntu's python3.11-dbg of this very build has it"
                + " (the root has no dpkg status to say which version), or DEBUGINFOD_URLS (or --debuginfod) may name"
                + " a server that has it"), neither.notes());
        assertNull(neither.python());
        neither.threads().forEach(t -> assertNull(t.python()));
        assertEquals(new Stacks.RuntimeFound("python", "3.11", "/usr/bin/python3.11", false), neither.runtime());

        // dpkg's record of the case's interpreter package, as Debian 12 writes it
        Path status = Files.createDirectories(root.resolve("var/lib/dpkg")).resolve("status");
        Files.writeString(status, String.join("\n", "Package: libc6", "Status: install ok installed",
                "Architecture: amd64", "Version: 2.36-9+deb12u14", "", "Package: python3.11-minimal",
                "Status: install ok installed", "Priority: optional", "Section: python", "Architecture: amd64",
                "Source: python3.11", "Version: " + PYTHON_PACKAGE_VERSION, "Description: Minimal subset of the Python"
                        + " language (version 3.11)", " This package contains the interpreter and some essential modules.",
                ""));
        var named = Stacks.of(cached.facts(), cached.core(), root, new Stacks.Options(null, null, local));
        assertEquals(List.of("Python frames: none: no debug info for the interpreter /usr/bin/python3.11 (build id "
                + PYTHON_BUILD_ID + "): " + where + "Debian's python3.11-dbg " + PYTHON_PACKAGE_VERSION
                + " has it (apt-get install python3.11-dbg=" + PYTHON_PACKAGE_VERSION + "), or DEBUGINFOD_URLS (or"
                + " --debuginfod) may name a server that has it"), named.notes());

        Path served = Files.createDirectories(tmp.resolve("served"));
        Files.copy(PYTHON_DEBUG_FILE, served.resolve("python3.11.debug"));
        Map<Integer, List<Stacks.PythonFrame>> kernel = pyBt(python.resolve("expected/py-bt.txt"));
        assertEquals(List.of(32478, 32479, 32473, 32480), List.copyOf(kernel.keySet()));
        try (var server = DebuginfodServer.start(served, tmp.resolve("debuginfod"), PYTHON_BUILD_ID)) {
            var through = Stacks.of(cached.facts(), cached.core(), root, new Stacks.Options(null, null,
                    new DebugInfo(List.of(nothingHere), List.of(server.url()), client)));
            assertEquals(List.of(), through.notes());
            assertEquals("py-bt of " + CPython.extension("3.11").orElseThrow() + ", debug info from debuginfod ("
                    + server.url() + ") for /usr/bin/python3.11 (build id " + PYTHON_BUILD_ID + ")", through.python());
            Map<Integer, List<Stacks.PythonFrame>> ours = new LinkedHashMap<>();
            through.threads().forEach(t -> ours.put(t.tid(), t.python()));
            assertEquals(List.of(32473, 32478, 32479, 32480), List.copyOf(ours.keySet()));
            for (int tid : kernel.keySet()) {
                assertEquals(kernel.get(tid), ours.get(tid), "thread " + tid);
            }
            assertEquals(new Stacks.PythonFrame("worker_io", "/opt/criu2core/py/pythreads.py", 20), ours.get(32478).get(2));
            assertEquals(new Stacks.PythonFrame("main", "/opt/criu2core/py/pythreads.py", 44), ours.get(32473).get(2));
        }
    }

    /** gdb's `thread apply all py-bt` on the kernel's core: each thread's Python frames by LWP. */
    static Map<Integer, List<Stacks.PythonFrame>> pyBt(Path file) throws Exception {
        Map<Integer, List<Stacks.PythonFrame>> threads = new LinkedHashMap<>();
        Integer lwp = null;
        StringBuilder section = new StringBuilder();
        for (String line : Files.readAllLines(file)) {
            Matcher m = PY_BT_THREAD.matcher(line);
            if (m.matches()) {
                if (lwp != null) {
                    threads.put(lwp, CPython.parse(section.toString()));
                }
                lwp = Integer.valueOf(m.group(1));
                section.setLength(0);
            } else if (lwp != null) {
                section.append(line).append('\n');
            }
        }
        if (lwp != null) {
            threads.put(lwp, CPython.parse(section.toString()));
        }
        return threads;
    }

    /** The first {@code n} frames of a thread as "function file:line". */
    private static List<String> named(Stacks.ThreadStack thread, int n) {
        return thread.frames().subList(0, n).stream().map(f -> f.function() + " " + f.file() + ":" + f.line()).toList();
    }

    private static void run(String... command) throws Exception {
        var p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", command) + ": " + out);
    }
}
