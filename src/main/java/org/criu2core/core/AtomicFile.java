package org.criu2core.core;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.criu2core.sys.OpenFile;

/**
 * Writes a file so that readers see either the old file or the complete new one, never a half:
 * the bytes go to a temporary file beside the target, which is renamed over it once complete.
 */
public final class AtomicFile {
    /** What fills the file. */
    @FunctionalInterface
    public interface Content {
        void writeTo(OpenFile file) throws IOException;
    }

    private AtomicFile() {
    }

    public static void write(Path target, Content content) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path temp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".part");
        boolean done = false;
        try {
            // no TRUNCATE_EXISTING on the new, empty file: on ext4 a truncate to 0 makes close()
            // allocate and start writing back the whole file (auto_da_alloc), a second per GiB
            try (OpenFile file = OpenFile.openForWriting(temp, target.toString())) {
                content.writeTo(file);
            }
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            done = true;
        } finally {
            if (!done) {
                Files.deleteIfExists(temp);
            }
        }
    }
}
