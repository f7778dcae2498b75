package org.criu2core.debug;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.criu2core.cache.CacheFolder;
import org.criu2core.container.CheckpointArchive;
import org.criu2core.container.RootFs;
import org.criu2core.core.ProcessNotes;
import org.criu2core.model.Checkpoint;
import org.criu2core.mount.CheckpointCores;
import org.criu2core.mount.CheckpointMount;
import org.criu2core.sys.Cleanup;
import org.criu2core.sys.FuseMount;

/**
 * The cores debug and stacks read, mounted instead of converted ({@link CheckpointMount}): at a
 * mountpoint of this run's own under the cache, {@code .mounts/PID-START} (this JVM's pid and
 * start time), private to the user, unmounted and removed by {@link #close}, also when the JVM is
 * stopped by a signal. A run killed outright leaves its mountpoint (fusermount3's auto_unmount has
 * unmounted it; without fusermount3 it is a dead mount): the next run removes every mountpoint
 * whose process is gone.
 */
final class MountedCores implements CoreCache.Opened {
    static final String MOUNTS = ".mounts";
    private static final Pattern NAME = Pattern.compile("(\\d+)-(\\d+)");

    private final CheckpointMount mount;
    private final Path mountpoint;
    private final Cleanup.Registration removal;
    private final CoreCache.Cores cores;

    private MountedCores(CheckpointMount mount, Path mountpoint, Cleanup.Registration removal, CoreCache.Cores cores) {
        this.mount = mount;
        this.mountpoint = mountpoint;
        this.removal = removal;
        this.cores = cores;
    }

    /** Empty when FUSE mounts can be made here; else why not. */
    static Optional<String> unavailable() {
        return FuseMount.unavailable();
    }

