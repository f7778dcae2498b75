package org.criu2core.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.criu2core.cli.Main;
import org.criu2core.sys.FuseMount;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real criu2core process running `debug` on a mounted core (gdb waits in `shell sleep`), stopped
 * by SIGTERM: it unmounts and removes its mountpoint; killed with SIGKILL: it leaves at most its
 * own mountpoint, unmounted by fusermount3 or dead, and the next run removes it.
 */
class MountedDebugSignalsTest {
    private static final int SIGTERM = 15;

    @TempDir
    Path tmp;
    private Path images;
    private Path root;
    private Path cache;

    @BeforeEach
    void setUp() {
        // CI has /dev/fuse and the fuse3 package (.ci/run); a machine without them never mounts
        Assumptions.assumeTrue(FuseMount.unavailable().isEmpty(),
                () -> "skipped: FUSE is not available here: " + FuseMount.unavailable().orElse(""));
        Path shared = Fixtures.sharedCase("checkpoints", "threads");
        images = shared.resolve("images");
        root = shared.resolve("root");
        cache = tmp.resolve("cache");
    }

    /** criu2core debug in a JVM of its own, its gdb sleeping with the core loaded. */
    private Process debugThatWaits() throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "debug", images.toString(), "--root", root.toString(), "--cache-dir", cache.toString(),
                "--debugger-args", "-batch -ex 'shell sleep 120'"));
        return new ProcessBuilder(command).redirectOutput(tmp.resolve("out").toFile())
                .redirectError(tmp.resolve("err").toFile()).redirectInput(ProcessBuilder.Redirect.PIPE).start();
    }

    /** The core in the run's mountpoint, once it is there. */
    private Path mountedCore(Process run) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            assertTrue(run.isAlive(), () -> "criu2core ended: " + read("err"));
            Optional<Path> core = mountpoints().stream().map(m -> m.resolve("core.8229")).filter(Files::isRegularFile)
                    .findFirst();
            // gdb has read the core once it runs its command
            if (core.isPresent() && run.descendants().anyMatch(p -> p.info().command().orElse("").endsWith("sleep"))) {
                return core.get();
            }
            Thread.sleep(50);
        }
        fail("no mounted core after 60 s: " + read("err"));
        return null;
    }

    private List<Path> mountpoints() throws Exception {
        return Files.isDirectory(cache) ? MountedSharedCasesTest.mountpoints(cache) : List.of();
    }

    private List<String> mountsUnderCache() throws IOException {
        String prefix = cache.toAbsolutePath().normalize() + "/";
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .filter(l -> l.split(" ")[4].startsWith(prefix)).toList();
    }

    private String read(String name) {
        try {
            return Files.readString(tmp.resolve(name), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** Kills what the run started (gdb, its sleep), which a killed run leaves behind. */
    private static void killDescendants(List<ProcessHandle> descendants) {
        descendants.forEach(ProcessHandle::destroyForcibly);
    }

    @Test
    void sigtermUnmountsAndRemovesTheMountpoint() throws Exception {
        Process run = debugThatWaits();
        List<ProcessHandle> descendants = List.of();
        try {
            Path core = mountedCore(run);
            assertEquals(1, mountsUnderCache().size(), mountsUnderCache().toString());
            assertEquals(18354176, Files.size(core));
            descendants = run.descendants().toList();
            run.destroy(); // SIGTERM
            assertTrue(run.waitFor(30, TimeUnit.SECONDS), "criu2core still runs after SIGTERM");
            assertEquals(128 + SIGTERM, run.exitValue(), read("err"));
        } finally {
            run.destroyForcibly();
            killDescendants(descendants);
        }
        assertEquals(List.of(), mountsUnderCache(), read("err"));
        assertEquals(List.of(), mountpoints(), read("err"));
        try (Stream<Path> files = Files.walk(cache)) {
            assertFalse(files.anyMatch(f -> f.getFileName().toString().startsWith("core.")), "no core in the cache");
        }
    }

    @Test
    void aRunKilledWithSigkillLeavesOnlyItsMountpointWhichTheNextRunRemoves() throws Exception {
        Process run = debugThatWaits();
        List<ProcessHandle> descendants = List.of();
        try {
            mountedCore(run);
            descendants = run.descendants().toList();
            run.destroyForcibly(); // SIGKILL: no hook runs
            assertTrue(run.waitFor(30, TimeUnit.SECONDS));
        } finally {
            killDescendants(descendants);
        }
        List<Path> left = mountpoints();
        assertEquals(1, left.size(), left.toString());
        assertTrue(left.get(0).getFileName().toString().startsWith(run.pid() + "-"), left.toString());
        // fusermount3 (auto_unmount) unmounts it when the process is gone; until then it is dead
        for (String mount : mountsUnderCache()) {
            assertTrue(mount.split(" ")[4].endsWith(left.get(0).getFileName().toString()), mount);
        }

        var next = KernelCores.cli("stacks", images.toString(), "--root", root.toString(), "--cache-dir",
                cache.toString());
        assertEquals(0, next.status(), next.err());
        assertTrue(next.out().contains("in spin_forever"), next.out());
        assertEquals(List.of(), mountpoints(), "the dead run's mountpoint is removed");
        assertEquals(List.of(), mountsUnderCache());
    }
}
