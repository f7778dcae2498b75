package org.criu2core.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.criu2core.Gdb;
import org.criu2core.KernelCores;
import org.criu2core.elf.CoreFile;
import org.criu2core.elf.Elf;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * `stacks` and `debug` on every real case of ../shared, against gdb on the core the kernel
 * wrote for the same process: the same frames for every thread.
 */
class SharedCasesTest {
    private static final Pattern THREAD = Pattern.compile("^Thread \\d+ \\(.*?LWP (\\d+)\\)");
    private static final Pattern CURRENT = Pattern.compile("\\[Current thread is \\d+ \\(.*?LWP (\\d+)\\)\\]");

    @TempDir
    Path tmp;

    /**
     * Per case: `debug` converts the process and gdb's `bt` shows its current thread as gdb shows
     * it on the kernel's core; `stacks --json` reuses that core and shows every thread's frames as
     * gdb does on the kernel's core; `debug` again reuses the core without writing it.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource(SharedCase.PRESENT)
    void debugAndStacksShowWhatGdbShowsOnTheKernelsCore(SharedCase c) throws Exception {
        Path cache = tmp.resolve("cache");
        List<Integer> pids = KernelCores.pids(c.dir());
        int pid = pids.get(0);
        String[] debug = {"debug", c.checkpoint().toString(), "--root", c.root().toString(), "--pid",
                Integer.toString(pid), "--cache-dir", cache.toString(), "--debugger-args", "-batch -ex bt", "--no-mount"};
        var first = KernelCores.cli(debug);
        skipIfRefused(c, first);
        int kernelMachine;
        Path kernelCore = KernelCores.unpack(c.dir(), pid, Files.createDirectories(tmp.resolve("machine")));
        try (var core = CoreFile.open(kernelCore)) {
            kernelMachine = core.machine();
        }
        if (!gdbReads(kernelMachine)) {
            oneLineSaysWhichGdbReadsIt(c, pids, cache, first);
            return;
        }
        assertEquals(0, first.status(), first.err());
        assertTrue(first.err().contains("converted into"), first.err());
        String gdb = c.name().startsWith("checkpoints/") || c.name().startsWith("archives/") ? "gdb" : "gdb-multiarch";
        // on an x86_64 host: gdb for x86 cores, gdb-multiarch for the others
        assertTrue(!System.getProperty("os.arch").equals("amd64") || Pattern.compile("running: \\S*/" + gdb + " -q -iex 'set sysroot ").matcher(first.err()).find(),
                first.err());

        Map<Integer, Map<Integer, List<String>>> kernelStacks = new LinkedHashMap<>();
        for (int p : pids) {
            Path kernel = KernelCores.unpack(c.dir(), p, tmp);
            int machine;
            try (var core = CoreFile.open(kernel)) {
                machine = core.machine();
            }
            kernelStacks.put(p, backtraces(Gdb.run(machine, c.root(), KernelCores.exe(c.dir(), p), kernel,
                    "thread apply all bt")));
        }
        // gdb's current thread is the core's first (in the kernel's, the one that took the signal);
        // gdb names it only when there are several
        Matcher current = CURRENT.matcher(first.out());
        int lwp = current.find() ? Integer.parseInt(current.group(1)) : pid;
        List<String> expected = kernelStacks.get(pid).get(lwp);
        assertFalse(expected == null || expected.isEmpty(), kernelStacks.toString());
        assertEquals(expected, bt(first.out()), first.out());

        List<String> stacks = new ArrayList<>(List.of("stacks", c.checkpoint().toString(), "--root",
                c.root().toString(), "--json", "--cache-dir", cache.toString(), "--no-mount"));
        for (int p : pids) {
            stacks.addAll(List.of("--pid", Integer.toString(p)));
        }
        var run = KernelCores.cli(stacks.toArray(String[]::new));
        assertEquals(0, run.status(), run.err());
        assertTrue(run.err().contains("cached core"), run.err());
        JsonNode json = new ObjectMapper().readTree(run.out());
        assertEquals(pids.size(), json.get("processes").size(), run.out());
        for (JsonNode process : json.get("processes")) {
            int p = process.get("pid").asInt();
            Map<Integer, List<String>> actual = new LinkedHashMap<>();
            for (JsonNode thread : process.get("threads")) {
                List<String> functions = new ArrayList<>();
                thread.get("frames").forEach(f -> functions.add(f.get("function").asText()));
                actual.put(thread.get("tid").asInt(), functions);
                assertFalse(thread.get("comm").asText().isEmpty(), "thread " + thread.get("tid") + " has a name");
            }
            var expectedStacks = kernelStacks.get(p);
            assertTrue(!expectedStacks.isEmpty() && expectedStacks.values().stream().noneMatch(List::isEmpty),
                    expectedStacks.toString());
            assertEquals(expectedStacks, actual, c + " process " + p);
            assertTrue(process.get("unwinder").asText().contains("GNU gdb"), process.toString());
            if (c.name().equals("checkpoints/jvm")) {
                JavaStacksTest.javaStacksOrWhyNot(process);
            }
        }

        Path core;
        try (Stream<Path> files = Files.walk(cache)) {
            core = files.filter(f -> f.getFileName().toString().equals("core." + pid)).findFirst().orElseThrow();
        }
        var before = Files.readAttributes(core, BasicFileAttributes.class);
        var second = KernelCores.cli(debug);
        assertEquals(0, second.status(), second.err());
        assertTrue(second.err().contains("cached core " + core), second.err());
        assertFalse(second.err().contains("converted into"), second.err());
        var after = Files.readAttributes(core, BasicFileAttributes.class);
        assertEquals(before.fileKey(), after.fileKey(), "the same core file, not a new one");
        assertEquals(before.lastModifiedTime(), after.lastModifiedTime(), "not written again");
        assertEquals(expected, bt(second.out()), second.out());
    }

    /**
     * gdb's names of the architectures not every gdb has (Debian 12's gdb 13 has no LoongArch),
     * as `set architecture` takes them.
     */
    private static final Map<Integer, String> NOT_IN_EVERY_GDB = Map.of(Elf.EM_LOONGARCH, "Loongarch64");
    /** What criu2core says when the installed gdb cannot read such a core, for `debug` and for `stacks`. */
    private static final Pattern NO_SUCH_GDB = Pattern.compile("criu2core: (process \\d+: )?\\S*/gdb-multiarch: "
            + "GNU gdb .*\\d+\\.\\d+\\S* cannot read LoongArch cores \\(this one is loongarch64\\); gdb 14 or newer can");

    /** Whether the installed gdb-multiarch reads cores of {@code machine}, asked as a user would. */
    private static boolean gdbReads(int machine) throws Exception {
        String name = NOT_IN_EVERY_GDB.get(machine);
        if (name == null) {
            return true;
        }
        var gdb = new ProcessBuilder(Gdb.command(machine), "-nx", "-batch", "-ex", "set architecture " + name)
                .redirectErrorStream(true).start();
        String answer = new String(gdb.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        gdb.waitFor();
        assertTrue(answer.contains("Undefined item") || answer.contains("The target architecture is set to"), answer);
        return !answer.contains("Undefined item");
    }

    /**
     * With a gdb that cannot read the core's architecture, `debug` and `stacks` still convert the
     * process, then say so in one line naming the gdb, its version and the gdb that can, and fail.
     */
    private static void oneLineSaysWhichGdbReadsIt(SharedCase c, List<Integer> pids, Path cache, KernelCores.Run debug)
            throws Exception {
        assertEquals(1, debug.status(), debug.err());
        assertTrue(debug.err().contains("converted into"), debug.err());
        List<String> failures = debug.err().lines().filter(l -> l.startsWith("criu2core:")).toList();
        assertEquals(1, failures.size(), debug.err());
        assertTrue(NO_SUCH_GDB.matcher(failures.get(0)).matches(), failures.get(0));
        assertFalse(debug.out().contains("<unavailable>"), "gdb was not run on the core: " + debug.out());

        List<String> stacks = new ArrayList<>(List.of("stacks", c.checkpoint().toString(), "--root",
                c.root().toString(), "--cache-dir", cache.toString(), "--no-mount"));
        for (int p : pids) {
            stacks.addAll(List.of("--pid", Integer.toString(p)));
        }
        var run = KernelCores.cli(stacks.toArray(String[]::new));
        assertEquals(1, run.status(), run.err());
        assertTrue(run.err().contains("cached core"), run.err());
        List<String> lines = run.err().lines().filter(l -> l.startsWith("criu2core:")).toList();
        assertEquals(pids.size(), lines.size(), run.err());
        for (int i = 0; i < pids.size(); i++) {
            assertTrue(lines.get(i).startsWith("criu2core: process " + pids.get(i) + ": "), lines.get(i));
            assertTrue(NO_SUCH_GDB.matcher(lines.get(i)).matches(), lines.get(i));
        }
        assertEquals("", run.out(), "no stacks without a gdb that reads them");
    }

    private static void skipIfRefused(SharedCase c, KernelCores.Run run) {
        if (run.status() != 0 && c.mayBeRefused() && !run.err().contains("converted into")) {
            Assumptions.abort("skipped: convert refuses " + c + " for now (other issues make it convert): "
                    + run.err().strip());
        }
    }

    /** {LWP: function of each frame} from gdb's `thread apply all bt`. */
    private static Map<Integer, List<String>> backtraces(String gdbOutput) {
        Map<Integer, List<String>> threads = new LinkedHashMap<>();
        List<String> current = null;
        for (String line : gdbOutput.split("\n")) {
            Matcher t = THREAD.matcher(line);
            if (t.find()) {
                current = threads.computeIfAbsent(Integer.parseInt(t.group(1)), k -> new ArrayList<>());
            } else if (current != null && line.startsWith("#")) {
                current.add(function(line));
            }
        }
        return threads;
    }

    /** The functions of the frames of the last `bt` in gdb's output (it prints frame #0 on loading, too). */
    private static List<String> bt(String gdbOutput) {
        List<String> lines = gdbOutput.lines().filter(l -> l.matches("^#\\d+\\s.*")).toList();
        int start = 0;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith("#0 ")) {
                start = i;
            }
        }
        return lines.subList(start, lines.size()).stream().map(SharedCasesTest::function).toList();
    }

    /**
     * The function of a line of gdb's bt, "#N  [0xPC in ]FUNCTION (ARGS)[ at FILE:LINE| from LIB]":
     * what stands before the argument list, which is the first " (" outside parentheses and angle
     * brackets (C++ names hold both: "vtable for LogStreamTemplate<(LogLevel::type)1, ...>").
     */
    static String function(String line) {
        String rest = line.replaceFirst("^#\\d+\\s+", "").replaceFirst("^0x[0-9a-f]+ in ", "");
        int depth = 0;
        for (int i = 0; i < rest.length(); i++) {
            char ch = rest.charAt(i);
            if (ch == '(' && depth == 0 && i > 0 && rest.charAt(i - 1) == ' ') {
                return rest.substring(0, i - 1);
            }
            if (ch == '(' || ch == '<' && !rest.startsWith("operator", Math.max(0, i - 8))) {
                depth++;
            } else if ((ch == ')' || ch == '>') && depth > 0) {
                depth--;
            }
        }
        return rest;
    }
}
