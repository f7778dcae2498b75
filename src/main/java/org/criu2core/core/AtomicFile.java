package org.criu2core.core;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ThreadLocalRandom;
import org.criu2core.image.CheckpointException;
import org.criu2core.sys.Cleanup;
import org.criu2core.sys.FileException;
import org.criu2core.sys.OpenFile;

/**
 * Writes a file so that readers see either the old file or the complete new one, never a half:
 * the bytes go to a temporary file beside the target, which is renamed over it once complete.
 * The temporary file is removed when writing fails, and when the JVM is stopped ({@link Cleanup}).
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
        // named, and registered for removal, before it exists: a signal at any moment finds it
        Path temp = dir.resolve("." + target.getFileName() + "."
                + Long.toUnsignedString(ThreadLocalRandom.current().nextLong()) + ".part");
        boolean done = false;
        try (var removal = Cleanup.removeOnShutdown(temp)) {
            if (Cleanup.shuttingDown()) {
                throw new InterruptedIOException("stopped before " + target + " was written");
            }
            try {
                // readable by its owner only, as the kernel writes cores: a core holds the process's secrets
                Files.createFile(temp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (FileSystemException e) {
                throw new FileException(target.toString(), "cannot be written: " + reason(e), e);
            }
            // no TRUNCATE_EXISTING on the new, empty file: on ext4 a truncate to 0 makes close()
            // allocate and start writing back the whole file (auto_da_alloc), a second per GiB
            try (OpenFile file = OpenFile.openForWriting(temp, target.toString())) {
                content.writeTo(file);
            } catch (CheckpointException | FileException | InterruptedIOException | ClosedByInterruptException e) {
                throw e;
            } catch (IOException e) {
                // the core's own channel: "No space left on device" alone would not say which file
                throw new FileException(target.toString(), "cannot be written: " + reason(e), e);
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

    private static String reason(IOException e) {
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
