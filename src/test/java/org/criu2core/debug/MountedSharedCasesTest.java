package org.criu2core.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.criu2core.sys.FuseMount;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * `stacks` and `debug` on every real case of ../shared with their cores mounted (the default),
 * against the same with --no-mount (the cached copy, which SharedCasesTest checks against gdb on
 * the kernel's cores): the same frames, Java stacks and gdb output, and no core file in the cache
 * nor a mount left after them. Where FUSE is not there they convert and say why.
 */
class MountedSharedCasesTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0}")
    @MethodSource(SharedCase.PRESENT)
    void mountedCoresShowWhatTheirCopiesShow(SharedCase c) throws Exception {
        List<Integer> pids = KernelCores.pids(c.dir());
        Path cache = tmp.resolve("cache");
        Path copies = tmp.resolve("copies");
        List<String> stacks = new ArrayList<>(List.of("stacks", c.checkpoint().toString(), "--root",
                c.root().toString(), "--json"));
        for (int p : pids) {
            stacks.addAll(List.of("--pid", Integer.toString(p)));
        }
        var copied = KernelCores.cli(concat(stacks, "--cache-dir", copies.toString(), "--no-mount"));
        if (copied.status() != 0 && copied.err().contains("is not supported")) {
            Assumptions.abort("skipped: convert refuses " + c + " for now (another issue makes it convert): "
                    + copied.err().strip());
        }
        var mounted = KernelCores.cli(concat(stacks, "--cache-dir", cache.toString()));
        assertMountedOrSaidWhyNot(mounted, cache);
        assertEquals(copied.status(), mounted.status(), mounted.err());
        assertEquals(withoutCores(copied.out()), withoutCores(mounted.out()));
        // a gdb that cannot read the architecture fails both the same way (main's loongarch64 with gdb 13)
        assertTrue(copied.status() != 0 || mounted.out().contains("\"frames\""), mounted.out());

        List<String> debug = List.of("debug", c.checkpoint().toString(), "--root", c.root().toString(), "--pid",
                Integer.toString(pids.get(0)), "--debugger-args", "-batch -ex bt");
        var debugCopied = KernelCores.cli(concat(debug, "--cache-dir", copies.toString(), "--no-mount"));
        var debugMounted = KernelCores.cli(concat(debug, "--cache-dir", cache.toString()));
        assertMountedOrSaidWhyNot(debugMounted, cache);
        assertEquals(debugCopied.status(), debugMounted.status(), debugMounted.err());
        assertEquals(frames(debugCopied.out()), frames(debugMounted.out()));
        assertTrue(debugCopied.status() != 0 || !frames(debugMounted.out()).isEmpty(), debugMounted.out());
    }

    /**
     * The jvm case's Java stacks read by this machine's JDK 17 (--jdk; the JVM is of another
     * release of 17) through the mount: jhsdb reads the mounted core like any file.
     */
    @Test
    void theJvmsJavaFramesThroughTheMount() throws Exception {
        Path jvm = Fixtures.sharedCase("checkpoints", "jvm");
        Path jdk = Path.of(System.getProperty("java.home"));
        Assumptions.assumeTrue(Files.isExecutable(jdk.resolve("bin/jhsdb")), "skipped: " + jdk + " has no jhsdb");
        Path root = JavaStacksTest.rootWithLinks(jvm.resolve("root"), tmp.resolve("root"));
        Path cache = tmp.resolve("cache");
        List<String> stacks = List.of("stacks", jvm.resolve("images").toString(), "--root", root.toString(), "--json",
                "--jdk", jdk.toString());
        var mounted = KernelCores.cli(concat(stacks, "--cache-dir", cache.toString()));
        assertEquals(0, mounted.status(), mounted.err());
        assertMountedOrSaidWhyNot(mounted, cache);
        assertTrue(mounted.out().contains("Idle.main(java.lang.String[]) @bci=138, line=26 (Interpreted frame)"),
                mounted.out());
        var copied = KernelCores.cli(concat(stacks, "--cache-dir", tmp.resolve("copies").toString(), "--no-mount"));
        assertEquals(0, copied.status(), copied.err());
        assertEquals(withoutCores(copied.out()), withoutCores(mounted.out()));
    }

    /**
     * Where FUSE works (as on CI), the run mounted its cores and left neither a core file in the
     * cache nor a mount nor its mountpoint; elsewhere it said why not and converted them.
     */
    static void assertMountedOrSaidWhyNot(KernelCores.Run run, Path cache) throws Exception {
        if (FuseMount.unavailable().isPresent()) {
            assertTrue(run.err().contains("not mounted: ") && run.err().contains("converted into"), run.err());
            return;
        }
        assertTrue(run.err().contains("core mounted at " + cache.toAbsolutePath()) && run.err().contains("/.mounts/"),
                run.err());
        assertFalse(run.err().contains("converted into") || run.err().contains("cached core"), run.err());
        try (Stream<Path> files = Files.walk(cache)) {
            assertEquals(List.of(), files.filter(f -> f.getFileName().toString().startsWith("core."))
                    .map(Path::toString).toList(), "no core file in the cache");
        }
        assertEquals(List.of(), mountpoints(cache), "no mountpoint left");
        String prefix = cache.toAbsolutePath().normalize() + "/";
        assertEquals(List.of(), Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .filter(l -> l.split(" ")[4].startsWith(prefix)).toList(), "no mount left");
    }

    /** What is in the folders of mountpoints (.mounts) under {@code cache}, wherever the cache puts them. */
    static List<Path> mountpoints(Path cache) throws Exception {
        List<Path> mounts;
        // not into a mountpoint, which may be a dead mount that cannot be examined
        try (Stream<Path> dirs = Files.walk(cache, 2)) {
            mounts = dirs.filter(d -> d.getFileName().toString().equals(MountedCores.MOUNTS)).toList();
        }
        List<Path> left = new ArrayList<>();
        for (Path m : mounts) {
            try (Stream<Path> s = Files.list(m)) {
                s.sorted().forEach(left::add);
            }
        }
        return left;
    }

    /** stacks --json without the path of each core, which is where it was read. */
    private static JsonNode withoutCores(String json) throws Exception {
        JsonNode tree = new ObjectMapper().readTree(json);
        tree.get("processes").forEach(p -> ((ObjectNode) p).remove("core"));
        return tree;
    }

    /** The frame lines of gdb's output. */
    private static List<String> frames(String gdbOutput) {
        return gdbOutput.lines().filter(l -> l.matches("^#\\d+\\s.*")).toList();
    }

    private static String[] concat(List<String> args, String... more) {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }
}
