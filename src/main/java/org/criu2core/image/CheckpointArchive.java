package org.criu2core.image;

import io.airlift.compress.zstd.ZstdInputStream;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * A checkpoint to read: a directory of CRIU images as it is, or a container checkpoint archive
 * (what `podman container checkpoint --export` and Kubernetes' checkpoint API write: a tar,
 * plain, gzip or zstd, with the CRIU images under checkpoint/), unpacked into a temporary
 * directory that is removed on {@link #close}.
 *
 * <p>The compression is read from the first bytes, never from the name (podman writes zstd
 * into files named .tar.gz). Only regular files under checkpoint/ are unpacked; a name that
 * would leave the directory, or more bytes or files than the limits allow, is an error naming
 * the archive entry.
 */
public final class CheckpointArchive implements AutoCloseable {
    /** Where CRIU images are in a container checkpoint archive. */
    public static final String IMAGES_DIR = "checkpoint";
    public static final long DEFAULT_MAX_BYTES = 64L << 30;
    public static final int MAX_FILES = 100_000;

    private static final byte[] GZIP = {0x1f, (byte) 0x8b};
    private static final byte[] ZSTD = {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd};
    private static final int TAR_MAGIC_OFFSET = 257;

    private final Path images;
    private final Path temporary;

    private CheckpointArchive(Path images, Path temporary) {
        this.images = images;
        this.temporary = temporary;
    }

    /** A directory as it is, or an archive unpacked under the system's temporary directory. */
    public static CheckpointArchive open(Path checkpoint) throws IOException {
        return open(checkpoint, Path.of(System.getProperty("java.io.tmpdir")), DEFAULT_MAX_BYTES);
    }

    public static CheckpointArchive open(Path checkpoint, Path tempParent, long maxBytes) throws IOException {
        if (Files.isDirectory(checkpoint)) {
            return new CheckpointArchive(checkpoint, null);
        }
        if (!Files.isRegularFile(checkpoint)) {
            throw new CheckpointException(checkpoint.toString(), "no such directory or archive");
        }
        Path temp = Files.createTempDirectory(tempParent, "criu2core-");
        var archive = new CheckpointArchive(temp.resolve(IMAGES_DIR), temp);
        Thread cleanup = new Thread(archive::deleteQuietly, "criu2core-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            unpack(checkpoint, temp, maxBytes);
            if (!Files.isDirectory(archive.images)) {
                throw new CheckpointException(checkpoint.toString(), "no " + IMAGES_DIR
                        + "/ directory of CRIU images in the archive");
            }
            return archive;
        } catch (IOException | RuntimeException e) {
            archive.close();
            throw e;
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway
            }
        }
    }

    /** The directory of CRIU images. */
    public Path images() {
        return images;
    }

    private static void unpack(Path archive, Path into, long maxBytes) throws IOException {
        String name = archive.toString();
        long total = 0;
        int files = 0;
        try (InputStream in = decompressed(archive); var tar = new TarArchiveInputStream(in)) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                String path = entry.getName();
                Path target = into.resolve(path).normalize();
                if (path.startsWith("/") || !target.startsWith(into)) {
                    throw new CheckpointException(name, "archive entry \"" + path + "\" leads outside the archive");
                }
                if (!target.startsWith(into.resolve(IMAGES_DIR)) || !entry.isFile()) {
                    continue; // podman's own files, links and devices are not needed for a core
                }
                if (++files > MAX_FILES) {
                    throw new CheckpointException(name, "more than " + MAX_FILES + " files in " + IMAGES_DIR + "/");
                }
                total += entry.getSize();
                if (entry.getSize() < 0 || total > maxBytes) {
                    throw new CheckpointException(name, "archive entry \"" + path + "\": unpacking it would pass "
                            + maxBytes + " bytes");
                }
                Files.createDirectories(target.getParent());
                long copied = Files.copy(tar, target);
                if (copied != entry.getSize()) {
                    throw new CheckpointException(name, "archive entry \"" + path + "\" is truncated: "
                            + copied + " of " + entry.getSize() + " bytes");
                }
            }
        } catch (CheckpointException e) {
            throw e;
        } catch (IOException | IllegalArgumentException e) {
            throw new CheckpointException(name, "not a readable tar archive: " + e.getMessage());
        }
    }

    private static InputStream decompressed(Path archive) throws IOException {
        var in = new BufferedInputStream(Files.newInputStream(archive), 1 << 16);
        in.mark(TAR_MAGIC_OFFSET + 8);
        byte[] head = in.readNBytes(TAR_MAGIC_OFFSET + 8);
        in.reset();
        if (startsWith(head, GZIP)) {
            return new GZIPInputStream(in, 1 << 16);
        }
        if (startsWith(head, ZSTD)) {
            return new ZstdInputStream(in);
        }
        if (head.length >= TAR_MAGIC_OFFSET + 5 && new String(head, TAR_MAGIC_OFFSET, 5,
                java.nio.charset.StandardCharsets.US_ASCII).equals("ustar")) {
            return in;
        }
        in.close();
        throw new CheckpointException(archive.toString(), "neither a directory of CRIU images nor a tar archive "
                + "(plain, gzip or zstd)");
    }

    private static boolean startsWith(byte[] bytes, byte[] prefix) {
        if (bytes.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (bytes[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    private void deleteQuietly() {
        try {
            close();
        } catch (IOException e) {
            // best effort from a shutdown hook
        }
    }

    @Override
    public void close() throws IOException {
        if (temporary == null || !Files.exists(temporary)) {
            return;
        }
        try (Stream<Path> files = Files.walk(temporary)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
