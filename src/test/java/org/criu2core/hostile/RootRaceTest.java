package org.criu2core.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.criu2core.Bytes;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real threads case converted again and again while a thread swaps, for a bounded time, the
 * root's srv/criu2core (whose fixture-data.bin is dumped whole: a private mapping with a
 * copy-on-write page) for links to a host folder with a fixture-data.bin full of a marker, and
 * libc for a FIFO: no core holds a byte of the host file, no conversion hangs.
 */
class RootRaceTest {
    private static final Duration SWAPPING = Duration.ofSeconds(3);
    private static final long HOLD = 2_000_000;
    private static final byte[] MARKER = "HOST-FILE-SWAPPED-IN".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path tmp;

    @Test
    void swappingFoldersForLinksAndFilesForFifosNeverReadsOutside() throws Exception {
        Path root = tmp.resolve("root");
        Fixtures.copyTree(Fixtures.checkpoint("threads").resolve("root"), root);
        Path data = root.resolve("srv/criu2core/fixture-data.bin");
        Path outside = Files.createDirectories(tmp.resolve("host/criu2core"));
        byte[] marker = new byte[(int) Files.size(data)];
        for (int i = 0; i < marker.length; i++) {
            marker[i] = MARKER[i % MARKER.length];
        }
        Files.write(outside.resolve("fixture-data.bin"), marker);
        Path folder = root.resolve("srv/criu2core");
        Path libc = root.resolve("usr/lib/x86_64-linux-gnu/libc.so.6");
        Path fifo = tmp.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        var stop = new AtomicBoolean();
        var failure = new AtomicReference<Throwable>();
        var swapper = new Thread(() -> {
            try {
                for (int i = 0; !stop.get(); i++) {
                    Files.move(folder, folder.resolveSibling("criu2core.real"));
                    Files.createSymbolicLink(folder, i % 2 == 0 ? outside : Path.of("../../host/criu2core"));
                    // each state held half the time: a conversion's one lookup meets the link at even odds
                    LockSupport.parkNanos(HOLD);
                    Files.delete(folder);
                    Files.move(folder.resolveSibling("criu2core.real"), folder);
                    Files.move(libc, libc.resolveSibling("libc.real"));
                    Files.move(fifo, libc);
                    LockSupport.parkNanos(HOLD);
                    Files.move(libc, fifo);
                    Files.move(libc.resolveSibling("libc.real"), libc, StandardCopyOption.ATOMIC_MOVE);
                    LockSupport.parkNanos(HOLD);
                }
            } catch (IOException | RuntimeException e) {
                failure.set(e);
            }
        }, "swapper");
        Path images = Fixtures.checkpoint("threads").resolve("images");
        int conversions = 0;
        swapper.start();
        try {
            long end = System.nanoTime() + SWAPPING.toNanos();
            while (System.nanoTime() < end) {
                Path out = tmp.resolve("out" + conversions);
                var run = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> KernelCores.cli("convert", "-q",
                        "-D", images.toString(), "-o", out.toString(), "--root", root.toString(), "-j", "1"));
                assertEquals(0, run.status(), run.err());
                assertEquals(List.of("core.8229"), Subprocess.tree(out));
                assertTrue(Bytes.indexOf(Files.readAllBytes(out.resolve("core.8229")), MARKER) < 0,
                        "conversion " + conversions + " read the host file");
                org.criu2core.sys.Cleanup.deleteTree(out);
                conversions++;
            }
        } finally {
            stop.set(true);
            swapper.join();
        }
        assertEquals(null, failure.get());
        assertTrue(conversions >= 1, conversions + " conversions");
    }
}
