package org.criu2core.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** Names are looked up as under chroot, with openat2 and with the walk kernels before 5.6 get. */
class RootDirectoryTest {
    @TempDir
    Path tmp;

    private RootDirectory root(boolean openat2) throws IOException {
        Path root = Files.createDirectories(tmp.resolve("root"));
        Files.writeString(tmp.resolve("secret"), "outside the root");
        Files.createDirectories(root.resolve("usr/lib"));
        Files.writeString(root.resolve("usr/lib/libc.so.6"), "inside the root");
        Files.createSymbolicLink(root.resolve("lib"), Path.of("usr/lib"));
        Files.createSymbolicLink(root.resolve("abs"), Path.of("/usr/lib/libc.so.6"));
        Files.createSymbolicLink(root.resolve("up"), Path.of("../secret"));
        Files.createSymbolicLink(root.resolve("out"), tmp.resolve("secret"));
        Files.createSymbolicLink(root.resolve("loop"), Path.of("loop"));
        Files.createSymbolicLink(root.resolve("proc-self"), Path.of("/proc/self/root/" + tmp.resolve("secret")));
        var dir = RootDirectory.open(root);
        return openat2 ? dir : dir.withoutOpenat2();
    }

    private static String read(Optional<OpenFile> file) throws IOException {
        assertTrue(file.isPresent());
        try (var f = file.get()) {
            var b = ByteBuffer.allocate(100);
            f.channel().read(b, 0);
            return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void findsFilesThroughLinksInsideTheRoot(boolean openat2) throws IOException {
        try (var root = root(openat2)) {
            for (String name : List.of("/usr/lib/libc.so.6", "/lib/libc.so.6", "/abs", "usr/lib/../lib/libc.so.6",
                    "/../../usr/lib/libc.so.6", "//usr///lib/./libc.so.6")) {
                assertEquals("inside the root", read(root.open(name, name)), name);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void neverLeavesTheRoot(boolean openat2) throws IOException {
        try (var root = root(openat2)) {
            for (String name : List.of("/../secret", "/up", "/out", "/loop", "/proc-self", "/usr", "/", "",
                    "/usr/lib/libc.so.6/x", "/" + "a/".repeat(3000))) {
                assertEquals(Optional.empty(), root.open(name, name), name);
            }
        }
    }

    /**
     * 40 links of 800 "x/.." pairs each: openat2 resolves it (the kernel's own bounds, about 1 ms
     * a lookup); the walk gives up after 1024 components. Both within a generous bound.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aCraftedChainCostsABoundedTime(boolean openat2) throws Exception {
        try (var root = root(openat2)) {
            org.criu2core.hostile.SymlinkChainTestAccess.chain(root.path());
            long start = System.nanoTime();
            for (int i = 0; i < 100; i++) {
                var file = root.open("/" + "./".repeat(i) + "l0", "l0");
                assertEquals(openat2, file.isPresent());
                file.ifPresent(f -> {
                    try {
                        f.close();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
            }
            long perLookup = (System.nanoTime() - start) / 100;
            assertTrue(perLookup < 100_000_000L, perLookup + " ns a lookup");
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aFifoIsNoFileAndDoesNotBlock(boolean openat2) throws Exception {
        try (var root = root(openat2)) {
            assertEquals(0, new ProcessBuilder("mkfifo", root.path().resolve("fifo").toString()).start().waitFor());
            assertTimeoutPreemptively(Duration.ofSeconds(10),
                    () -> assertEquals(Optional.empty(), root.open("/fifo", "fifo")));
        }
    }
}