    /**
     * Mounts the cores of {@code pids} (every process when empty, the tree's root when null) of
     * {@code checkpoint} under {@code cacheDir}. A mount that cannot be made throws, leaving nothing.
     */
    static MountedCores mount(Path cacheDir, Path checkpoint, Path root, long filter, List<Integer> pids,
                              CoreCache.Listener listener) throws IOException {
        Path mounts = cacheDir.resolve(MOUNTS);
        CacheFolder.createPrivate(cacheDir);
        CacheFolder.createPrivate(mounts);
        removeStale(mounts);
        long start = System.nanoTime();
        var options = new CheckpointCores.Options(root, filter, pids, CheckpointArchive.Limits.DEFAULTS,
                ProcessNotes.DEFAULT_FILE_NOTE_LIMIT, RootFs.DEFAULT_LOOKUP_TIME);
        // named by its real path in messages, as the cache names it
        CheckpointCores cores = CheckpointCores.open(checkpoint.toRealPath(), options);
        Path mountpoint = mounts.resolve(ownName());
        Cleanup.Registration removal = null;
        CheckpointMount mount = null;
        try {
            Files.createDirectory(mountpoint, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
            // after the mount's own stop, which unmounts: the folder is empty by then
            removal = Cleanup.removeOnShutdown(mountpoint);
            mount = CheckpointMount.mount(cores, mountpoint, (file, offset, e) ->
                    listener.failed(-1, new IOException(file + ": a read at byte " + offset + " failed: "
                            + e.getMessage(), e)));
            long millis = (System.nanoTime() - start) / 1_000_000;
            Checkpoint cp = cores.checkpoint();
            List<CoreCache.Cached> cached = new ArrayList<>();
            for (var core : cores.cores()) {
                ProcessFacts facts = ProcessFacts.of(cp, core.process());
                Path path = mount.core(core);
                listener.mounted(facts, path, core.size(), millis);
                cached.add(new CoreCache.Cached(facts, path));
            }
            int failed = 0;
            for (var left : cores.left()) {
                if (left.error() != null) {
                    failed++;
                    listener.failed(left.pid(), left.error());
                } else {
                    ProcessFacts facts = ProcessFacts.of(cp, cp.process(left.pid()).orElseThrow());
                    listener.noMemory(facts);
                    cached.add(new CoreCache.Cached(facts, null));
                }
            }
            if (!cores.rootFs().missing().isEmpty()) {
                listener.missingFiles(cores.rootFs().missing().stream().sorted().toList());
            }
            List<Integer> tree = cp.tree().stream().map(Checkpoint.TreeEntry::pid).toList();
            return new MountedCores(mount, mountpoint, removal,
                    new CoreCache.Cores(mountpoint, tree, order(cached, pids, tree), failed));
        } catch (IOException | RuntimeException | Error e) {
            try {
                if (mount != null) {
                    mount.close();
                } else {
                    cores.close();
                }
            } finally {
                Files.deleteIfExists(mountpoint);
                if (removal != null) {
                    removal.close();
                }
            }
            throw e;
        }
    }

    /** The processes in the order asked for (the tree's order when all were). */
    private static List<CoreCache.Cached> order(List<CoreCache.Cached> cached, List<Integer> pids,
                                               List<Integer> tree) {
        List<Integer> order = pids == null || pids.isEmpty() ? tree : pids;
        List<CoreCache.Cached> out = new ArrayList<>(cached);
        out.sort(java.util.Comparator.comparingInt(c -> order.indexOf(c.facts().pid())));
        return out;
    }

    @Override
    public CoreCache.Cores cores() {
        return cores;
    }

    @Override
    public boolean mounted() {
        return true;
    }

    /** Unmounts, closes the checkpoint's files and removes the mountpoint. */
    @Override
    public void close() throws IOException {
        try (removal) {
            mount.close();
        } finally {
            try {
                Files.deleteIfExists(mountpoint);
            } catch (java.nio.file.FileSystemException busy) {
                // still mounted (a reader kept a file open past the lazy unmount): the next run removes it
            }
        }
    }

    /** This JVM's mountpoint name: its pid and start time, which no later process has both of. */
    private static String ownName() {
        var self = ProcessHandle.current();
        return self.pid() + "-" + self.info().startInstant().map(java.time.Instant::toEpochMilli).orElse(0L);
    }

    /**
     * Removes the mountpoints of runs that are gone (killed outright): unmounted first where they
     * are still mounted (a dead FUSE mount answers "Transport endpoint is not connected").
     */
    static void removeStale(Path mounts) throws IOException {
        List<Path> entries;
        try (Stream<Path> s = Files.list(mounts)) {
            entries = s.toList();
        } catch (NoSuchFileException e) {
            return;
        }
        for (Path entry : entries) {
            Matcher m = NAME.matcher(entry.getFileName().toString());
            if (!m.matches() || alive(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)))) {
                continue;
            }
            if (!Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                // a dead FUSE mount cannot be examined: it is still a mount
                FuseMount.detach(entry);
            } else if (mounted(entry)) {
                FuseMount.detach(entry);
            }
            try {
                Files.deleteIfExists(entry);
            } catch (IOException e) {
                // mounted still (another user's, or busy): left for a later run
            }
        }
    }

    private static boolean alive(long pid, long startMillis) {
        return ProcessHandle.of(pid).flatMap(h -> h.info().startInstant())
                .map(i -> i.toEpochMilli() == startMillis).orElse(false);
    }

    /** Whether {@code dir} is a mount point, as /proc/self/mountinfo lists them. */
    private static boolean mounted(Path dir) {
        try {
            String path = dir.toAbsolutePath().normalize().toString();
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] fields = line.split(" ");
                if (fields.length > 4 && unescape(fields[4]).equals(path)) {
                    return true;
                }
            }
        } catch (IOException e) {
            return true;
        }
        return false;
    }

    /** mountinfo writes space, tab, newline and backslash as \ooo. */
    private static String unescape(String field) {
        Matcher m = Pattern.compile("\\\\([0-7]{3})").matcher(field);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(String.valueOf((char) Integer.parseInt(m.group(1), 8))));
        }
        m.appendTail(out);
        return out.toString();
    }
}
