package org.criu2core.cache;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
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
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.criu2core.sys.Cleanup;

/**
 * A folder of the user's cache ({@code ${XDG_CACHE_HOME:-~/.cache}/criu2core}) that holds
 * entries, one folder each, kept for later commands: the cores debug and stacks convert, the roots
 * built from containers' images. An entry is locked ({@link #LOCK}) while a command fills or
 * uses it, says when it was last used ({@link #USED}), and goes least recently used first while
 * the cache is larger than its bound, never while a command holds it. The folders are the user's
 * alone (0700): what they hold came from processes' memory and containers' files.
 */
public final class CacheFolder {
    /** Locked while an entry is filled (exclusively) or used (shared). */
    public static final String LOCK = ".lock";
    /** Touched when an entry is used: the order it is removed in. */
    public static final String USED = ".used";

    private final Path dir;
    private final Predicate<String> isEntry;

    /** The entries in {@code dir} whose names {@code isEntry} accepts; anything else there is left alone. */
    public CacheFolder(Path dir, Predicate<String> isEntry) {
        this.dir = dir;
        this.isEntry = isEntry;
    }

    /** {@code $XDG_CACHE_HOME/criu2core}, or {@code ~/.cache/criu2core}: the cache of every command. */
    public static Path defaultCache() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && xdg.startsWith("/") ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("criu2core");
    }

    public Path dir() {
        return dir;
    }

    /** Makes the folder, private to the user, unless it is there. */
    public void create() throws IOException {
        createPrivate(dir);
    }

    /** Makes {@code folder} (its parents as usual), private to the user, unless it is there. */
    public static void createPrivate(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) {
            Files.createDirectories(folder.getParent());
            try {
                Files.createDirectory(folder, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (FileAlreadyExistsException e) {
                // made by another criu2core at the same time
            }
        }
    }

    /** The entries, by name. */
    public List<Path> entries() throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> isEntry.test(p.getFileName().toString()) && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
                    .sorted().toList();
        }
    }

    /** Says that {@code entry} is used now. */
    public static void touch(Path entry) throws IOException {
        Path used = entry.resolve(USED);
        Files.write(used, new byte[0]);
        Files.setLastModifiedTime(used, FileTime.fromMillis(System.currentTimeMillis()));
    }

    /** Removes every entry no command holds. */
    public void clean() throws IOException {
        for (Path entry : entries()) {
            remove(entry);
        }
    }

    /**
     * Removes entries, least recently used first and never {@code current}, while they and
     * {@code otherBytes} together are more than {@code limit} bytes; {@code sizes} gives each
     * entry's.
     */
    public void trim(String current, long limit, long otherBytes, EntrySize sizes) throws IOException {
        Map<Path, Long> bytes = new LinkedHashMap<>();
        long total = otherBytes;
        for (Path entry : entries()) {
            bytes.put(entry, sizes.of(entry));
            total += bytes.get(entry);
        }
        List<Path> byAge = new ArrayList<>(bytes.keySet());
        byAge.sort(Comparator.comparing(CacheFolder::lastUsed));
        for (Path entry : byAge) {
            if (total <= limit) {
                break;
            }
            if (!entry.getFileName().toString().equals(current) && remove(entry)) {
                total -= bytes.get(entry);
            }
        }
    }

    /** An entry's bytes, as the cache counts them. */
    @FunctionalInterface
    public interface EntrySize {
        long of(Path entry) throws IOException;
    }

    /** Removes an entry unless a command (this one too) holds its lock; whether it was removed. */
    public static boolean remove(Path entry) throws IOException {
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

    /** Bytes of the regular files at and under {@code path}, links not followed. */
    public static long size(Path path) throws IOException {
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

    /** When {@code entry} was last used: its {@link #USED} file's time, or the folder's. */
    public static FileTime lastUsed(Path entry) {
        try {
            Path used = entry.resolve(USED);
            return Files.getLastModifiedTime(Files.exists(used) ? used : entry);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }
}
