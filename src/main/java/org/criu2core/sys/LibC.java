package org.criu2core.sys;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;

/**
 * The C library functions criu2core calls that Java has no API for, bound once by JNA's direct
 * mapping (no proxy, no reflection per call). Each returns -1 on failure and leaves errno for
 * {@link Native#getLastError()}. Paths are NUL-terminated bytes: file names are bytes on Linux,
 * not text.
 */
final class LibC {
    static {
        // the process's own symbols, which include the C library's: no search for a file named
        // libc.so (which only development packages install), so no library path is needed
        Native.register(NativeLibrary.getProcess());
    }

    private LibC() {
    }

    // int openat(int dirfd, const char *pathname, int flags, mode_t mode);
    static native int openat(int dirfd, byte[] path, int flags, int mode);

    // long syscall(long number, ...): openat2(int dirfd, const char *path, struct open_how *how, size_t size)
    static native NativeLong syscall(NativeLong number, int dirfd, byte[] path, long[] how, NativeLong size);

    // int isatty(int fd);
    static native int isatty(int fd);

    // int close(int fd);
    static native int close(int fd);

    // off64_t lseek64(int fd, off64_t offset, int whence);
    static native long lseek64(int fd, long offset, int whence);

    // ssize_t copy_file_range(int fd_in, off64_t *off_in, int fd_out, off64_t *off_out, size_t len, unsigned flags);
    // size_t and ssize_t as Java longs, which they are only where C's long is 64 bits
    // (Linux.LONG_IS_64_BITS): a NativeLong costs each call a conversion through reflection
    // and calls back into Java, 5 µs, which for a core of 40 000 page runs was 0.2 s
    static native long copy_file_range(int fdIn, long[] offIn, int fdOut, long[] offOut, long len, int flags);

    // int statx(int dirfd, const char *pathname, int flags, unsigned int mask, struct statx *statxbuf);
    static native int statx(int dirfd, byte[] path, int flags, int mask, byte[] statx);

    // int ioctl(int fd, unsigned long request, void *arg);
    static native int ioctl(int fd, NativeLong request, byte[] arg);

    // ssize_t readlinkat(int dirfd, const char *pathname, char *buf, size_t bufsiz);
    static native NativeLong readlinkat(int dirfd, byte[] path, byte[] buf, NativeLong size);

    // uid_t getuid(void); gid_t getgid(void); uid_t geteuid(void);
    static native int getuid();

    static native int getgid();

    static native int geteuid();

    // int dup(int oldfd); int dup2(int oldfd, int newfd);
    static native int dup(int fd);

    static native int dup2(int from, int to);

    // int umount2(const char *target, int flags);
    static native int umount2(byte[] target, int flags);

    // int vsnprintf(char *str, size_t size, const char *format, va_list ap): va_list reaches a
    // callback as one word on every Linux ABI (a pointer, or a struct passed by reference), and
    // is passed on as it came
    static native int vsnprintf(byte[] out, NativeLong size, Pointer format, Pointer arguments);
}
