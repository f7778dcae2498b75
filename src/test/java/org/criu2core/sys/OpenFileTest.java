package org.criu2core.sys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OpenFileTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void nativeCallsWork() {
        // CI and every supported host run Linux on an architecture JNA has a stub for
        assertEquals(java.util.Optional.empty(), Linux.unavailable());
    }

    @Test
    void refusesALinkToAFile() throws IOException {
        Path target = Files.writeString(tmp.resolve("host-file"), "not the checkpoint's");
        Path link = Files.createSymbolicLink(tmp.resolve("pages-1.img"), target);
        var e = assertThrows(FileException.class, () -> OpenFile.openRegular(link, "pages-1.img"));
        assertEquals("pages-1.img: is a symbolic link, not a file", e.getMessage());
    }

    @Test
    void refusesAFifoWithoutBlocking() throws Exception {
        Path fifo = tmp.resolve("pages-2.img");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        var e = assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(FileException.class, () -> OpenFile.openRegular(fifo, "pages-2.img")));
        assertEquals("pages-2.img: is not a regular file", e.getMessage());
    }

    @Test
    void refusesADirectory() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("d"));
        assertThrows(FileException.class, () -> OpenFile.openRegular(dir, "d"));
    }

    @Test
    void findsHolesAndData() throws IOException {
        Path sparse = tmp.resolve("sparse");
        try (var f = new RandomAccessFile(sparse.toFile(), "rw")) {
            f.setLength(1 << 20);
            f.seek(256 << 10);
            f.write(new byte[64 << 10], 0, 64 << 10);
            f.seek(256 << 10);
            f.write(1);
        }
        try (var file = OpenFile.openRegular(sparse, "sparse")) {
            assumeTrue(file.mayHaveHoles(), "the temporary folder's filesystem keeps no holes");
            assertEquals(256 << 10, file.dataFrom(0));
            assertEquals(0, file.holeFrom(0));
            long dataEnd = file.holeFrom(256 << 10);
            assertTrue(dataEnd >= 320 << 10 && dataEnd < 1 << 20, "data ends at " + dataEnd);
            assertEquals(1 << 20, file.dataFrom(dataEnd), "nothing but a hole to the end");
            assertEquals(1 << 20, file.holeFrom(1 << 20));
        }
    }

    @Test
    void aDenseFileIsAllData() throws IOException {
        Path dense = Files.write(tmp.resolve("dense"), new byte[40960]);
        try (var file = OpenFile.openRegular(dense, "dense")) {
            assertFalse(file.mayHaveHoles());
            assertEquals(4096, file.dataFrom(4096));
            assertEquals(40960, file.holeFrom(0));
        }
    }

    @Test
    void copiesInTheKernel() throws IOException {
        assertCopies(tmp.resolve("out"));
    }

    /** /dev/shm is tmpfs, another filesystem: copy_file_range refuses (EXDEV) and sendfile copies. */
    @Test
    void copiesAcrossFilesystems() throws IOException {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "no /dev/shm to copy to");
        Path out = Files.createTempFile(shm, "criu2core-test", ".out");
        try {
            assertCopies(out);
        } finally {
            Files.delete(out);
        }
    }

    private void assertCopies(Path out) throws IOException {
        byte[] bytes = new byte[3 * 4096 + 100];
        new Random(7).nextBytes(bytes);
        Path in = Files.write(tmp.resolve("in"), bytes);
        Files.write(out, new byte[0]);
        try (var from = OpenFile.openRegular(in, "in"); var to = OpenFile.openForWriting(out, "out")) {
            from.copyTo(4096, 4096, to, 8192);
            from.copyTo(0, 10, to, 0);
            from.copyTo(8192, 4096 + 100, to, 16384);
        }
        byte[] written = Files.readAllBytes(out);
        assertEquals(16384 + 4096 + 100, written.length);
        assertArrayEquals(java.util.Arrays.copyOfRange(bytes, 4096, 8192),
                java.util.Arrays.copyOfRange(written, 8192, 12288));
        assertArrayEquals(java.util.Arrays.copyOfRange(bytes, 0, 10), java.util.Arrays.copyOfRange(written, 0, 10));
        assertArrayEquals(java.util.Arrays.copyOfRange(bytes, 8192, bytes.length),
                java.util.Arrays.copyOfRange(written, 16384, written.length));
        assertArrayEquals(new byte[8192 - 10], java.util.Arrays.copyOfRange(written, 10, 8192));
    }

    @Test
    void aShortSourceIsAnErrorNamingIt() throws IOException {
        Path in = Files.write(tmp.resolve("short"), new byte[100]);
        Path out = Files.write(tmp.resolve("o"), new byte[0]);
        try (var from = OpenFile.openRegular(in, "short"); var to = OpenFile.openForWriting(out, "o")) {
            var e = assertThrows(FileException.class, () -> from.copyTo(0, 200, to, 0));
            assertEquals("short: ended early: 100 bytes short at offset 100", e.getMessage());
        }
    }
}
