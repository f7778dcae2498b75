package org.criu2core.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.criu2core.image.Image;
import org.criu2core.image.ImageEntry;
import org.criu2core.image.ImageReader;
import org.criu2core.image.ImageWriter;
import org.criu2core.image.proto.Pstree.pstree_entry;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM and SIGINT sent to a real criu2core process while it unpacks an archive or writes
 * cores: it stops, removes the unpacked checkpoint and the core it was writing, and exits with
 * 128 + the signal's number; a second signal exits at once. The archive holds 200 copies of the
 * real compat32 process, written one at a time, so that there is time to send the signal.
 */
class SignalsTest {
    private static final int PROCESSES = 200;
    private static final int SIGINT = 2;
    private static final int SIGTERM = 15;

    @TempDir
    Path tmp;
    private Path archive;
    private Path out;
    private Path unpack;
    private long coreSize;

    @BeforeEach
    void setUp() throws Exception {
        Path real = Fixtures.checkpoint("compat32").resolve("images");
        Path images = CaseImages.copy(real, tmp.resolve("images"), 7090).dir();
        List<ImageEntry> tree = new ArrayList<>();
        var first = (pstree_entry) ImageReader.read(images.resolve("pstree.img")).entries().get(0).message();
        for (int i = 0; i < PROCESSES; i++) {
            int pid = 20_000 + i;
            tree.add(new ImageEntry(first.toBuilder().setPid(pid).setPgid(pid).setSid(pid).clearThreads()
                    .addThreads(pid).build()));
            for (String image : List.of("core", "mm", "pagemap")) {
                Files.copy(real.resolve(image + "-7090.img"), images.resolve(image + "-" + pid + ".img"));
            }
        }
        Files.write(images.resolve("pstree.img"), ImageWriter.toBytes(new Image("PSTREE", tree)));
        archive = Files.write(tmp.resolve("many.tar"), new Tars.Tar().images(images).end().bytes());
        out = tmp.resolve("out");
        unpack = Files.createDirectories(tmp.resolve("unpack"));
        var one = KernelCores.cli("convert", "-q", "-D", real.toString(), "-o", tmp.resolve("one").toString());
        assertEquals(0, one.status(), one.err());
        coreSize = Files.size(tmp.resolve("one/core.7090"));
    }

    /**
     * A signal ignored when a process starts stays ignored (what nohup and background jobs rely
     * on), and this JVM may have been started so: the child starts with both signals at their
     * defaults, where env can do that (coreutils 8.31).
     */
    private static List<String> defaultSignals() throws Exception {
        var probe = new ProcessBuilder("env", "--default-signal=INT,TERM", "true").start();
        if (probe.waitFor() == 0) {
            return List.of("env", "--default-signal=INT,TERM");
        }
        String status = Files.readString(Path.of("/proc/self/status"));
        long ignored = Long.parseLong(status.replaceAll("(?s).*\nSigIgn:\s*([0-9a-f]+).*", "$1"), 16);
        org.junit.jupiter.api.Assumptions.assumeTrue((ignored & (1 << (SIGINT - 1) | 1 << (SIGTERM - 1))) == 0,
                "skipped: this JVM ignores SIGINT or SIGTERM, and env cannot give the child their defaults");
        return List.of();
    }

    private Process start() throws Exception {
        List<String> command = new ArrayList<>(defaultSignals());
        command.addAll(Subprocess.java(128));
        command.addAll(List.of("convert", "-D", archive.toString(), "-o", out.toString(), "--tmp-dir",
                unpack.toString(), "-j", "1", "-q"));
        return new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("output.txt").toFile()).start();
    }

    private static void await(BooleanSupplier condition, Process process, String what) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (!process.isAlive() || System.nanoTime() > end) {
                process.destroyForcibly();
                fail("never saw " + what);
            }
            Thread.sleep(1);
        }
    }

    private static void signal(Process process, int signal) throws Exception {
        assertEquals(0, new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start().waitFor());
    }

    private static int exit(Process process) throws Exception {
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("still running 30 s after the signal");
        }
        return process.exitValue();
    }

    private List<String> cores() {
        try {
            return Subprocess.tree(out);
        } catch (IOException e) {
            return List.of();
        }
    }

    /** Every file left in the output is a complete core.PID, and they are fewer than the processes. */
    private void onlyCompleteCores() throws IOException {
        List<String> left = Subprocess.tree(out);
        for (String name : left) {
            assertTrue(name.matches("core\\.\\d+"), "left behind: " + name);
            assertEquals(coreSize, Files.size(out.resolve(name)), name);
        }
        assertTrue(left.size() < PROCESSES, "stopped before the end: " + left.size() + " cores");
    }

    @Test
    void sigtermWhileCoresAreWritten() throws Exception {
        Process process = start();
        await(() -> !cores().isEmpty(), process, "a core being written");
        signal(process, SIGTERM);
        assertEquals(128 + SIGTERM, exit(process), Files.readString(tmp.resolve("output.txt")));
        assertTrue(Files.readString(tmp.resolve("output.txt")).contains("criu2core: SIGTERM: stopping, removing "
                + "unfinished cores and unpacked checkpoints (a second signal exits at once, leaving them)"));
        onlyCompleteCores();
        assertEquals(List.of(), Subprocess.tree(unpack), "the unpacked checkpoint is removed");
    }

    @Test
    void sigintWhileTheArchiveIsUnpacked() throws Exception {
        Process process = start();
        await(() -> {
            try {
                return !Subprocess.tree(unpack).isEmpty();
            } catch (IOException e) {
                return false;
            }
        }, process, "the archive being unpacked");
        signal(process, SIGINT);
        assertEquals(128 + SIGINT, exit(process), Files.readString(tmp.resolve("output.txt")));
        assertEquals(List.of(), Subprocess.tree(unpack), "the unpacked checkpoint is removed");
        onlyCompleteCores();
    }

    @Test
    void aSecondSignalExitsAtOnce() throws Exception {
        Process process = start();
        await(() -> !cores().isEmpty(), process, "a core being written");
        signal(process, SIGTERM);
        signal(process, SIGTERM);
        assertEquals(128 + SIGTERM, exit(process), Files.readString(tmp.resolve("output.txt")));
        // at once: what was not finished may be left, and is no core under its final name
        for (String name : Subprocess.tree(out)) {
            assertTrue(name.matches("core\\.\\d+") ? Files.size(out.resolve(name)) == coreSize
                    : name.matches("\\.core\\.\\d+\\.\\d+\\.part"), name);
        }
    }
}
