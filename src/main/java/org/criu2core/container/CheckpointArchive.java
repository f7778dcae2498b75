package org.criu2core.container;

import io.airlift.compress.zstd.ZstdInputStream;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.criu2core.image.CheckpointException;
import org.criu2core.sys.Cleanup;

/**
 * A checkpoint to read: a directory of CRIU images as it is, or a container checkpoint archive
 * (what `podman container checkpoint --export` and Kubernetes' checkpoint API write: a tar,
 * plain, gzip or zstd, with the CRIU images under checkpoint/), unpacked into a temporary
 * directory that is removed on {@link #close}, and when the JVM is stopped ({@link Cleanup}).
 *
 * <p>The compression is read from the first bytes, never from the name (podman writes zstd
 * into files named .tar.gz). CRIU's images are one flat folder: only regular files directly under
 * checkpoint/ are unpacked; links, devices, FIFOs, folders and anything deeper are skipped, and
 * sparse files refused. What is unpacked is bounded by {@link Limits#maxBytes} and by the free
 * space of the temporary folder's filesystem less a reserve, each entry is copied through a
 * stream that ends at its declared size, and every entry of the archive counts against
 * {@link #MAX_ENTRIES}. Every refusal is one line naming the archive and the entry.
 */
public final class CheckpointArchive implements AutoCloseable {
    /** Where CRIU images are in a container checkpoint archive. */
    public static final String IMAGES_DIR = "checkpoint";
    public static final long DEFAULT_MAX_BYTES = 64L << 30;
    /** Entries of any kind in one archive: a checkpoint of a thousand processes has some ten thousand. */
    public static final int MAX_ENTRIES = 100_000;
    /** The temporary filesystem keeps this much free, or a twentieth of its size if that is less. */
    static final long RESERVE = 1L << 30;

    private static final byte[] GZIP = {0x1f, (byte) 0x8b};
    private static final byte[] ZSTD = {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd};
    private static final int TAR_MAGIC_OFFSET = 257;
    /**
     * The largest zstd window aircompressor decodes (its Constants.MAX_WINDOW_SIZE, 8 MiB): zstd
     * writes no larger one below level 20 without --long.
     */
    static final long MAX_ZSTD_WINDOW = 1L << 23;

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

