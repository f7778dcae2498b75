package org.criu2core.sys;

import static org.criu2core.sys.Linux.AT_FDCWD;
import static org.criu2core.sys.Linux.E2BIG;
import static org.criu2core.sys.Linux.EAGAIN;
import static org.criu2core.sys.Linux.EINTR;
import static org.criu2core.sys.Linux.ENOSYS;
import static org.criu2core.sys.Linux.EPERM;
import static org.criu2core.sys.Linux.O_RDONLY;
import static org.criu2core.sys.Linux.RESOLVE_IN_ROOT;
import static org.criu2core.sys.Linux.RESOLVE_NO_MAGICLINKS;
import static org.criu2core.sys.Linux.SYS_OPENAT2;

import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;

/**
 * A directory that names are looked up in as if it were /, as a chroot would: "..", absolute
 * names and symbolic links never lead out of it. The directory is held open, and each lookup
 * happens in the kernel against that descriptor (openat2 with RESOLVE_IN_ROOT, Linux 5.6), so
 * swapping a folder for a link while criu2core reads does not lead it outside either. Where
 * openat2 is missing the lookup walks one component at a time with O_NOFOLLOW; without native
 * calls at all it resolves names in Java, which a concurrent swap can race.
 */
public final class RootDirectory implements Closeable {
    /** Linux's MAXSYMLINKS. */
    static final int MAX_SYMLINKS = 40;
    /** PATH_MAX: the kernel refuses longer names. */
    static final int PATH_MAX = 4096;
    /** Components one walk looks at, links' included: far beyond any real name, and a bound on crafted ones. */
    static final int MAX_COMPONENTS = 1024;

    private final Path path;
    private final int fd;
    private volatile boolean noOpenat2;

