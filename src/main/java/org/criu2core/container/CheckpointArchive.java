package org.criu2core.container;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.criu2core.image.CheckpointException;
import org.criu2core.sys.Cleanup;

/**
 * A checkpoint to read: a directory of CRIU images as it is, or a container checkpoint: an
 * archive (what `podman container checkpoint --export` and Kubernetes' checkpoint API write: a
 * tar, plain, gzip or zstd, with the CRIU images under checkpoint/), the same unpacked into a
 * directory, or a checkpoint image (`podman container checkpoint --create-image`, `checkpointctl
 * build`: an OCI image whose one layer is such an archive). An archive is unpacked into a
 * temporary directory that is removed on {@link #close}, and when the JVM is stopped
 * ({@link Cleanup}).
 *
 * <p>Besides the images, what the engine wrote about the container is kept
 * ({@link #container()}: config.dump, spec.dump, status.dump), and what the container changed in
 * its root filesystem ({@link #rootfsDiff()}: rootfs-diff.tar, and {@link #deletedFiles()}), from
 * which {@link ContainerRoots} builds the root. Names may start with "./" (engines differ).
 *
 * <p>The compression is read from the first bytes, never from the name (podman writes zstd
 * into files named .tar.gz). CRIU's images are one flat folder: only regular files directly under
 * checkpoint/ (and pre-checkpoint/, the parent snapshot of `podman container checkpoint
 * --with-previous`) are unpacked; links, devices, FIFOs, folders and anything deeper are skipped,
 * and sparse files refused. What is unpacked is bounded by {@link Limits#maxBytes} and by the
 * free space of the temporary folder's filesystem less a reserve, each entry is copied through a
 * stream that ends at its declared size, and every entry of the archive counts against
 * {@link #MAX_ENTRIES}. Every refusal is one line naming the archive and the entry.
 */
public final class CheckpointArchive implements AutoCloseable {
    /** Where CRIU images are in a container checkpoint archive. */
    public static final String IMAGES_DIR = "checkpoint";
    /** The parent snapshot's images, with podman's --with-previous. */
    static final String PARENT_IMAGES_DIR = "pre-checkpoint";
    static final String ROOTFS_DIFF = "rootfs-diff.tar";
    static final String DELETED_FILES = "deleted.files";
    public static final long DEFAULT_MAX_BYTES = 64L << 30;
    /** Entries of any kind in one archive: a checkpoint of a thousand processes has some ten thousand. */
    public static final int MAX_ENTRIES = 100_000;
    /** The most one of the engine's JSON files may hold: real ones have some 50 KiB. */
    static final int MAX_METADATA_BYTES = 16 << 20;
    /** The temporary filesystem keeps this much free, or a twentieth of its size if that is less. */
    static final long RESERVE = 1L << 30;

    /** Where to unpack and how much; {@link #DEFAULTS}: the JVM's temporary folder, 64 GiB. */
    public record Limits(Path tempParent, long maxBytes) {
        public static final Limits DEFAULTS = new Limits(null, DEFAULT_MAX_BYTES);

        public Limits {
            if (maxBytes < 0) {
                throw new IllegalArgumentException("maxBytes must not be negative");
            }
        }

        Path folder() {
            return tempParent != null ? tempParent : Path.of(System.getProperty("java.io.tmpdir"));
        }
    }

    /** What of a checkpoint to unpack: all of it, or all but the pages (for its metadata and root alone). */
    public enum Parts { ALL, WITHOUT_PAGES }

    private final Path images;
    private final Path temporary;
    private final Cleanup.Registration removal;
    private ContainerMetadata container;
    private Path rootfsDiff;
    private List<String> deletedFiles = List.of();

    private CheckpointArchive(Path images, Path temporary, Cleanup.Registration removal) {
        this.images = images;
        this.temporary = temporary;
        this.removal = removal;
    }

    /** A directory as it is, or an archive unpacked under the system's temporary directory. */
    public static CheckpointArchive open(Path checkpoint) throws IOException {
        return open(checkpoint, Limits.DEFAULTS);
    }

    public static CheckpointArchive open(Path checkpoint, Path tempParent, long maxBytes) throws IOException {
        return open(checkpoint, new Limits(tempParent, maxBytes));
    }

    public static CheckpointArchive open(Path checkpoint, Limits limits) throws IOException {
        return open(checkpoint, limits, Parts.ALL);
    }