    private final Path images;
    private final Path temporary;
    private final Cleanup.Registration removal;

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
        if (Files.isDirectory(checkpoint)) {
            return new CheckpointArchive(checkpoint, null, null);
        }
        if (!Files.isRegularFile(checkpoint)) {
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
            unpack(checkpoint, archive.images, limits);
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

    /** The directory of CRIU images. */
    public Path images() {
        return images;
    }

    /** Whether this checkpoint came from an archive (its images unpacked), not a directory. */
    public boolean unpacked() {
        return temporary != null;
    }

    private static void unpack(Path archive, Path into, Limits limits) throws IOException {
        String name = archive.toString();
        long total = 0;
        int entries = 0;
        Set<String> unpacked = new HashSet<>();
        byte[] buffer = new byte[1 << 20];
        var store = Files.getFileStore(into);
        try (InputStream in = decompressed(archive)) {
            var tar = new TarReader(in, name);
            TarReader.Entry entry;
            while ((entry = tar.next()) != null) {
                if (++entries > MAX_ENTRIES) {
                    throw new CheckpointException(name, "more than " + MAX_ENTRIES + " entries: not a container "
                            + "checkpoint archive");
                }
                String path = entry.name();
                String file = imageName(path, name, entry);
                if (file == null) {
                    continue; // podman's own files, folders, and anything not directly under checkpoint/
                }
                if (entry.type() == TarReader.Type.SPARSE) {
                    throw new CheckpointException(name, "archive entry \"" + path + "\" (at byte "
                            + entry.headerOffset() + " of the tar) is a sparse file, which criu2core does not "
                            + "unpack: make the archive without tar's --sparse");
                }
                if (entry.type() != TarReader.Type.FILE) {
                    continue; // links, devices and FIFOs: CRIU's images are regular files
                }
                total += entry.size();
                if (total > limits.maxBytes()) {
                    throw new CheckpointException(name, "archive entry \"" + path + "\": unpacking it would pass "
                            + limits.maxBytes() + " bytes (--max-unpack allows more)");
                }
                Path target = into.resolve(file);
                checkSpace(name, path, entry.size(), store, into.getParent().getParent());
                unpacked.add(file);
                copy(tar, entry, target, buffer);
            }
            if (unpacked.isEmpty()) {
                throw new CheckpointException(name, "no " + IMAGES_DIR + "/ directory of CRIU images in the archive");
            }
        } catch (CheckpointException | InterruptedIOException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw unreadable(name, e);
        }
    }

    /**
     * The image name {@code path} unpacks to: the part after checkpoint/ when that is a single
     * name (podman's archives have the images directly in it); null for anything else. Names that
     * would lead out of the folder are an error: no honest archive has them.
     */
    private static String imageName(String path, String archive, TarReader.Entry entry) throws CheckpointException {
        String p = path;
        while (p.startsWith("./")) {
            p = p.substring(2);
        }
        if (path.startsWith("/") || ("/" + p + "/").contains("/../")) {
            throw new CheckpointException(archive, "archive entry \"" + path + "\" leads outside the archive");
        }
        if (!p.startsWith(IMAGES_DIR + "/")) {
            return null;
        }
        String rest = p.substring(IMAGES_DIR.length() + 1);
        if (rest.isEmpty() || rest.contains("/") || rest.equals(".") || entry.type() == TarReader.Type.DIRECTORY) {
            return null;
        }
        return rest;
    }

    /** The entry must fit in the temporary filesystem, which keeps {@link #RESERVE} (or a twentieth of it) free. */
    private static void checkSpace(String archive, String path, long size, java.nio.file.FileStore store, Path folder)
            throws IOException {
        long reserve = Math.min(RESERVE, store.getTotalSpace() / 20);
        long usable = store.getUsableSpace() - reserve;
        if (size > usable) {
            throw new CheckpointException(archive, "archive entry \"" + path + "\" of " + size + " bytes does not fit "
                    + "in " + folder + ", which has " + Math.max(0, usable)
                    + " bytes free beyond its reserve (--tmp-dir chooses another folder)");
        }
    }

    /** Copies the entry's data, no more than its header says, into a new file. */
    private static void copy(TarReader tar, TarReader.Entry entry, Path target, byte[] buffer) throws IOException {
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

    private static String reason(IOException e) {
        String message = e.getMessage();
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return message != null ? message : e.getClass().getSimpleName();
    }

    /** What a decompressor or the file said, as one line about the archive. */
    private static CheckpointException unreadable(String archive, Exception e) {
        if (e instanceof EOFException) {
            return new CheckpointException(archive, "truncated: its compressed stream ends early");
        }
        String message = e.getMessage();
        if (message != null && message.startsWith("Window size too large")) {
            return windowTooLarge(archive, null);
        }
        return new CheckpointException(archive, "not a readable archive: " + (message != null ? message
                : e.getClass().getSimpleName()));
    }

    private static CheckpointException windowTooLarge(String archive, Long window) {
        return new CheckpointException(archive, "not a readable archive: its zstd stream needs a window of "
                + (window != null ? window + " bytes" : "more than " + MAX_ZSTD_WINDOW + " bytes") + " (zstd --long "
                + "or --ultra made it), and criu2core's zstd decoder reads windows up to " + MAX_ZSTD_WINDOW
                + " bytes: compress it again without --long");
    }

    private static InputStream decompressed(Path archive) throws IOException {
        var in = new BufferedInputStream(Files.newInputStream(archive), 1 << 16);
        try {
            in.mark(TAR_MAGIC_OFFSET + 8);
            byte[] head = in.readNBytes(TAR_MAGIC_OFFSET + 8);
            in.reset();
            if (startsWith(head, GZIP)) {
                return new GZIPInputStream(in, 1 << 16);
            }
            if (startsWith(head, ZSTD)) {
                long window = zstdWindow(head);
                if (window > MAX_ZSTD_WINDOW) {
                    throw windowTooLarge(archive.toString(), window);
                }
                return new DecoderErrors(new ZstdInputStream(in));
            }
            if (head.length >= TAR_MAGIC_OFFSET + 5 && new String(head, TAR_MAGIC_OFFSET, 5,
                    StandardCharsets.US_ASCII).equals("ustar")) {
                return in;
            }
            throw new CheckpointException(archive.toString(), "neither a directory of CRIU images nor a tar archive "
                    + "(plain, gzip or zstd)");
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
    }

    /**
     * The window a zstd frame needs (RFC 8878 3.1.1.1): from its Window_Descriptor, or its content
     * size when it is a single segment; 0 when the header is cut short.
     */
    static long zstdWindow(byte[] head) {
        if (head.length < 6) {
            return 0;
        }
        int descriptor = head[4] & 0xff;
        boolean singleSegment = (descriptor & 0x20) != 0;
        if (singleSegment) {
            return 0; // the content size bounds the window; aircompressor needs none beyond its blocks
        }
        int window = head[5] & 0xff;
        int log = 10 + (window >>> 3);
        long base = 1L << log;
        return base + (base / 8) * (window & 7);
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

    /** The zstd decoder reports bad input with RuntimeExceptions: IOExceptions here. */
    private static final class DecoderErrors extends FilterInputStream {
        DecoderErrors(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            try {
                return super.read();
            } catch (RuntimeException e) {
                throw new IOException(e.getMessage(), e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return super.read(b, off, len);
            } catch (RuntimeException e) {
                throw new IOException(e.getMessage(), e);
            }
        }
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
}