    private RootDirectory(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    /** {@code dir}, held open; it must be a directory. */
    public static RootDirectory open(Path dir) throws IOException {
        Path real = dir.toRealPath();
        if (!Files.isDirectory(real)) {
            throw new FileException(dir.toString(), "is not a directory");
        }
        if (!Linux.available()) {
            return new RootDirectory(real, -1);
        }
        var flags = Linux.flags();
        int fd = LibC.openat(AT_FDCWD, Linux.cString(real.toString()),
                O_RDONLY | flags.path() | flags.directory() | flags.cloexec(), 0);
        if (fd < 0) {
            throw new FileException(dir.toString(), "cannot be opened: " + Linux.describe(Linux.errno()));
        }
        return new RootDirectory(real, fd);
    }

    public Path path() {
        return path;
    }

    /**
     * The regular file at {@code name} inside this directory, opened for reading without blocking
     * (a FIFO put there is not a file); empty when there is none, the name is a directory, a
     * device or anything else, or it cannot be read. {@code display} names it in later errors.
     */
    public Optional<OpenFile> open(String name, String display) throws IOException {
        if (name.length() >= PATH_MAX) {
            return Optional.empty();
        }
        if (fd < 0) {
            Optional<Path> file = resolveInJava(name);
            if (file.isEmpty()) {
                return Optional.empty();
            }
            try {
                return Optional.of(OpenFile.openRegular(file.get(), display));
            } catch (FileException e) {
                return Optional.empty();
            }
        }
        if (!noOpenat2) {
            var flags = Linux.flags();
            // struct open_how { __u64 flags; __u64 mode; __u64 resolve; }
            long[] how = {O_RDONLY | flags.nonblock() | flags.noctty() | flags.cloexec(), 0,
                    RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
            while (true) {
                int file = LibC.syscall(Linux.nativeLong(SYS_OPENAT2), fd, Linux.cString(name), how,
                        Linux.nativeLong(8 * how.length)).intValue();
                if (file >= 0) {
                    return OpenFile.adopt(file, display);
                }
                int errno = Linux.errno();
                if (errno == EINTR || errno == EAGAIN) { // EAGAIN: a rename raced the lookup
                    continue;
                }
                if (errno != ENOSYS && errno != EPERM && errno != E2BIG) {
                    return Optional.empty();
                }
                // before Linux 5.6, or a seccomp filter that refuses calls it does not know
                noOpenat2 = true;
                break;
            }
        }
        return walk(name, display);
    }

    /**
     * Where {@code name} leads inside this directory, every link followed as under chroot (the
     * last one too): its real path, which is this directory or below it; empty when nothing is
     * there. openat2 resolves it in the kernel and /proc/self/fd says where it landed; where
     * openat2 is missing the names are resolved in Java, which a concurrent swap can race: use it
     * on trees that only this process writes (the roots it builds).
     */
    public Optional<Path> resolve(String name) throws IOException {
        if (name.length() >= PATH_MAX) {
            return Optional.empty();
        }
        if (fd >= 0 && !noOpenat2) {
            var flags = Linux.flags();
            long[] how = {flags.path() | flags.cloexec(), 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
            while (true) {
                int file = LibC.syscall(Linux.nativeLong(SYS_OPENAT2), fd, Linux.cString(name), how,
                        Linux.nativeLong(8 * how.length)).intValue();
                if (file >= 0) {
                    try {
                        Path real = Files.readSymbolicLink(Path.of("/proc/self/fd/" + file));
                        return real.startsWith(path) ? Optional.of(real) : Optional.empty();
                    } finally {
                        LibC.close(file);
                    }
                }
                int errno = Linux.errno();
                if (errno == EINTR || errno == EAGAIN) {
                    continue;
                }
                if (errno != ENOSYS && errno != EPERM && errno != E2BIG) {
                    return Optional.empty();
                }
                noOpenat2 = true;
                break;
            }
        }
        return resolveInJava(name);
    }

    /** The lookup openat2 does, one component at a time: each opened O_PATH | O_NOFOLLOW from its parent. */
    private Optional<OpenFile> walk(String name, String display) throws IOException {
        var flags = Linux.flags();
        Deque<String> todo = new ArrayDeque<>();
        push(todo, name);
        // the directories walked into, each held open: ".." goes back to the one before, never above the root
        Deque<Integer> dirs = new ArrayDeque<>();
        int links = 0;
        int components = 0;
        try {
            while (!todo.isEmpty()) {
                String component = todo.pop();
                if (component.isEmpty() || component.equals(".")) {
                    continue;
                }
                if (component.equals("..")) {
                    if (!dirs.isEmpty()) {
                        LibC.close(dirs.pop());
                    }
                    continue;
                }
                if (++components > MAX_COMPONENTS) {
                    return Optional.empty();
                }
                int parent = dirs.isEmpty() ? fd : dirs.peek();
                int next = LibC.openat(parent, Linux.cString(component), O_RDONLY | flags.path() | flags.nofollow()
                        | flags.cloexec(), 0);
                if (next < 0) {
                    return Optional.empty();
                }
                FileStatus status = OpenFile.status(next, display);
                if (status.symbolicLink()) {
                    String target = readLink(next);
                    LibC.close(next);
                    if (target == null || ++links > MAX_SYMLINKS) {
                        return Optional.empty();
                    }
                    push(todo, target);
                    if (target.startsWith("/")) {
                        closeAll(dirs);
                    }
                    continue;
                }
                if (todo.stream().allMatch(c -> c.isEmpty() || c.equals("."))) {
                    LibC.close(next);
                    if (!status.regular()) {
                        return Optional.empty();
                    }
                    int file = LibC.openat(parent, Linux.cString(component), O_RDONLY | flags.nofollow()
                            | flags.nonblock() | flags.noctty() | flags.cloexec(), 0);
                    return file < 0 ? Optional.empty() : OpenFile.adopt(file, display);
                }
                if (!status.directory()) {
                    LibC.close(next);
                    return Optional.empty();
                }
                dirs.push(next);
            }
            return Optional.empty(); // the name was the root itself
        } finally {
            closeAll(dirs);
        }
    }

    private static String readLink(int fd) {
        byte[] buf = new byte[PATH_MAX];
        long n = LibC.readlinkat(fd, new byte[1], buf, Linux.nativeLong(buf.length)).longValue();
        return n < 0 || n >= buf.length ? null : new String(buf, 0, (int) n, StandardCharsets.UTF_8);
    }

    private static void closeAll(Deque<Integer> dirs) {
        while (!dirs.isEmpty()) {
            LibC.close(dirs.pop());
        }
    }

    /** Without native calls: the same walk by names, which a concurrent swap can race. */
    Optional<Path> resolveInJava(String name) {
        Deque<String> todo = new ArrayDeque<>();
        push(todo, name);
        Path current = path;
        int links = 0;
        int components = 0;
        while (!todo.isEmpty()) {
            String component = todo.pop();
            if (component.isEmpty() || component.equals(".")) {
                continue;
            }
            if (component.equals("..")) {
                if (!current.equals(path)) {
                    current = current.getParent();
                }
                continue;
            }
            if (++components > MAX_COMPONENTS) {
                return Optional.empty();
            }
            Path next = current.resolve(component);
            if (Files.isSymbolicLink(next)) {
                if (++links > MAX_SYMLINKS) {
                    return Optional.empty();
                }
                String target;
                try {
                    target = Files.readSymbolicLink(next).toString();
                } catch (IOException e) {
                    return Optional.empty();
                }
                push(todo, target);
                if (target.startsWith("/")) {
                    current = path;
                }
                continue;
            }
            if (!Files.exists(next, LinkOption.NOFOLLOW_LINKS)) {
                return Optional.empty();
            }
            current = next;
        }
        return Optional.of(current);
    }

    private static void push(Deque<String> todo, String name) {
        String[] parts = name.split("/");
        for (int i = parts.length - 1; i >= 0; i--) {
            todo.push(parts[i]);
        }
    }

    @Override
    public void close() {
        if (fd >= 0) {
            LibC.close(fd);
        }
    }

    /** Looks names up as on kernels before 5.6, which have no openat2: for tests. */
    RootDirectory withoutOpenat2() {
        noOpenat2 = true;
        return this;
    }
}
