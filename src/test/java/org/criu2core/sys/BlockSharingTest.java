package org.criu2core.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** FIEMAP on ordinary files; clones are checked on XFS and btrfs by core.ClonedCoresTest. */
class BlockSharingTest {
    @TempDir
    Path tmp;

    @Test
    void dataOfItsOwnAndHoles() throws IOException {
        Path sparse = tmp.resolve("sparse");
        try (var f = new RandomAccessFile(sparse.toFile(), "rw")) {
            f.setLength(1 << 20);
            f.seek(256 << 10);
            f.write(new byte[64 << 10]);
            f.seek((512 << 10) + 1);
            f.write(1);
        }
        var sharing = BlockSharing.of(sparse);
        assumeTrue(sharing.isPresent(), "the temporary folder's filesystem has no FIEMAP");
        try (var file = OpenFile.openRegular(sparse, "sparse")) {
            assumeTrue(file.mayHaveHoles(), "the temporary folder's filesystem keeps no holes");
        }
        // 64 KiB at 256 KiB and the block of the byte at 512 KiB + 1, whatever the block size up to 64 KiB
        long own = sharing.get().own();
        assertEquals(0, sharing.get().shared());
        assertEquals(true, own > 64 << 10 && own <= 128 << 10, "own bytes: " + own);
    }

    @Test
    void anEmptyFileHasNoBlocks() throws IOException {
        Path empty = Files.createFile(tmp.resolve("empty"));
        BlockSharing.of(empty).ifPresent(s -> assertEquals(new BlockSharing(0, 0), s));
    }

    @Test
    void aFilesystemWithoutFiemapSaysNothing() throws IOException {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "no /dev/shm (tmpfs)");
        Path file = Files.createTempFile(shm, "criu2core-test", ".core");
        try {
            Files.write(file, new byte[8192]);
            assertEquals(java.util.Optional.empty(), BlockSharing.of(file));
        } finally {
            Files.delete(file);
        }
    }
}
