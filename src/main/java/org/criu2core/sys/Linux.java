package org.criu2core.sys;

import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * The Linux system calls Java lacks, as criu2core uses them: opening a name inside a directory
 * without leaving it (openat2 RESOLVE_IN_ROOT), opening without following a link or blocking on a
 * FIFO, finding a file's holes (SEEK_DATA, SEEK_HOLE), copying between files in the kernel, which
 * shares the blocks where the filesystem can (copy_file_range), and a descriptor's file type and
 * size (statx). These are the host's calls: their flag values are the host architecture's, not
 * the checkpoint's.
 *
 * <p>Where JNA cannot load its stub (an architecture it has none for, no writable temporary
 * folder) or /proc is not mounted, {@link #unavailable()} says why and callers fall back to what
 * Java can do.
 */
public final class Linux {
    private Linux() {
    }

    // errno values: include/uapi/asm-generic/errno-base.h and errno.h, the same on every
    // architecture below
    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int EINTR = 4;
    static final int ENXIO = 6;
    static final int E2BIG = 7;
    static final int EAGAIN = 11;
    static final int EXDEV = 18;
    static final int EINVAL = 22;
    static final int ENOSYS = 38;
    static final int EOPNOTSUPP = 95;

    static final int AT_FDCWD = -100;
    static final int AT_SYMLINK_NOFOLLOW = 0x100;
    static final int AT_EMPTY_PATH = 0x1000;

    static final int O_RDONLY = 0;
    static final int O_WRONLY = 1;

    /** lseek whence (include/uapi/linux/fs.h). */
    static final int SEEK_DATA = 3;
    static final int SEEK_HOLE = 4;

    /** openat2 is 437 on every architecture: it came after the syscall tables were unified. */
    static final long SYS_OPENAT2 = 437;
    /** struct open_how.resolve (include/uapi/linux/openat2.h). */
    static final long RESOLVE_NO_MAGICLINKS = 0x02;
    static final long RESOLVE_IN_ROOT = 0x10;

    /**
     * The open flags whose values differ between architectures (include/uapi/asm-generic/fcntl.h,
     * arch/{arm,arm64,powerpc}/include/uapi/asm/fcntl.h).
     */
    record OpenFlags(int nonblock, int noctty, int directory, int nofollow, int cloexec, int path) {
        static final OpenFlags GENERIC = new OpenFlags(04000, 0400, 0200000, 0400000, 02000000, 010000000);
        static final OpenFlags ARM_POWERPC = new OpenFlags(04000, 0400, 040000, 0100000, 02000000, 010000000);

        static Optional<OpenFlags> of(String osArch) {
            return switch (osArch) {
                case "amd64", "x86_64", "x86", "i386", "i486", "i586", "i686", "s390x", "riscv64", "loongarch64" ->
                        Optional.of(GENERIC);
                case "aarch64", "arm", "armv7l", "armhf", "ppc64le", "ppc64", "ppc" -> Optional.of(ARM_POWERPC);
                default -> Optional.empty();
            };
        }
    }

    /** -Dcriu2core.native=false does without the native calls, as where JNA cannot load. */
    public static final String PROPERTY = "criu2core.native";

    /** Whether the calls work here, decided once. */
    private static final class State {
        static final String UNAVAILABLE;
        static final OpenFlags FLAGS;

        static {
            String why = null;
            OpenFlags flags = null;
            try {
                flags = OpenFlags.of(System.getProperty("os.arch")).orElse(null);
                if ("false".equals(System.getProperty(PROPERTY))) {
                    why = "turned off by -D" + PROPERTY + "=false";
                } else if (!"Linux".equals(System.getProperty("os.name"))) {
                    why = "not Linux";
                } else if (flags == null) {
                    why = "open flags of " + System.getProperty("os.arch") + " are not known";
                } else if (!Files.isDirectory(Path.of("/proc/self/fd"))) {
                    why = "/proc is not mounted";
                } else {
                    LibC.close(-1); // loads JNA and binds every function, or fails here
                }
            } catch (LinkageError | RuntimeException e) {
                why = "JNA: " + e.getMessage();
            }
            UNAVAILABLE = why;
            FLAGS = flags;
        }
    }

    /** Empty when the native calls work; else why they do not. */
    public static Optional<String> unavailable() {
        return Optional.ofNullable(State.UNAVAILABLE);
    }

    /** File descriptor 2. */
    public static final int STDERR = 2;

    /**
     * Whether file descriptor {@code fd} is a terminal: isatty(3) where the native calls work;
     * else whether Java has a console (standard input and output are terminals), which on JDK 22
     * and later looks through every module's console providers: 15 ms of a start.
     */
    public static boolean isTerminal(int fd) {
        return available() ? LibC.isatty(fd) == 1 : System.console() != null;
    }

    static boolean available() {
        return State.UNAVAILABLE == null;
    }

    static OpenFlags flags() {
        return State.FLAGS;
    }

    /** The errno of the last call on this thread. */
    static int errno() {
        return Native.getLastError();
    }

    /** A path for a call: its bytes and a NUL. */
    static byte[] cString(String path) {
        byte[] bytes = path.getBytes(StandardCharsets.UTF_8);
        return Arrays.copyOf(bytes, bytes.length + 1);
    }

    /**
     * Whether C's long, size_t and ssize_t are 64 bits, as on every 64-bit Linux: calls whose
     * speed matters take them as Java longs only there, and are not made on a 32-bit JVM.
     */
    static final boolean LONG_IS_64_BITS = Native.LONG_SIZE == 8 && Native.SIZE_T_SIZE == 8;

    static NativeLong nativeLong(long value) {
        return new NativeLong(value);
    }

    /** strerror for the errno values these calls give, for messages. */
    static String describe(int errno) {
        return switch (errno) {
            case EPERM -> "operation not permitted";
            case ENOENT -> "no such file or directory";
            case 5 -> "input/output error";
            case 9 -> "bad file descriptor";
            case 13 -> "permission denied";
            case 20 -> "not a directory";
            case 21 -> "is a directory";
            case 27 -> "file too large";
            case 28 -> "no space left on device";
            case 36 -> "file name too long";
            case 40 -> "too many levels of symbolic links";
            case 122 -> "disk quota exceeded";
            default -> "errno " + errno;
        };
    }
}
