package org.criu2core.cli;

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
import java.util.concurrent.TimeUnit;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.criu2core.sys.FuseMount;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `criu2core mount` as users run it, in a JVM of its own with the launcher's 64 MiB heap: it
 * serves the 70 000-segment manyvmas core whole, byte for byte convert's, stays until unmounted
 * from outside or interrupted, unmounts then, and says in one line why a mount cannot be made.
 */
class MountCommandTest {
    private static final int SIGINT = 2;

    @TempDir
    Path tmp;

    private static void assumeFuse() {
        // CI has /dev/fuse and the fuse3 package (.ci/run); a machine without them cannot mount at all
        Assumptions.assumeTrue(FuseMount.unavailable().isEmpty(),
                () -> "skipped: FUSE is not available here: " + FuseMount.unavailable().orElse(""));
    }

    private Process mount(List<String> jvmOptions, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "-XX:+UseSerialGC"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "mount"));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectOutput(tmp.resolve("out").toFile())
                .redirectError(tmp.resolve("err").toFile()).start();
    }

    private String err() throws IOException {
        return Files.readString(tmp.resolve("err"), StandardCharsets.UTF_8);
    }

    private void awaitFile(Process run, Path file) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.isRegularFile(file)) {
            if (!run.isAlive()) {
                fail("mount ended with " + run.exitValue() + ": " + err());
            }
            if (System.nanoTime() > deadline) {
                fail("no " + file + " after 60 s: " + err());
            }
            Thread.sleep(50);
        }
    }

    private static boolean mounted(Path dir) throws IOException {
        String path = dir.toAbsolutePath().normalize().toString();
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().anyMatch(l -> l.split(" ")[4].equals(path));
    }

    @Test
    void manyvmasIsServedWholeInTheLaunchersHeapUntilUnmountedFromOutside() throws Exception {
        assumeFuse();
        Path shared = Fixtures.sharedCase("checkpoints", "manyvmas");
        var convert = KernelCores.cli("convert", "-q", "-D", shared.resolve("images").toString(), "-o",
                tmp.resolve("out-convert").toString(), "--root", shared.resolve("root").toString());
        assertEquals(0, convert.status(), convert.err());
        Path dir = Files.createDirectory(tmp.resolve("mnt"));
        Process run = mount(List.of(), shared.resolve("images").toString(), dir.toString(), "--root",
                shared.resolve("root").toString());
        try {
            awaitFile(run, dir.resolve("core.1091"));
            assertEquals(-1, Files.mismatch(tmp.resolve("out-convert/core.1091"), dir.resolve("core.1091")));
            var unmount = new ProcessBuilder("fusermount3", "-u", dir.toString()).redirectErrorStream(true).start();
            assertEquals(0, unmount.waitFor(), new String(unmount.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            assertTrue(run.waitFor(30, TimeUnit.SECONDS), "mount still runs after fusermount3 -u");
            assertEquals(0, run.exitValue(), err());
        } finally {
            run.destroyForcibly();
        }
        String err = err();
        assertTrue(err.contains(dir.resolve("core.1091") + ": x86_64, 1 thread, 70"), err);
        assertTrue(err.contains("1 core mounted read-only at " + dir.toAbsolutePath()
                + "; unmount with fusermount3 -u " + dir.toAbsolutePath() + " or Ctrl-C"), err);
        assertTrue(err.strip().endsWith("unmounted " + dir), err);
        assertFalse(err.contains("out of memory") || err.contains("criu2core: "), err);
        assertFalse(mounted(dir));
    }

    @Test
    void sigintUnmounts() throws Exception {
        assumeFuse();
        Path shared = Fixtures.sharedCase("checkpoints", "tree");
        Path dir = Files.createDirectory(tmp.resolve("mnt"));
        Process run = mount(List.of(), shared.resolve("images").toString(), dir.toString(), "--root",
                shared.resolve("root").toString());
        try {
            awaitFile(run, dir.resolve("core.8716"));
            assertTrue(mounted(dir));
            assertEquals(0, new ProcessBuilder("kill", "-INT", Long.toString(run.pid())).start().waitFor());
            assertTrue(run.waitFor(30, TimeUnit.SECONDS), "mount still runs after SIGINT");
            assertEquals(128 + SIGINT, run.exitValue(), err());
        } finally {
            run.destroyForcibly();
        }
        assertFalse(mounted(dir), err());
        try (var left = Files.list(dir)) {
            assertEquals(0, left.count());
        }
        String err = err();
        assertTrue(err.contains("process 8717 (tree): dead, no memory image; no core"), err);
        assertTrue(err.contains("2 cores mounted read-only at"), err);
    }

    @Test
    void aMountThatCannotBeMadeIsOneLine() throws Exception {
        Path images = Fixtures.checkpoint("threads").resolve("images");
        Path file = Files.writeString(tmp.resolve("file"), "");
        // without the native calls there is no FUSE: what it says is the first reason found
        Process off = mount(List.of("-Dcriu2core.native=false"), images.toString(), tmp.toString());
        assertTrue(off.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, off.exitValue());
        assertEquals(List.of("criu2core: " + tmp + ": cannot be mounted on: the native calls are unavailable (turned "
                + "off by -Dcriu2core.native=false)"), err().lines().filter(l -> !l.startsWith("warning:")).toList());
        assumeFuse();
        Process notDir = mount(List.of(), images.toString(), file.toString(), "-q");
        assertTrue(notDir.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, notDir.exitValue());
        assertEquals("criu2core: " + file + ": cannot be mounted on: it is not a directory\n", err());
    }
}
