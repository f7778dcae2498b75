package org.criu2core.container;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.criu2core.cache.CacheFolder;
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
    /** A root's bytes, counted once when it is built: a root may hold a hundred thousand files. */
    private static final String SIZE = ".size";

    private final CacheFolder roots;
    private final Path bounded;
    private final long limit;

    /**
     * Roots in {@code dir}; the whole of {@code bounded} (the cache, cores included) is kept under
     * {@code limit} bytes by removing roots.
     */
    RootCache(Path dir, Path bounded, long limit) {
        this.roots = new CacheFolder(dir, RootCache::isKey);
        this.bounded = bounded;
        this.limit = limit;
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
        roots.create();
        Path entry = roots.dir().resolve(key);
        Files.createDirectories(entry);
        Path root = entry.resolve(ROOT);
        boolean built = false;
        var lockFile = FileChannel.open(entry.resolve(CacheFolder.LOCK), StandardOpenOption.CREATE,
                StandardOpenOption.READ, StandardOpenOption.WRITE);
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
                                Files.writeString(entry.resolve(SIZE), Long.toString(CacheFolder.size(partial)));
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
            CacheFolder.touch(entry);
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
        Path entry = roots.dir().resolve(key);
        if (!Files.isDirectory(entry.resolve(ROOT), LinkOption.NOFOLLOW_LINKS)) {
            return java.util.Optional.empty();
        }
        FileChannel lockFile;
        try {
            lockFile = FileChannel.open(entry.resolve(CacheFolder.LOCK), StandardOpenOption.READ, StandardOpenOption.WRITE);
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
            CacheFolder.touch(entry);
            return java.util.Optional.of(new Held(entry.resolve(ROOT), lockFile, shared, false));
        } catch (IOException | RuntimeException | Error e) {
            lockFile.close();
            throw e;
        }
    }

    /** Removes the roots used least recently while the cache (cores included) is larger than its bound. */
    private void trim(String current) throws IOException {
        long others = 0;
        try (Stream<Path> all = Files.list(bounded)) {
            for (Path other : all.filter(p -> !p.equals(roots.dir())).toList()) {
                others += CacheFolder.size(other);
            }
        }
        roots.trim(current, limit, others, RootCache::recordedSize);
    }

    /** Removes every root nobody uses, and what remembers which checkpoint had which. */
    void clean() throws IOException {
        roots.clean();
        Cleanup.deleteTree(roots.dir().resolve(ContainerRoots.MEMOS));
    }

    /** Roots' folders are named by their keys; anything else in the folder is no root. */
    private static boolean isKey(String name) {
        return name.matches("[0-9a-f]{32}");
    }

    /** The bytes a root was counted at when built; a root being built or broken counts as what is there now. */
    private static long recordedSize(Path entry) throws IOException {
        try {
            return Long.parseLong(Files.readString(entry.resolve(SIZE)).strip());
        } catch (IOException | NumberFormatException e) {
            return CacheFolder.size(entry);
        }
    }
}
