package org.criu2core.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Names are looked up while another thread swaps a folder of the root for a link out of it (an
 * absolute and a relative one) and a file for a FIFO, for a bounded time: no lookup reads a byte
 * from outside, none blocks. With openat2 and with the walk of kernels before 5.6.
 */
class RootDirectoryRaceTest {
    private static final Duration SWAPPING = Duration.ofSeconds(2);

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void swapsNeverLeadOutsideNorBlock(boolean openat2) throws Exception {
        Path root = Files.createDirectories(tmp.resolve("root"));
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("file"), "OUTSIDE");
        Files.createDirectories(root.resolve("d"));
        Files.writeString(root.resolve("d/file"), "inside");
        Files.writeString(root.resolve("f"), "inside");
        assertEquals(0, new ProcessBuilder("mkfifo", root.resolve("fifo").toString()).start().waitFor());
        var stop = new AtomicBoolean();
        var failure = new AtomicReference<Throwable>();
        var swapper = new Thread(() -> {
            try {
                for (int i = 0; !stop.get(); i++) {
                    Files.move(root.resolve("d"), root.resolve("d.real"));
                    Files.createSymbolicLink(root.resolve("d"), i % 2 == 0 ? outside : Path.of("../outside"));
                    Files.delete(root.resolve("d"));
                    Files.move(root.resolve("d.real"), root.resolve("d"));
                    Files.move(root.resolve("f"), root.resolve("f.real"));
                    Files.move(root.resolve("fifo"), root.resolve("f"), StandardCopyOption.ATOMIC_MOVE);
                    Files.move(root.resolve("f"), root.resolve("fifo"), StandardCopyOption.ATOMIC_MOVE);
                    Files.move(root.resolve("f.real"), root.resolve("f"), StandardCopyOption.ATOMIC_MOVE);
                }
            } catch (IOException | RuntimeException e) {
                failure.set(e);
            }
        }, "swapper");
        int[] seen = new int[3]; // inside, none, and (never) outside
        try (var dir = RootDirectory.open(root)) {
            var lookups = openat2 ? dir : dir.withoutOpenat2();
            swapper.start();
            assertTimeoutPreemptively(SWAPPING.plusSeconds(30), () -> {
                long end = System.nanoTime() + SWAPPING.toNanos();
                while (System.nanoTime() < end) {
                    for (String name : new String[] {"/d/file", "/f", "d/../d/file"}) {
                        String read = read(lookups.open(name, name));
                        seen[read == null ? 1 : read.equals("inside") ? 0 : 2]++;
                        assertTrue(read == null || read.equals("inside"), name + " read " + read);
                    }
                }
            });
        } finally {
            stop.set(true);
            swapper.join();
        }
        assertEquals(null, failure.get());
        assertEquals(0, seen[2]);
        assertTrue(seen[0] > 0 && seen[1] > 0, "the swaps raced the lookups: " + seen[0] + " found, " + seen[1]
                + " not found");
    }

    private static String read(Optional<OpenFile> file) throws IOException {
        if (file.isEmpty()) {
            return null;
        }
        try (var f = file.get()) {
            var b = ByteBuffer.allocate(64);
            f.channel().read(b, 0);
            return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
        }
    }
}
