package org.criu2core.sys;

import static org.criu2core.sys.Linux.AT_EMPTY_PATH;
import static org.criu2core.sys.Linux.AT_FDCWD;
import static org.criu2core.sys.Linux.EAGAIN;
import static org.criu2core.sys.Linux.EINTR;
import static org.criu2core.sys.Linux.EINVAL;
import static org.criu2core.sys.Linux.ENOSYS;
import static org.criu2core.sys.Linux.ENXIO;
import static org.criu2core.sys.Linux.EOPNOTSUPP;
import static org.criu2core.sys.Linux.EPERM;
import static org.criu2core.sys.Linux.EXDEV;
import static org.criu2core.sys.Linux.O_RDONLY;
import static org.criu2core.sys.Linux.O_WRONLY;
import static org.criu2core.sys.Linux.SEEK_DATA;
import static org.criu2core.sys.Linux.SEEK_HOLE;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * A regular file, open as a {@link FileChannel} for what Java does well and, where the native
 * calls work ({@link Linux#unavailable()}), as a descriptor for what it cannot: holes and
 * in-kernel copies. The channel is opened through /proc/self/fd from the descriptor, so both are
 * the one file that was checked, whatever happens to its name afterwards.
 */
public final class OpenFile implements Closeable {
    /** One copy_file_range call at most: the kernel does no more than about 2 GiB per call. */
    private static final long MAX_COPY = 1L << 30;

    private final String name;
    private final int fd;
    private final FileChannel channel;
    private final boolean mayHaveHoles;
    /** Set once copy_file_range refused a copy from this file: the rest go through transferTo. */
    private volatile boolean noCopyRange;

    private OpenFile(String name, int fd, FileChannel channel, boolean mayHaveHoles) {
        this.name = name;
        this.fd = fd;
        this.channel = channel;
        this.mayHaveHoles = mayHaveHoles;
    }

    /**
     * {@code path} for reading: the file itself, never a symbolic link to one (O_NOFOLLOW), and
     * only if it is a regular file (a FIFO would block the reader, a device never end).
     * {@code name} names it in errors.
     */
    public static OpenFile openRegular(Path path, String name) throws IOException {
        if (!Linux.available()) {
            BasicFileAttributes attributes;
            try {
                attributes = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (IOException e) {
                throw new FileException(name, "cannot be opened", e);
            }
            if (!attributes.isRegularFile()) {
                throw new FileException(name, notRegular(attributes));
            }
            return new OpenFile(name, -1, FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS),
                    false);
        }
        var flags = Linux.flags();
        int fd = LibC.openat(AT_FDCWD, Linux.cString(path.toString()),
                O_RDONLY | flags.nofollow() | flags.nonblock() | flags.noctty() | flags.cloexec(), 0);
        if (fd < 0) {
            int errno = Linux.errno();
            throw new FileException(name, errno == 40 ? "is a symbolic link, not a file"
                    : "cannot be opened: " + Linux.describe(errno));
        }
        return adopt(fd, name).orElseThrow(() -> new FileException(name, "is not a regular file"));
    }

    /**
     * An existing file of ours for writing at explicit offsets (a core being written). {@code name}
     * names it in errors: the name the user will look for, not the temporary one.
     */
    public static OpenFile openForWriting(Path path, String name) throws IOException {
        if (!Linux.available()) {
            return new OpenFile(name, -1, FileChannel.open(path, StandardOpenOption.WRITE), false);
        }
        int fd = LibC.openat(AT_FDCWD, Linux.cString(path.toString()), O_WRONLY | Linux.flags().cloexec(), 0);
        if (fd < 0) {
            throw new FileException(name, "cannot be opened for writing: " + Linux.describe(Linux.errno()));
        }
        try {
            return new OpenFile(name, fd, FileChannel.open(procPath(fd), StandardOpenOption.WRITE), false);
        } catch (IOException | RuntimeException e) {
            LibC.close(fd);
            throw e;
        }
    }

    /** Takes {@code fd} if it is a regular file, with a channel on it; else closes it. */
    static java.util.Optional<OpenFile> adopt(int fd, String name) throws IOException {
        boolean kept = false;
        try {
            FileStatus status = status(fd, name);
            if (!status.regular()) {
                return java.util.Optional.empty();
            }
            var file = new OpenFile(name, fd, FileChannel.open(procPath(fd), StandardOpenOption.READ),
                    status.mayHaveHoles());
            kept = true;
            return java.util.Optional.of(file);
        } finally {
            if (!kept) {
                LibC.close(fd);
            }
        }
    }

    static FileStatus status(int fd, String name) throws FileException {
        byte[] statx = new byte[FileStatus.SIZE];
        if (LibC.statx(fd, new byte[1], AT_EMPTY_PATH, FileStatus.MASK, statx) != 0) {
            throw new FileException(name, "cannot be examined: " + Linux.describe(Linux.errno()));
        }
        return FileStatus.of(statx);
    }

    private static Path procPath(int fd) {
        return Path.of("/proc/self/fd/" + fd);
    }

    private static String notRegular(BasicFileAttributes a) {
        return a.isSymbolicLink() ? "is a symbolic link, not a file" : a.isDirectory() ? "is a directory, not a file"
                : "is not a regular file";
    }

    public String name() {
        return name;
    }

    /** The descriptor for the native calls; -1 where they are unavailable. */
    int fd() {
        return fd;
    }

    public FileChannel channel() {
        return channel;
    }

    /**
     * Whether copies from this file into a new file in {@code dir} can be clones, which take no
     * new disk space: both are on one XFS or btrfs, whose copy_file_range shares blocks. A forecast
     * for planning; {@link #copyTo} does what the filesystem can, and copies where a block is
     * larger than a page or an XFS was made without reflink.
     */
    public boolean mayCloneInto(Path dir) throws IOException {
        if (fd < 0 || !Linux.LONG_IS_64_BITS) {
            return false;
        }
        String type = Files.getFileStore(dir).type();
        if (!"xfs".equals(type) && !"btrfs".equals(type)) {
            return false;
        }
        byte[] statx = new byte[FileStatus.SIZE];
        if (LibC.statx(AT_FDCWD, Linux.cString(dir.toString()), 0, FileStatus.MASK, statx) != 0) {
            return false;
        }
        FileStatus folder = FileStatus.of(statx);
        FileStatus self = status(fd, name);
        return folder.devMajor() == self.devMajor() && folder.devMinor() == self.devMinor();
    }

    public long size() throws IOException {
        return channel.size();
    }

    /**
     * Whether some of the file may be holes, which {@link #dataFrom} and {@link #holeFrom} find.
     * False when the file has a block for every byte, or when holes cannot be asked for.
     */
    public boolean mayHaveHoles() {
        return mayHaveHoles;
    }

    /** The first byte of data at or after {@code offset}; {@link #size()} when only holes follow. */
    public long dataFrom(long offset) throws IOException {
        return seek(offset, SEEK_DATA);
    }

    /** The first byte of a hole at or after {@code offset}; the end of the file counts as one. */
    public long holeFrom(long offset) throws IOException {
        return seek(offset, SEEK_HOLE);
    }

    private long seek(long offset, int whence) throws IOException {
        if (!mayHaveHoles) {
            return whence == SEEK_DATA ? Math.min(offset, size()) : size();
        }
        // the kernel answers within the file, and ENXIO at or past its end: its size is asked for
        // only then (a mounted core's reads of a sparse pages file make these calls by the thousand)
        long at = offset < 0 ? -1 : LibC.lseek64(fd, offset, whence);
        if (at >= 0) {
            return at;
        }
        int errno = offset < 0 ? EINVAL : Linux.errno();
        if (errno == ENXIO) { // no data after offset, or offset at or past the end
            return size();
        }
        if (errno == EINVAL) { // a filesystem without SEEK_DATA: all data
            return whence == SEEK_DATA ? Math.min(offset, size()) : size();
        }
        throw new FileException(name, "cannot be read at offset " + offset + ": " + Linux.describe(errno));
    }

    /**
     * Copies {@code length} bytes at {@code offset} into {@code out} at {@code outOffset}, in the
     * kernel: copy_file_range, which on XFS and btrfs shares the blocks instead of writing them,
     * or else sendfile through {@link FileChannel#transferTo}. Moves neither file's position but
     * {@code out}'s channel when it falls back.
     */
    public void copyTo(long offset, long length, OpenFile out, long outOffset) throws IOException {
        long done = 0;
        if (fd >= 0 && out.fd >= 0 && !noCopyRange && Linux.LONG_IS_64_BITS) {
            long[] in = {offset};
            long[] to = {outOffset};
            while (done < length) {
                long n = LibC.copy_file_range(fd, in, out.fd, to, Math.min(MAX_COPY, length - done), 0);
                if (n > 0) {
                    done += n;
                    continue;
                }
                if (n == 0) {
                    throw shortSource(offset + done, length - done);
                }
                int errno = Linux.errno();
                if (errno == EINTR || errno == EAGAIN) {
                    continue;
                }
                if (errno == EXDEV || errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS || errno == EPERM) {
                    // another filesystem, or one that cannot: the kernel's sendfile copies as well
                    noCopyRange = true;
                    break;
                }
                throw new FileException(out.name, "cannot be written: " + Linux.describe(errno));
            }
        }
        if (done < length) {
            out.channel.position(outOffset + done);
            while (done < length) {
                long n;
                try {
                    n = channel.transferTo(offset + done, length - done, out.channel);
                } catch (IOException e) {
                    throw new FileException(out.name, "cannot be written: " + e.getMessage(), e);
                }
                if (n <= 0) {
                    throw shortSource(offset + done, length - done);
                }
                done += n;
            }
        }
    }

    private IOException shortSource(long at, long missing) {
        return new FileException(name, "ended early: " + missing + " bytes short at offset " + at);
    }

    @Override
    public void close() throws IOException {
        try {
            channel.close();
        } finally {
            if (fd >= 0) {
                LibC.close(fd);
            }
        }
    }
}