    public static CheckpointArchive open(Path checkpoint, Limits limits, Parts parts) throws IOException {
        if (Files.isDirectory(checkpoint)) {
            if (Files.isDirectory(checkpoint.resolve(IMAGES_DIR)) && !Files.exists(checkpoint.resolve("pstree.img"))) {
                return unpackedArchive(checkpoint);
            }
            if (!OciImage.isLayout(checkpoint)) {
                return new CheckpointArchive(checkpoint, null, null);
            }
        } else if (!Files.isRegularFile(checkpoint)) {
            throw new CheckpointException(checkpoint.toString(), "no such directory or archive");
        }
        Path parent = limits.folder();
        if (!Files.isDirectory(parent)) {
            throw new CheckpointException(parent.toString(), "no such directory (to unpack " + checkpoint
                    + " into; --tmp-dir chooses another)");
        }
        // the name is chosen and registered before the folder exists: a signal at any moment finds it
        Path temp = parent.resolve("criu2core-" + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36));
        var removal = Cleanup.removeOnShutdown(temp);
        var archive = new CheckpointArchive(temp.resolve(IMAGES_DIR), temp, removal);
        Thread unpacker = Thread.currentThread();
        var finished = new CountDownLatch(1);
        var stop = Cleanup.onShutdown(() -> {
            unpacker.interrupt();
            try {
                finished.await(Cleanup.STOP_WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        boolean done = false;
        try {
            try {
                Files.createDirectory(temp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (IOException e) {
                throw new CheckpointException(temp.toString(), "cannot be made to unpack " + checkpoint + " into: "
                        + reason(e) + " (--tmp-dir chooses another folder)");
            }
            Files.createDirectory(archive.images);
            new Unpacking(archive, checkpoint.toString(), limits, parts).fromFile(checkpoint);
            done = true;
            return archive;
        } finally {
            // OutOfMemoryError and interrupts too: the unpacked files go whatever went wrong
            if (!done) {
                archive.close();
            }
            finished.countDown();
            stop.close();
        }
    }

    /** A container checkpoint archive that someone unpacked already: its files are read where they are. */
    private static CheckpointArchive unpackedArchive(Path dir) throws IOException {
        var archive = new CheckpointArchive(dir.resolve(IMAGES_DIR), null, null);
        Map<String, byte[]> metadata = new HashMap<>();
        for (String name : ContainerMetadata.FILES) {
            Path file = dir.resolve(name);
            if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                metadata.put(name, readSmall(file, dir.toString()));
            }
        }
        if (!metadata.isEmpty()) {
            archive.container = ContainerMetadata.parse(metadata, null, dir.toString());
        }
        Path diff = dir.resolve(ROOTFS_DIFF);
        archive.rootfsDiff = Files.isRegularFile(diff, LinkOption.NOFOLLOW_LINKS) ? diff : null;
        Path deleted = dir.resolve(DELETED_FILES);
        if (Files.isRegularFile(deleted, LinkOption.NOFOLLOW_LINKS)) {
            archive.deletedFiles = DeletedFiles.parse(readSmall(deleted, dir.toString()), dir + "/" + DELETED_FILES);
        }
        return archive;
    }

    private static byte[] readSmall(Path file, String where) throws IOException {
        if (Files.size(file) > MAX_METADATA_BYTES) {
            throw new CheckpointException(file.toString(), "is larger than the " + MAX_METADATA_BYTES
                    + " bytes criu2core reads of it");
        }
        return Files.readAllBytes(file);
    }

    /** The directory of CRIU images. */
    public Path images() {
        return images;
    }

    /** Whether this checkpoint came from an archive (its images unpacked), not a directory of images. */
    public boolean unpacked() {
        return temporary != null;
    }

    /** Whether this is a container checkpoint (an archive, or one unpacked), not a bare directory of images. */
    public boolean fromContainer() {
        return temporary != null || container != null || rootfsDiff != null;
    }

    /** What the container engine wrote about the container, where it wrote anything. */
    public Optional<ContainerMetadata> container() {
        return Optional.ofNullable(container);
    }

    /** The container's changes to its image's files (rootfs-diff.tar, plain or gzip), where the archive has them. */
    public Optional<Path> rootfsDiff() {
        return Optional.ofNullable(rootfsDiff);
    }

    /** Absolute paths the container deleted from its image's files (deleted.files; podman and CRI-O). */
    public List<String> deletedFiles() {
        return deletedFiles;
    }

    /** One pass over an archive: each entry goes where it belongs, within the limits. */
    private static final class Unpacking {
        private final CheckpointArchive archive;
        private final String name;
        private final Limits limits;
        private final Parts parts;
        private final byte[] buffer = new byte[1 << 20];
        private final Map<String, byte[]> metadata = new HashMap<>();
        private long total;
        private int entries;
        private int images;
        private boolean parentImages;
        private boolean parentLink;
        private boolean ociImage;
        private String folderTime;

        Unpacking(CheckpointArchive archive, String name, Limits limits, Parts parts) {
            this.archive = archive;
            this.name = name;
            this.limits = limits;
            this.parts = parts;
        }

        void fromFile(Path checkpoint) throws IOException {
            try {
                if (Files.isDirectory(checkpoint)) {
                    fromCheckpointImage(checkpoint);
                    return;
                }
                byte[] head;
                try (InputStream in = Files.newInputStream(checkpoint)) {
                    head = in.readNBytes(Compression.HEAD);
                }
                if (Compression.of(head) == Compression.NONE && !Compression.isTar(head)) {
                    throw new CheckpointException(name, "neither a directory of CRIU images nor a tar archive "
                            + "(plain, gzip or zstd)");
                }
                try (InputStream in = Compression.decompressed(Files.newInputStream(checkpoint), name)) {
                    fromTar(in);
                }
                if (images == 0 && ociImage) {
                    fromCheckpointImage(checkpoint);
                    return;
                }
                finish();
            } catch (CheckpointException | InterruptedIOException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw Compression.unreadable(name, e);
            }
        }

        /** A checkpoint image: its one layer is the archive. */
        private void fromCheckpointImage(Path image) throws IOException {
            try (var oci = OciImage.open(image, limits)) {
                var layer = oci.checkpointLayer();
                try (InputStream in = Compression.decompressed(oci.open(layer), name + " (layer " + layer.digest() + ")")) {
                    fromTar(in);
                }
            }
            finish();
        }

        private void fromTar(InputStream in) throws IOException {
            var tar = new TarReader(in, name);
            TarReader.Entry entry;
            while ((entry = tar.next()) != null) {
                if (++entries > MAX_ENTRIES) {
                    throw new CheckpointException(name, "more than " + MAX_ENTRIES + " entries: not a container "
                            + "checkpoint archive");
                }
                String path = clean(entry.name());
                int slash = path.indexOf('/');
                String top = slash < 0 ? path : path.substring(0, slash);
                String rest = slash < 0 ? "" : path.substring(slash + 1);
                if (top.equals("oci-layout") || top.equals("index.json") || top.equals("manifest.json")) {
                    ociImage = true;
                }
                if (top.equals(IMAGES_DIR) && rest.isEmpty() && entry.type() == TarReader.Type.DIRECTORY) {
                    folderTime = Instant.ofEpochSecond(entry.mtime()).toString();
                }
                if (top.equals(IMAGES_DIR) && rest.equals("parent") && entry.type() == TarReader.Type.SYMLINK) {
                    parentLink = true;
                }
                if (entry.type() == TarReader.Type.SPARSE) {
                    throw new CheckpointException(name, "archive entry \"" + entry.name() + "\" (at byte "
                            + entry.headerOffset() + " of the tar) is a sparse file, which criu2core does not "
                            + "unpack: make the archive without tar's --sparse");
                }
                if (entry.type() != TarReader.Type.FILE) {
                    continue; // links, devices and FIFOs: CRIU's images are regular files
                }
                if ((top.equals(IMAGES_DIR) || top.equals(PARENT_IMAGES_DIR)) && isImageName(rest)) {
                    if (parts == Parts.WITHOUT_PAGES && rest.startsWith("pages-")) {
                        continue;
                    }
                    Path dir = archive.images;
                    if (top.equals(PARENT_IMAGES_DIR)) {
                        dir = archive.temporary.resolve(PARENT_IMAGES_DIR);
                        Files.createDirectories(dir);
                        parentImages = true;
                    } else {
                        images++;
                    }
                    copy(tar, entry, dir.resolve(rest));
                } else if (ContainerMetadata.FILES.contains(path) || path.equals(DELETED_FILES)) {
                    metadata.put(path, readSmall(tar, entry));
                } else if (path.equals(ROOTFS_DIFF)) {
                    archive.rootfsDiff = archive.temporary.resolve(ROOTFS_DIFF);
                    copy(tar, entry, archive.rootfsDiff);
                }
                // podman's and the kubelet's other files (logs, network status, volumes) are not read
            }
        }

        private void finish() throws IOException {
            if (images == 0) {
                throw new CheckpointException(name, ociImage
                        ? "an OCI image, but not a checkpoint image (no checkpoint/ folder in its layer): "
                        + "give an image of the container's files with --image"
                        : "no " + IMAGES_DIR + "/ directory of CRIU images in the archive");
            }
            if (parentImages && parentLink) {
                Files.createSymbolicLink(archive.images.resolve("parent"), Path.of("..", PARENT_IMAGES_DIR));
            }
            byte[] deleted = metadata.remove(DELETED_FILES);
            if (deleted != null) {
                archive.deletedFiles = DeletedFiles.parse(deleted, name + " (" + DELETED_FILES + ")");
            }
            if (!metadata.isEmpty()) {
                archive.container = ContainerMetadata.parse(metadata, folderTime, name);
            }
        }

        /** The path without the "./" some writers put first; refused where it would lead out. */
        private String clean(String path) throws CheckpointException {
            String p = path;
            while (p.startsWith("./")) {
                p = p.substring(2);
            }
            if (path.startsWith("/") || ("/" + p + "/").contains("/../")) {
                throw new CheckpointException(name, "archive entry \"" + path + "\" leads outside the archive");
            }
            while (p.endsWith("/")) {
                p = p.substring(0, p.length() - 1);
            }
            return p;
        }

        private static boolean isImageName(String rest) {
            return !rest.isEmpty() && !rest.contains("/") && !rest.equals(".") && !rest.equals("..");
        }

        private byte[] readSmall(TarReader tar, TarReader.Entry entry) throws IOException {
            if (entry.size() > MAX_METADATA_BYTES) {
                throw new CheckpointException(name, "archive entry \"" + entry.name() + "\" is " + entry.size()
                        + " bytes, more than the " + MAX_METADATA_BYTES + " bytes criu2core reads of it");
            }
            byte[] data = new byte[(int) entry.size()];
            int got = 0;
            int n;
            while (got < data.length && (n = tar.read(buffer)) > 0) {
                System.arraycopy(buffer, 0, data, got, n);
                got += n;
            }
            return data;
        }

        /** Copies the entry's data, no more than its header says, into a new file. */
        private void copy(TarReader tar, TarReader.Entry entry, Path target) throws IOException {
            total += entry.size();
            if (total > limits.maxBytes()) {
                throw new CheckpointException(name, "archive entry \"" + entry.name() + "\": unpacking it would pass "
                        + limits.maxBytes() + " bytes (--max-unpack allows more)");
            }
            checkSpace(name, entry.name(), entry.size(), archive.temporary);
            FileChannel out;
            try {
                // a later entry of the same name replaces an earlier one, as tar does
                out = FileChannel.open(target, StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING, LinkOption.NOFOLLOW_LINKS);
            } catch (FileAlreadyExistsException e) {
                throw new CheckpointException(target.toString(), "cannot be unpacked: it exists and is no file");
            } catch (IOException e) {
                throw new CheckpointException(target.toString(), "cannot be unpacked: " + reason(e));
            }
            try (out) {
                int n;
                while ((n = tar.read(buffer)) > 0) {
                    if (Thread.currentThread().isInterrupted()) {
                        throw new InterruptedIOException("interrupted while the archive was unpacked");
                    }
                    var b = ByteBuffer.wrap(buffer, 0, n);
                    try {
                        while (b.hasRemaining()) {
                            out.write(b);
                        }
                    } catch (InterruptedIOException | java.nio.channels.ClosedByInterruptException e) {
                        throw new InterruptedIOException("interrupted while the archive was unpacked");
                    } catch (IOException e) {
                        throw new CheckpointException(target.toString(), "cannot be written: " + reason(e)
                                + " (unpacking entry \"" + entry.name() + "\"; --tmp-dir chooses another folder)");
                    }
                }
            }
        }
    }

    /**
     * An entry of {@code size} bytes must fit in {@code folder}'s filesystem, which keeps
     * {@link #RESERVE} (or a twentieth of its size) free.
     */
    static void checkSpace(String archive, String entry, long size, Path folder) throws IOException {
        var store = Files.getFileStore(folder);
        long reserve = Math.min(RESERVE, store.getTotalSpace() / 20);
        long usable = store.getUsableSpace() - reserve;
        if (size > usable) {
            throw new CheckpointException(archive, "archive entry \"" + entry + "\" of " + size + " bytes does not fit "
                    + "in " + folder.getParent() + ", which has " + Math.max(0, usable)
                    + " bytes free beyond its reserve (--tmp-dir chooses another folder)");
        }
    }

    static String reason(IOException e) {
        String message = e.getMessage();
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return message != null ? message : e.getClass().getSimpleName();
    }

    @Override
    public void close() throws IOException {
        if (temporary == null) {
            return;
        }
        try {
            Cleanup.deleteTree(temporary);
        } finally {
            removal.close();
        }
    }

    /** deleted.files: a JSON array of absolute paths (podman's libpod, CRI-O). */
    static final class DeletedFiles {
        private DeletedFiles() {
        }

        static List<String> parse(byte[] json, String where) throws CheckpointException {
            try {
                var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
                if (node == null || node.isNull()) {
                    return List.of();
                }
                if (!node.isArray()) {
                    throw new CheckpointException(where, "is not a JSON array of paths");
                }
                List<String> paths = new ArrayList<>();
                for (var p : node) {
                    if (!p.isTextual()) {
                        throw new CheckpointException(where, "holds " + p + ", not a path");
                    }
                    paths.add(p.asText());
                }
                return List.copyOf(paths);
            } catch (CheckpointException e) {
                throw e;
            } catch (IOException e) {
                throw new CheckpointException(where, "is not JSON: " + e.getMessage().lines().findFirst().orElse(""));
            }
        }
    }
}
