package org.criu2core.sys;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import java.io.File;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A read-only filesystem of regular files in one directory, mounted with FUSE through libfuse 3's
 * low-level API ({@link LibFuse}). Requests are taken from /dev/fuse by a few Java threads of our
 * own, each calling libfuse's receive and process functions, so the operations run as callbacks on
 * threads that are already Java's, without a lock between them. A read is answered with a list of
 * pieces ({@code fuse_reply_data}): runs of open files by descriptor and offset, which libfuse
 * splices from the page cache into the reply without their bytes passing through Java, and bytes
 * and zeros from memory. Files are opened for direct I/O: a read goes to its pieces every time,
 * and its bytes are copied once, into the reader's buffer. SEEK_DATA and SEEK_HOLE are answered from the files' own holes ({@link
 * Files#seek}).
 *
 * <p>The mount is made by libfuse: as root directly, else through the fuse3 package's setuid
 * fusermount3, with {@code auto_unmount} where fusermount3 is there: fusermount3 stays beside this
 * process and unmounts when it dies, even by SIGKILL. It is private to the user who mounts it (no
 * allow_other), and read-only.
 */
public final class FuseMount implements AutoCloseable {
    /** The files of the mount. Called on many threads at once. */
    public interface Files {
        int count();

        String name(int file);

        long size(int file);

        /**
         * Reads [offset, offset + length) of {@code file}, clipped to its size, into {@code reply} in
         * order.
         */
        void read(int file, long offset, int length, Reply reply) throws IOException;

        /**
         * The first byte of data ({@code data}) or of a hole at or after {@code offset}, the end of
         * the file counting as a hole; -1 when there is no data after {@code offset}.
         */
        long seek(int file, long offset, boolean data) throws IOException;
    }

    /** Where the bytes of a read are; the pieces come in order. */
    public interface Reply {
        void bytes(byte[] data, int offset, int length);

        void file(OpenFile file, long offset, long length);

        void zeros(long length);
    }

    /** A mount that could not be made: one line naming the directory and saying why. */
    public static final class Refused extends IOException {
        Refused(Path dir, String why) {
            super(dir + ": cannot be mounted on: " + why);
        }
    }

    /** Told of a read that failed; the reader got EIO. */
    @FunctionalInterface
    public interface Failures {
        void failed(String file, long offset, Exception error);
    }

    // errno values the replies carry (include/uapi/asm-generic/errno-base.h)
    private static final int EIO = 5;
    private static final int EACCES = 13;
    private static final int ENOTDIR = 20;
    private static final int EISDIR = 21;
    private static final int EINVAL = Linux.EINVAL;
    private static final int ENOENT = Linux.ENOENT;
    private static final int ENXIO = Linux.ENXIO;
    private static final int EINTR = Linux.EINTR;
    private static final int ENOSYS = Linux.ENOSYS;

    private static final long ROOT_INODE = 1;
    private static final int S_IFDIR = 0040000;
    private static final int S_IFREG = 0100000;
    private static final int O_ACCMODE = 3;
    private static final int MNT_DETACH = 2;

    /** fuse_conn_info: max_read, capable and want (include/fuse_common.h). */
    private static final int CONN_MAX_READ = 12;
    private static final int CONN_CAPABLE = 20;
    private static final int CONN_WANT = 24;
    private static final int FUSE_CAP_SPLICE_WRITE = 1 << 7;
    private static final int FUSE_CAP_SPLICE_MOVE = 1 << 8;
    /** enum fuse_buf_flags and fuse_buf_copy_flags. */
    private static final int FUSE_BUF_IS_FD = 1 << 1;
    private static final int FUSE_BUF_FD_SEEK = 1 << 2;
    private static final int FUSE_BUF_SPLICE_MOVE = 1 << 3;
    /** struct fuse_lowlevel_ops up to lseek, the last operation used: 44 pointers. */
    private static final int OPERATIONS = 44;
    private static final int OP_INIT = 0;
    private static final int OP_LOOKUP = 2;
    private static final int OP_GETATTR = 4;
    private static final int OP_OPEN = 14;
    private static final int OP_READ = 15;
    private static final int OP_OPENDIR = 20;
    private static final int OP_READDIR = 21;
    private static final int OP_LSEEK = 43;
    /**
     * Room for struct fuse_buf as libfuse's receive function fills it: 40 bytes up to 3.16, 48
     * since 3.17 (mem_size), more in no release so far.
     */
    private static final int FUSE_BUF_ROOM = 128;
    /** Requests taken at once: gdb, jhsdb and the kernel's readahead overlap a few. */
    private static final int WORKERS = 4;
    /**
     * The largest read the kernel asks for, and the block size stat reports, which cat and stdio
     * read in: with direct I/O each read is one request, and reads of 512 KiB took cat through a
     * core in two thirds of the time of the page cache's 128 KiB readahead (docs/performance.md).
     * Larger would not fit libfuse's splice pipe (1 MiB for a user), and a reply that does not fit
     * is copied through memory malloc'd for it.
     */
    private static final int MAX_READ = 512 << 10;
    /** How long {@link #close} waits for the workers once the filesystem is detached. */
    private static final long DETACH_WAIT_SECONDS = 2;
    /** The kernel may keep what it read, and names and sizes, this long: the files never change. */
    private static final double TIMEOUT_SECONDS = 86_400;

    private final Path dir;
    private final Files files;
    private final Failures failures;
    private final Host host;
    private final Pointer session;
    private final Memory operations;
    private final List<Object> callbacks;
    private final List<Thread> workers = new ArrayList<>();
    private final Map<String, Integer> byName = new HashMap<>();
    private final long mountTime = System.currentTimeMillis() / 1000;
    private final int uid = LibC.getuid();
    private final int gid = LibC.getgid();
    private final byte[] directory;
    private final ThreadLocal<Scratch> scratch;
    private volatile boolean closed;

    /** What this host's libfuse and struct stat are like, decided once. */
    private record Host(StatLayout stat, int fuseBufSize, String fusermount, String version) {
    }

    private static final class State {
        static final String UNAVAILABLE;
        static final Host NATIVE;
        /** What libfuse logged lately: the reason of a failed mount. */
        static final StringBuilder LOG = new StringBuilder();
        static final LibFuse.LogFunction LOGGER = (level, format, arguments) -> {
            byte[] line = new byte[1024];
            int n = LibC.vsnprintf(line, new NativeLong(line.length), format, arguments);
            String text = new String(line, 0, Math.max(0, Math.min(n, line.length - 1)), StandardCharsets.UTF_8);
            synchronized (State.LOG) {
                State.LOG.append(text);
                if (State.LOG.length() > 4096) {
                    State.LOG.delete(0, State.LOG.length() - 4096);
                }
            }
        };

        static {
            String why = null;
            Host found = null;
            try {
                Optional<StatLayout> stat = StatLayout.of(System.getProperty("os.arch"));
                if (Linux.unavailable().isPresent()) {
                    why = "the native calls are unavailable (" + Linux.unavailable().get() + ")";
                } else if (!Linux.LONG_IS_64_BITS) {
                    why = "a 32-bit JVM cannot use libfuse here";
                } else if (stat.isEmpty()) {
                    why = "struct stat of " + System.getProperty("os.arch") + " is not known";
                } else {
                    String version;
                    try {
                        version = LibFuse.fuse_pkgversion();
                    } catch (LinkageError e) {
                        version = null;
                    }
                    String fusermount = fusermount();
                    if (version == null) {
                        why = "libfuse 3 is not installed (Debian, Ubuntu: apt-get install fuse3)";
                    } else if (!java.nio.file.Files.exists(Path.of("/dev/fuse"))) {
                        why = "/dev/fuse is missing: load the kernel's fuse module (modprobe fuse), or give a "
                                + "container the device (docker run --device /dev/fuse)";
                    } else if (fusermount == null && LibC.geteuid() != 0) {
                        why = "fusermount3 is not installed (Debian, Ubuntu: apt-get install fuse3)";
                    } else {
                        LibFuse.fuse_set_log_func(LOGGER);
                        found = new Host(stat.get(), fuseBufSize(version), fusermount, version);
                    }
                }
            } catch (LinkageError | RuntimeException e) {
                why = "libfuse 3 cannot be loaded (" + e.getMessage() + "; Debian, Ubuntu: apt-get install fuse3)";
            }
            UNAVAILABLE = why;
            NATIVE = found;
        }
    }

    /** Empty when FUSE mounts can be made here; else why not, and what to install. */
    public static Optional<String> unavailable() {
        return Optional.ofNullable(State.UNAVAILABLE);
    }

    private FuseMount(Path dir, Files files, Failures failures, Host host) {
        this.dir = dir;
        this.files = files;
        this.failures = failures;
        this.host = host;
        for (int i = 0; i < files.count(); i++) {
            byName.put(files.name(i), i);
        }
        this.directory = directoryEntries(files);
        this.scratch = ThreadLocal.withInitial(() -> new Scratch(host.fuseBufSize()));
        this.callbacks = List.of(
                (LibFuse.Init) this::init,
                (LibFuse.Lookup) this::lookup,
                (LibFuse.InodeOperation) this::getattr,
                (LibFuse.InodeOperation) this::open,
                (LibFuse.Read) this::read,
                (LibFuse.InodeOperation) this::opendir,
                (LibFuse.Read) this::readdir,
                (LibFuse.Seek) this::lseek);
        this.operations = new Memory((long) OPERATIONS * Native.POINTER_SIZE);
        operations.clear();
        int[] slots = {OP_INIT, OP_LOOKUP, OP_GETATTR, OP_OPEN, OP_READ, OP_OPENDIR, OP_READDIR, OP_LSEEK};
        for (int i = 0; i < slots.length; i++) {
            operations.setPointer((long) slots[i] * Native.POINTER_SIZE,
                    com.sun.jna.CallbackReference.getFunctionPointer((com.sun.jna.Callback) callbacks.get(i)));
        }
        this.session = newSession();
    }

    /**
     * Mounts {@code files} on {@code dir}, an existing directory, and serves them until {@link
     * #close} or an unmount from outside ({@code fusermount3 -u}); reads that fail are told to
     * {@code failures}. A mount that cannot be made is one {@link Refused} saying why.
     */
    public static FuseMount mount(Path dir, Files files, Failures failures) throws IOException {
        if (State.UNAVAILABLE != null) {
            throw new Refused(dir, State.UNAVAILABLE);
        }
        if (!java.nio.file.Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new Refused(dir, "it is not a directory");
        }
        var mount = new FuseMount(dir.toAbsolutePath(), files, failures, State.NATIVE);
        mount.attach();
        return mount;
    }

    public Path dir() {
        return dir;
    }

    private Pointer newSession() {
        List<String> argv = new ArrayList<>(List.of("criu2core", "-o",
                "ro,nosuid,nodev,noexec,default_permissions,fsname=criu2core,subtype=criu2core,max_read=" + MAX_READ
                        + (host.fusermount() != null ? ",auto_unmount" : "")));
        List<Memory> strings = new ArrayList<>();
        Memory array = new Memory((long) (argv.size() + 1) * Native.POINTER_SIZE);
        array.clear();
        for (int i = 0; i < argv.size(); i++) {
            byte[] bytes = argv.get(i).getBytes(StandardCharsets.UTF_8);
            Memory s = new Memory(bytes.length + 1);
            s.write(0, bytes, 0, bytes.length);
            s.setByte(bytes.length, (byte) 0);
            strings.add(s);
            array.setPointer((long) i * Native.POINTER_SIZE, s);
        }
        // struct fuse_args { int argc; char **argv; int allocated; }
        Memory args = new Memory(3L * Native.POINTER_SIZE);
        args.clear();
        args.setInt(0, argv.size());
        args.setPointer(Native.POINTER_SIZE, array);
        clearLog();
        Pointer se = LibFuse.fuse_session_new(args, operations, (long) OPERATIONS * Native.POINTER_SIZE, null);
        LibFuse.fuse_opt_free_args(args);
        if (se == null) {
            throw new IllegalStateException("libfuse " + host.version() + " refused the options " + argv + ": "
                    + log());
        }
        return se;
    }

    /** Mounts the session and starts the workers; undoes the session when the mount fails. */
    private void attach() throws IOException {
        clearLog();
        String errors;
        int result;
        try (var capture = new StderrCapture()) {
            result = LibFuse.fuse_session_mount(session, Linux.cString(dir.toString()));
            errors = capture.text();
        }
        if (result != 0) {
            LibFuse.fuse_session_destroy(session);
            String why = (log() + " " + errors).strip().replaceAll("\\s+", " ");
            throw new Refused(dir, (why.isEmpty() ? "libfuse says no more" : why) + (LibC.geteuid() != 0
                    ? " (a user's FUSE mounts need the setuid fusermount3 of the fuse3 package)" : ""));
        }
        for (int i = 0; i < WORKERS; i++) {
            Thread worker = new Thread(this::serve, "criu2core-fuse-" + i);
            worker.setDaemon(true);
            workers.add(worker);
        }
        workers.forEach(Thread::start);
    }

    /** One worker: takes requests until the session ends. */
    private void serve() {
        Memory buf = new Memory(FUSE_BUF_ROOM);
        buf.clear();
        try {
            while (LibFuse.fuse_session_exited(session) == 0) {
                int n = LibFuse.fuse_session_receive_buf(session, buf);
                if (n == -EINTR) {
                    continue;
                }
                if (n <= 0) {
                    // 0: unmounted (ENODEV); an error ends the whole session, as libfuse's loops do
                    LibFuse.fuse_session_exit(session);
                    break;
                }
                LibFuse.fuse_session_process_buf(session, buf);
            }
        } finally {
            // struct fuse_buf's mem, which libfuse allocated with malloc
            Pointer mem = buf.getPointer(16);
            if (mem != null) {
                Native.free(Pointer.nativeValue(mem));
            }
        }
    }

    /** Whether the filesystem is still mounted and served. */
    public boolean mounted() {
        return workers.stream().anyMatch(Thread::isAlive);
    }

    /** Waits until the filesystem is unmounted (from outside, or by {@link #close}). */
    public void await() throws InterruptedException {
        for (Thread worker : workers) {
            worker.join();
        }
    }

    /**
     * Unmounts (lazily: a debugger still reading keeps what it has open until it closes it) and
     * waits, bounded, for the workers; then frees the session. Safe to call more than once and from
     * a shutdown hook.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (mounted()) {
            LibFuse.fuse_session_exit(session);
            detach(dir);
        }
        // unmounted and not busy, the connection ends at once; a reader that keeps a file open
        // keeps it served (below), and a JVM that is exiting does not wait for it
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(DETACH_WAIT_SECONDS);
        try {
            for (Thread worker : workers) {
                worker.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!mounted()) {
            // the connection is gone: libfuse only closes its descriptor
            LibFuse.fuse_session_unmount(session);
            LibFuse.fuse_session_destroy(session);
        }
        // else a reader still holds a file of the detached mount; the workers serve it until it
        // closes it or this process ends
    }

    /**
     * Unmounts the FUSE filesystem at {@code dir} lazily: the kernel detaches it now and lets go
     * of it when the last file open in it is closed; a mount whose process died ("Transport
     * endpoint is not connected") goes at once. True when it was unmounted.
     */
    public static boolean detach(Path dir) {
        if (Linux.available() && LibC.geteuid() == 0) {
            return LibC.umount2(Linux.cString(dir.toString()), MNT_DETACH) == 0;
        }
        String fusermount = fusermount();
        if (fusermount == null) {
            return false;
        }
        try {
            var p = new ProcessBuilder(fusermount, "-u", "-q", "-z", "--", dir.toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(Cleanup.STOP_WAIT_SECONDS, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** fusermount3 where libfuse looks for it: /usr/bin (Debian's), /bin, then PATH. */
    private static String fusermount() {
        List<String> dirs = new ArrayList<>(List.of("/usr/bin", "/bin"));
        dirs.addAll(List.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
        for (String d : dirs) {
            if (!d.isEmpty() && java.nio.file.Files.isExecutable(Path.of(d, "fusermount3"))) {
                return Path.of(d, "fusermount3").toString();
            }
        }
        return null;
    }

    // ---- the operations, called by libfuse on the workers ----

    private void init(Pointer userdata, Pointer connection) {
        // splice the pieces' file runs into the reply: their bytes never reach this process
        int capable = connection.getInt(CONN_CAPABLE);
        int want = connection.getInt(CONN_WANT);
        connection.setInt(CONN_WANT, want | (capable & (FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE)));
        // as the max_read mount option says: libfuse refuses a mount whose two differ
        connection.setInt(CONN_MAX_READ, MAX_READ);
    }

    private void lookup(Pointer req, long parent, Pointer name) {
        try {
            if (parent != ROOT_INODE) {
                LibFuse.fuse_reply_err(req, ENOTDIR);
                return;
            }
            Integer file = byName.get(name.getString(0, "UTF-8"));
            if (file == null) {
                LibFuse.fuse_reply_err(req, ENOENT);
                return;
            }
            Scratch s = scratch.get();
            StatLayout layout = host.stat();
            s.entry.clear();
            s.entry.setLong(0, inode(file));
            fillStat(s.entry.share(16), inode(file));
            s.entry.setDouble(16 + layout.structSize(), TIMEOUT_SECONDS);
            s.entry.setDouble(24 + layout.structSize(), TIMEOUT_SECONDS);
            LibFuse.fuse_reply_entry(req, s.entry);
        } catch (RuntimeException | Error e) {
            failed(req, name == null ? "?" : "lookup", 0, e);
        }
    }

    private void getattr(Pointer req, long inode, Pointer fileInfo) {
        try {
            if (inode != ROOT_INODE && file(inode) < 0) {
                LibFuse.fuse_reply_err(req, ENOENT);
                return;
            }
            Scratch s = scratch.get();
            s.stat.clear();
            fillStat(s.stat, inode);
            LibFuse.fuse_reply_attr(req, s.stat, TIMEOUT_SECONDS);
        } catch (RuntimeException | Error e) {
            failed(req, "getattr", 0, e);
        }
    }

    private void open(Pointer req, long inode, Pointer fileInfo) {
        if (inode == ROOT_INODE) {
            LibFuse.fuse_reply_err(req, EISDIR);
            return;
        }
        if (file(inode) < 0) {
            LibFuse.fuse_reply_err(req, ENOENT);
            return;
        }
        if ((fileInfo.getInt(0) & O_ACCMODE) != 0) {
            LibFuse.fuse_reply_err(req, EACCES);
            return;
        }
        // direct_io and keep_cache, the second and third bits of the bit fields after flags. Direct
        // I/O: each read goes to the pieces and is spliced into the reader's buffer, one copy where
        // the page cache would make two (and hold a second copy of what was read); what a reader
        // maps privately still goes through the page cache, which keep_cache keeps between opens
        int bits = fileInfo.getInt(4);
        fileInfo.setInt(4, bits | (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? 1 << 1 | 1 << 2
                : 1 << 30 | 1 << 29));
        LibFuse.fuse_reply_open(req, fileInfo);
    }

    private void opendir(Pointer req, long inode, Pointer fileInfo) {
        if (inode != ROOT_INODE) {
            LibFuse.fuse_reply_err(req, ENOTDIR);
            return;
        }
        LibFuse.fuse_reply_open(req, fileInfo);
    }

    private void read(Pointer req, long inode, long size, long offset, Pointer fileInfo) {
        int file = file(inode);
        if (file < 0) {
            LibFuse.fuse_reply_err(req, ENOENT);
            return;
        }
        try {
            Scratch s = scratch.get();
            int length = (int) Math.max(0, Math.min(size, Math.max(0, files.size(file) - offset)));
            s.start(length);
            if (length > 0) {
                files.read(file, offset, length, s);
            }
            if (s.total != length) {
                throw new IllegalStateException("read of " + length + " bytes at " + offset + " gave " + s.total);
            }
            if (s.count == 0) {
                LibFuse.fuse_reply_buf(req, null, 0);
            } else {
                s.vec.setLong(0, s.count);
                LibFuse.fuse_reply_data(req, s.vec, FUSE_BUF_SPLICE_MOVE);
            }
        } catch (IOException | RuntimeException | Error e) {
            failed(req, files.name(file), offset, e);
        }
    }

    private void readdir(Pointer req, long inode, long size, long offset, Pointer fileInfo) {
        if (inode != ROOT_INODE) {
            LibFuse.fuse_reply_err(req, ENOTDIR);
            return;
        }
        // offset is the cookie of the entry to start at: the position of its bytes
        if (offset < 0 || offset > directory.length) {
            LibFuse.fuse_reply_err(req, EINVAL);
            return;
        }
        int end = (int) offset;
        while (end < directory.length) {
            int next = (int) direntNext(end);
            if (next - offset > size) {
                break;
            }
            end = next;
        }
        int n = (int) (end - offset);
        if (n == 0) {
            LibFuse.fuse_reply_buf(req, null, 0);
            return;
        }
        Memory out = new Memory(n);
        out.write(0, directory, (int) offset, n);
        LibFuse.fuse_reply_buf(req, out, n);
    }

    private void lseek(Pointer req, long inode, long offset, int whence, Pointer fileInfo) {
        int file = file(inode);
        if (file < 0) {
            LibFuse.fuse_reply_err(req, ENOENT);
            return;
        }
        if (whence != Linux.SEEK_DATA && whence != Linux.SEEK_HOLE) {
            LibFuse.fuse_reply_err(req, ENOSYS);
            return;
        }
        try {
            long at = offset >= files.size(file) ? -1 : files.seek(file, offset, whence == Linux.SEEK_DATA);
            if (at < 0) {
                LibFuse.fuse_reply_err(req, ENXIO);
            } else {
                LibFuse.fuse_reply_lseek(req, at);
            }
        } catch (IOException | RuntimeException | Error e) {
            failed(req, files.name(file), offset, e);
        }
    }

    private void failed(Pointer req, String file, long offset, Throwable e) {
        LibFuse.fuse_reply_err(req, EIO);
        if (e instanceof Error error && !(e instanceof OutOfMemoryError)) {
            throw error;
        }
        failures.failed(file, offset, e instanceof Exception x ? x : new IllegalStateException(e));
    }

    private static long inode(int file) {
        return file + 2L;
    }

    private int file(long inode) {
        return inode >= 2 && inode - 2 < files.count() ? (int) (inode - 2) : -1;
    }

    private void fillStat(Pointer stat, long inode) {
        StatLayout l = host.stat();
        boolean root = inode == ROOT_INODE;
        long size = root ? 0 : files.size(file(inode));
        stat.setLong(l.ino(), inode);
        if (l.wideNlink()) {
            stat.setLong(l.nlink(), root ? 2 : 1);
        } else {
            stat.setInt(l.nlink(), root ? 2 : 1);
        }
        // private to the user who mounted it, as the cores convert writes
        stat.setInt(l.mode(), root ? S_IFDIR | 0500 : S_IFREG | 0400);
        stat.setInt(l.uid(), uid);
        stat.setInt(l.gid(), gid);
        stat.setLong(l.sizeField(), size);
        if (l.wideBlksize()) {
            stat.setLong(l.blksize(), MAX_READ);
        } else {
            stat.setInt(l.blksize(), MAX_READ);
        }
        // as many 512-byte blocks as a file of this size that had no holes: the mount takes no
        // disk at all, but 0 blocks would tell tar --sparse the file is all holes
        stat.setLong(l.blocks(), (size + 511) / 512);
        for (int time : new int[] {l.atime(), l.mtime(), l.ctime()}) {
            stat.setLong(time, mountTime);
        }
    }

    /**
     * The directory as struct fuse_dirent records (include/uapi/linux/fuse.h: ino, off, namelen,
     * type, name, padded to 8 bytes), ".", ".." and the files; each record's off is where the next
     * begins, the cookie readdir continues from.
     */
    private static byte[] directoryEntries(Files files) {
        List<String> names = new ArrayList<>(List.of(".", ".."));
        List<Long> inodes = new ArrayList<>(List.of(ROOT_INODE, ROOT_INODE));
        for (int i = 0; i < files.count(); i++) {
            names.add(files.name(i));
            inodes.add(inode(i));
        }
        var out = new java.io.ByteArrayOutputStream();
        var buffer = java.nio.ByteBuffer.allocate(24 + 256).order(ByteOrder.nativeOrder());
        long position = 0;
        for (int i = 0; i < names.size(); i++) {
            byte[] name = names.get(i).getBytes(StandardCharsets.UTF_8);
            int size = (24 + name.length + 7) & ~7;
            buffer.clear();
            buffer.putLong(inodes.get(i)).putLong(position + size).putInt(name.length)
                    .putInt(i < 2 ? S_IFDIR >> 12 : S_IFREG >> 12).put(name);
            while (buffer.position() < size) {
                buffer.put((byte) 0);
            }
            out.write(buffer.array(), 0, size);
            position += size;
        }
        return out.toByteArray();
    }

    private long direntNext(int at) {
        return java.nio.ByteBuffer.wrap(directory, at + 8, 8).order(ByteOrder.nativeOrder()).getLong();
    }

    /** libfuse's struct fuse_buf size: 3.17 added mem_size. */
    private static int fuseBufSize(String version) {
        String[] parts = version.split("\\.");
        int major = parts.length > 0 && parts[0].matches("\\d+") ? Integer.parseInt(parts[0]) : 3;
        int minor = parts.length > 1 && parts[1].matches("\\d+") ? Integer.parseInt(parts[1]) : 0;
        return major > 3 || minor >= 17 ? 48 : 40;
    }

    private static void clearLog() {
        synchronized (State.LOG) {
            State.LOG.setLength(0);
        }
    }

    private static String log() {
        synchronized (State.LOG) {
            return State.LOG.toString().strip();
        }
    }

    /**
     * One worker's memory for replies: a struct fuse_bufvec whose pieces point to open files, to
     * the shared zeros and to bytes staged here, grown as requests need.
     */
    private static final class Scratch implements Reply {
        /** Zeros that hole pieces point to; longer holes take several pieces. */
        private static final Memory ZEROS = zeros();
        // struct fuse_buf: size, flags, mem, fd, pos (then mem_size since 3.17)
        private static final int SIZE = 0;
        private static final int FLAGS = 8;
        private static final int MEM = 16;
        private static final int FD = 24;
        private static final int POS = 32;
        /** struct fuse_bufvec: count, idx, off, then the bufs. */
        private static final int BUFS = 24;

        private final int stride;
        final Memory entry = new Memory(32 + 256);
        final Memory stat = new Memory(256);
        Memory vec;
        int capacity;
        int count;
        long total;
        private Memory staging = new Memory(64 << 10);
        private long staged;
        /** Kind of the last piece: 0 none, 1 file, 2 zeros, 3 bytes; and the file's descriptor. */
        private int lastKind;
        private int lastFd;

        Scratch(int stride) {
            this.stride = stride;
            grow(64);
        }

        private static Memory zeros() {
            Memory m = new Memory(1 << 20);
            m.clear();
            return m;
        }

        void start(int length) {
            if (staging.size() < length) {
                staging = new Memory(Math.max(length, staging.size() * 2));
            }
            vec.clear(BUFS);
            count = 0;
            total = 0;
            staged = 0;
            lastKind = 0;
        }

        private void grow(int n) {
            Memory bigger = new Memory(BUFS + (long) n * stride);
            bigger.clear();
            if (vec != null) {
                bigger.write(0, vec.getByteArray(0, (int) (BUFS + (long) count * stride)), 0,
                        (int) (BUFS + (long) count * stride));
            }
            vec = bigger;
            capacity = n;
        }

        private long next() {
            if (count == capacity) {
                grow(capacity * 2);
            }
            long at = BUFS + (long) count * stride;
            count++;
            return at;
        }

        private long last() {
            return BUFS + (long) (count - 1) * stride;
        }

        @Override
        public void bytes(byte[] data, int offset, int length) {
            if (length == 0) {
                return;
            }
            staging.write(staged, data, offset, length);
            if (lastKind == 3) {
                vec.setLong(last() + SIZE, vec.getLong(last() + SIZE) + length);
            } else {
                long at = next();
                vec.setLong(at + SIZE, length);
                vec.setInt(at + FLAGS, 0);
                vec.setPointer(at + MEM, staging.share(staged));
                lastKind = 3;
            }
            staged += length;
            total += length;
        }

        @Override
        public void file(OpenFile file, long offset, long length) {
            if (length == 0) {
                return;
            }
            int fd = file.fd();
            long at;
            if (lastKind == 1 && lastFd == fd
                    && vec.getLong(last() + POS) + vec.getLong(last() + SIZE) == offset) {
                vec.setLong(last() + SIZE, vec.getLong(last() + SIZE) + length);
            } else {
                at = next();
                vec.setLong(at + SIZE, length);
                vec.setInt(at + FLAGS, FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
                vec.setInt(at + FD, fd);
                vec.setLong(at + POS, offset);
                lastKind = 1;
                lastFd = fd;
            }
            total += length;
        }

        @Override
        public void zeros(long length) {
            while (length > 0) {
                long n = length;
                if (lastKind == 2 && vec.getLong(last() + SIZE) < ZEROS.size()) {
                    n = Math.min(length, ZEROS.size() - vec.getLong(last() + SIZE));
                    vec.setLong(last() + SIZE, vec.getLong(last() + SIZE) + n);
                } else {
                    n = Math.min(length, ZEROS.size());
                    long at = next();
                    vec.setLong(at + SIZE, n);
                    vec.setInt(at + FLAGS, 0);
                    vec.setPointer(at + MEM, ZEROS);
                    lastKind = 2;
                }
                length -= n;
                total += n;
            }
        }
    }

    /** Redirects this process's standard error into a temporary file while a mount is made. */
    private static final class StderrCapture implements AutoCloseable {
        private final int saved;
        private final OpenFile file;
        private boolean restored;

        StderrCapture() throws IOException {
            Path tmp = java.nio.file.Files.createTempFile("criu2core-fuse-", ".err");
            try {
                file = OpenFile.openForWriting(tmp, tmp.toString());
            } finally {
                java.nio.file.Files.deleteIfExists(tmp);
            }
            System.err.flush();
            saved = LibC.dup(Linux.STDERR);
            if (saved < 0 || LibC.dup2(file.fd(), Linux.STDERR) < 0) {
                restored = true;
            }
        }

        /** What was written meanwhile; restores standard error first. */
        String text() throws IOException {
            restore();
            long size = file.size();
            var buffer = java.nio.ByteBuffer.allocate((int) Math.min(size, 4096));
            try (var channel = java.nio.channels.FileChannel.open(Path.of("/proc/self/fd/" + file.fd()),
                    java.nio.file.StandardOpenOption.READ)) {
                channel.read(buffer, 0);
            }
            return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
        }

        private void restore() {
            if (!restored) {
                LibC.dup2(saved, Linux.STDERR);
                LibC.close(saved);
                restored = true;
            }
        }

        @Override
        public void close() throws IOException {
            restore();
            file.close();
        }
    }

    /**
     * Where the fields of struct stat are in this host's C library, which differs between
     * architectures (glibc's bits/struct_stat.h; musl's agree): offsets, and whether st_nlink and
     * st_blksize take 8 bytes or 4.
     */
    record StatLayout(int structSize, int ino, int nlink, boolean wideNlink, int mode, int uid, int gid, int sizeField,
                      int blksize, boolean wideBlksize, int blocks, int atime, int mtime, int ctime) {
        /** x86_64, ppc64: st_nlink before st_mode, 8 bytes each for st_nlink and st_blksize. */
        static final StatLayout X86_64 = new StatLayout(144, 8, 16, true, 24, 28, 32, 48, 56, true, 64, 72, 88, 104);
        /** s390x: as x86_64, but the times before st_blksize and st_blocks. */
        static final StatLayout S390X = new StatLayout(144, 8, 16, true, 24, 28, 32, 48, 104, true, 112, 56, 72, 88);
        /** asm-generic (aarch64, riscv64, loongarch64): st_mode before a 4-byte st_nlink. */
        static final StatLayout GENERIC = new StatLayout(128, 8, 20, false, 16, 24, 28, 48, 56, false, 64, 72, 88, 104);

        static Optional<StatLayout> of(String osArch) {
            return switch (osArch) {
                case "amd64", "x86_64", "ppc64le", "ppc64" -> Optional.of(X86_64);
                case "s390x" -> Optional.of(S390X);
                case "aarch64", "riscv64", "loongarch64" -> Optional.of(GENERIC);
                default -> Optional.empty();
            };
        }
    }
}
