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
import org.criu2core.Fixtures;
import org.criu2core.Gdb;
import org.criu2core.KernelCores;
import org.criu2core.elf.CoreFile;
import org.criu2core.sys.FuseMount;
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

    static Stream<SharedCase> cases() throws Exception {
        List<SharedCase> all = SharedCase.all();
        Assumptions.assumeFalse(all.isEmpty(),
                "skipped: " + Fixtures.SHARED + " is absent (the kernel's cores are in ../shared, which CI always has)");
        return all.stream();
    }

    /**
     * Per case: `stacks --json` mounts the cores (where FUSE works, as on CI) and shows every
     * thread's frames as gdb does on the kernel's core; `debug` mounts the process's core and gdb's
     * `bt` shows its current thread as on the kernel's core; neither leaves a core file in the cache
     * nor a mount. Then `debug --no-mount` converts the core into the cache, and again reuses it
     * without writing it.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void debugAndStacksShowWhatGdbShowsOnTheKernelsCore(SharedCase c) throws Exception {
        Path cache = tmp.resolve("cache");
        List<Integer> pids = KernelCores.pids(c.dir());
        int pid = pids.get(0);
        boolean fuse = FuseMount.unavailable().isEmpty();

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

        List<String> stacks = new ArrayList<>(List.of("stacks", c.checkpoint().toString(), "--root",
                c.root().toString(), "--json", "--cache-dir", cache.toString()));
        for (int p : pids) {
            stacks.addAll(List.of("--pid", Integer.toString(p)));
        }
        var run = KernelCores.cli(stacks.toArray(String[]::new));
        skipIfRefused(c, run);
        assertEquals(0, run.status(), run.err());
        assertMountedOrSaidWhyNot(fuse, run, cache);
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

        String[] debug = {"debug", c.checkpoint().toString(), "--root", c.root().toString(), "--pid",
                Integer.toString(pid), "--cache-dir", cache.toString(), "--debugger-args", "-batch -ex bt"};
        var mounted = KernelCores.cli(debug);
        assertEquals(0, mounted.status(), mounted.err());
        assertMountedOrSaidWhyNot(fuse, mounted, cache);
        String gdb = c.name().startsWith("checkpoints/") || c.name().startsWith("archives/") ? "gdb" : "gdb-multiarch";
        // on an x86_64 host: gdb for x86 cores, gdb-multiarch for the others
        assertTrue(!System.getProperty("os.arch").equals("amd64") || Pattern.compile("running: \\S*/" + gdb + " -q -iex 'set sysroot ").matcher(mounted.err()).find(),
                mounted.err());
        // gdb's current thread is the core's first (in the kernel's, the one that took the signal);
        // gdb names it only when there are several
        Matcher current = CURRENT.matcher(mounted.out());
        int lwp = current.find() ? Integer.parseInt(current.group(1)) : pid;
        List<String> expected = kernelStacks.get(pid).get(lwp);
        assertFalse(expected == null || expected.isEmpty(), kernelStacks.toString());
        assertEquals(expected, bt(mounted.out()), mounted.out());

        String[] copy = Stream.concat(Stream.of(debug), Stream.of("--no-mount")).toArray(String[]::new);
        var first = KernelCores.cli(copy);
        assertEquals(0, first.status(), first.err());
        assertTrue(first.err().contains("converted into"), first.err());
        assertEquals(expected, bt(first.out()), first.out());
        Path core;
        try (Stream<Path> files = Files.walk(cache)) {
            core = files.filter(f -> f.getFileName().toString().equals("core." + pid)).findFirst().orElseThrow();
        }
        var before = Files.readAttributes(core, BasicFileAttributes.class);
        var second = KernelCores.cli(copy);
        assertEquals(0, second.status(), second.err());
        assertTrue(second.err().contains("cached core " + core), second.err());
        assertFalse(second.err().contains("converted into"), second.err());
        var after = Files.readAttributes(core, BasicFileAttributes.class);
        assertEquals(before.fileKey(), after.fileKey(), "the same core file, not a new one");
        assertEquals(before.lastModifiedTime(), after.lastModifiedTime(), "not written again");
        assertEquals(expected, bt(second.out()), second.out());
    }

    /**
     * Where FUSE works, the run mounted its cores and left neither a core file in the cache nor a
     * mount nor its mountpoint; elsewhere it said why not and converted them.
     */
    static void assertMountedOrSaidWhyNot(boolean fuse, KernelCores.Run run, Path cache) throws Exception {
        if (!fuse) {
            assertTrue(run.err().contains("not mounted: ") && run.err().contains("converted into"), run.err());
            return;
        }
        assertTrue(run.err().contains("core mounted at " + cache.toAbsolutePath().resolve(".mounts")), run.err());
        assertFalse(run.err().contains("converted into"), run.err());
        try (Stream<Path> files = Files.walk(cache)) {
            assertEquals(List.of(), files.filter(f -> f.getFileName().toString().startsWith("core."))
                    .map(Path::toString).toList(), "no core file in the cache");
        }
        try (Stream<Path> left = Files.list(cache.resolve(".mounts"))) {
            assertEquals(List.of(), left.map(Path::toString).toList(), "no mountpoint left");
        }
        String prefix = cache.toAbsolutePath().normalize() + "/";
        assertEquals(List.of(), Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .filter(l -> l.split(" ")[4].startsWith(prefix)).toList(), "no mount left");
    }

    private static void skipIfRefused(SharedCase c, KernelCores.Run run) {
        boolean made = run.err().contains("converted into") || run.err().contains("core mounted at");
        if (run.status() != 0 && (c.mayBeRefused() || run.err().contains("is not supported")) && !made) {
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
