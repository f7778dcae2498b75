package org.criu2core.container;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.criu2core.sys.Cleanup;

/**
 * Built roots, one folder per key ({@code roots/KEY/root}), kept under the user's cache folder
 * and reused by later commands. A root is built under a temporary name and renamed when complete,
 * so a folder named {@code root} is always whole. While a command uses a root it holds a shared
 * lock on its folder's {@code .lock}, and building takes it exclusively; removal (trimming to the
 * cache's bound, least recently used first) takes only roots nobody holds.
 */
final class RootCache {
    static final String ROOT = "root";
    private static final String LOCK = ".lock";
    private static final String USED = ".used";
    /** A root's bytes, counted once when it is built: a root may hold a hundred thousand files. */
    private static final String SIZE = ".size";

    private final Path dir;
    private final Path bounded;
    private final long limit;

    /**
     * Roots in {@code dir}; the whole of {@code bounded} (the cache, cores included) is kept under
     * {@code limit} bytes by removing roots.
     */
    RootCache(Path dir, Path bounded, long limit) {
        this.dir = dir;
        this.bounded = bounded;
        this.limit = limit;
    }

    /** {@code $XDG_CACHE_HOME/criu2core}, or {@code ~/.cache/criu2core}: the cores and roots of every command. */
    static Path defaultCache() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && xdg.startsWith("/") ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("criu2core");
    }

    /** What builds a root into an empty folder. */
    interface Build {
        void into(Path folder) throws IOException;
    }

    /** A root in use: the shared lock goes with {@link #close}. */
    static final class Held implements AutoCloseable {
        private final Path root;
        private final FileChannel lockFile;
        private final FileLock lock;
        final boolean built;

        Held(Path root, FileChannel lockFile, FileLock lock, boolean built) {
            this.root = root;
            this.lockFile = lockFile;
            this.lock = lock;
            this.built = built;
        }

        Path root() {
            return root;
        }

        @Override
        public void close() throws IOException {
            try {
                lock.release();
            } finally {
                lockFile.close();
            }
        }
    }

    /** The root of {@code key}, built now by {@code build} unless the cache has it. */
    Held obtain(String key, Build build) throws IOException {
        createPrivate(dir);
        Path entry = dir.resolve(key);
        Files.createDirectories(entry);
        Path root = entry.resolve(ROOT);
        boolean built = false;
        var lockFile = FileChannel.open(entry.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
                try (FileLock exclusive = lockFile.lock()) {
                    if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
                        Path partial = entry.resolve("partial-" + Long.toUnsignedString(
                                ThreadLocalRandom.current().nextLong(), 36));
                        try (var removal = Cleanup.removeOnShutdown(partial)) {
                            Files.createDirectory(partial);
                            try {
                                build.into(partial);
                                Files.writeString(entry.resolve(SIZE), Long.toString(size(partial)));
                                Files.move(partial, root);
                                built = true;
                            } finally {
                                if (Files.exists(partial, LinkOption.NOFOLLOW_LINKS)) {
                                    Cleanup.deleteTree(partial);
                                }
                            }
                        }
                    }
                }
            }
            FileLock shared = lockFile.lock(0, Long.MAX_VALUE, true);
            Path used = entry.resolve(USED);
            Files.write(used, new byte[0]);
            Files.setLastModifiedTime(used, FileTime.fromMillis(System.currentTimeMillis()));
            var held = new Held(root, lockFile, shared, built);
            trim(key);
            return held;
        } catch (IOException | RuntimeException | Error e) {
            lockFile.close();
            throw e;
        }
    }

    /** The root of {@code key} if the cache has it, held; empty when it has not (never built, or removed). */
    java.util.Optional<Held> reuse(String key) throws IOException {
        Path entry = dir.resolve(key);
        if (!Files.isDirectory(entry.resolve(ROOT), LinkOption.NOFOLLOW_LINKS)) {
            return java.util.Optional.empty();
        }
        FileChannel lockFile;
        try {
            lockFile = FileChannel.open(entry.resolve(LOCK), StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (java.nio.file.NoSuchFileException e) {
            return java.util.Optional.empty(); // removed meanwhile
        }
        try {
            FileLock shared = lockFile.lock(0, Long.MAX_VALUE, true);
            if (!Files.isDirectory(entry.resolve(ROOT), LinkOption.NOFOLLOW_LINKS)) {
                shared.release();
                lockFile.close();
                return java.util.Optional.empty();
            }
            Path used = entry.resolve(USED);
            Files.write(used, new byte[0]);
            Files.setLastModifiedTime(used, FileTime.fromMillis(System.currentTimeMillis()));
            return java.util.Optional.of(new Held(entry.resolve(ROOT), lockFile, shared, false));
        } catch (IOException | RuntimeException | Error e) {
            lockFile.close();
            throw e;
        }
    }

    /** Removes the roots used least recently while the cache is larger than its bound. */
    private void trim(String current) throws IOException {
        Map<Path, Long> sizes = new LinkedHashMap<>();
        long total = 0;
        for (Path entry : entries()) {
            sizes.put(entry, recordedSize(entry));
            total += sizes.get(entry);
        }
        // the rest of the cache (the cores) is a few files per checkpoint
        try (Stream<Path> others = Files.list(bounded)) {
            for (Path other : others.filter(p -> !p.equals(dir)).toList()) {
                total += size(other);
            }
        }
        if (total <= limit) {
            return;
        }
        List<Path> byAge = new ArrayList<>(sizes.keySet());
        byAge.sort(Comparator.comparing(RootCache::lastUsed));
        for (Path entry : byAge) {
            if (total <= limit) {
                break;
            }
            if (!entry.getFileName().toString().equals(current) && remove(entry)) {
                total -= sizes.get(entry);
            }
        }
    }

    /** Removes every root nobody uses, and what remembers which checkpoint had which. */
    void clean() throws IOException {
        for (Path entry : entries()) {
            remove(entry);
        }
        Cleanup.deleteTree(dir.resolve(ContainerRoots.MEMOS));
    }

    /** Roots' folders are named by their keys; anything else in the folder is no root. */
    private static boolean isKey(String name) {
        return name.matches("[0-9a-f]{32}");
    }

    private List<Path> entries() throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) && isKey(p.getFileName().toString()))
                    .sorted().toList();
        }
    }

    /** Removes a root unless a command holds it; whether it was removed. */
    private static boolean remove(Path entry) throws IOException {
        Path lockPath = entry.resolve(LOCK);
        try (var lockFile = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            FileLock lock;
            try {
                lock = lockFile.tryLock();
            } catch (OverlappingFileLockException e) {
                return false; // this JVM holds it
            }
            if (lock == null) {
                return false;
            }
            try (lock) {
                try (Stream<Path> files = Files.list(entry)) {
                    for (Path p : files.toList()) {
                        if (!p.equals(lockPath)) {
                            Cleanup.deleteTree(p);
                        }
                    }
                }
                Files.deleteIfExists(lockPath);
            }
        }
        Files.deleteIfExists(entry);
        return true;
    }

    /** The bytes a root was counted at when built; a root being built or broken counts as what is there now. */
    private static long recordedSize(Path entry) {
        try {
            return Long.parseLong(Files.readString(entry.resolve(SIZE)).strip());
        } catch (IOException | NumberFormatException e) {
            try {
                return size(entry);
            } catch (IOException again) {
                return 0;
            }
        }
    }

    /** Bytes of the regular files under {@code path}, links not followed. */
    static long size(Path path) throws IOException {
        if (Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
            return Files.size(path);
        }
        if (!Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(path)) {
            return files.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        } catch (UncheckedIOException e) {
            return 0; // removed by another criu2core while it was counted
        }
    }

    private static FileTime lastUsed(Path entry) {
        try {
            Path used = entry.resolve(USED);
            return Files.getLastModifiedTime(Files.exists(used) ? used : entry);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }

    private static void createPrivate(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir.getParent());
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (java.nio.file.FileAlreadyExistsException e) {
                // made by another criu2core at the same time
            }
        }
    }
}
