package org.criu2core.debug;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.criu2core.cache.CacheFolder;
import org.criu2core.container.CheckpointArchive;
import org.criu2core.container.ContainerRoots;
import org.criu2core.container.RootFs;
import org.criu2core.core.AtomicFile;
import org.criu2core.core.Converter;
import org.criu2core.core.DumpFilter;
import org.criu2core.image.CheckpointException;
import org.criu2core.model.Checkpoint;
import org.criu2core.model.Process;

/**
 * Cores converted once and read many times: one folder per checkpoint (with its root and
 * filter) under {@code ${XDG_CACHE_HOME:-~/.cache}/criu2core/cores}, holding core.PID and what
 * the debugger needs to know of each process (process.PID.json). A folder is named after a hash
 * of the checkpoint's path, root, filter, the converter's build, and the name, size and time of
 * every file of the checkpoint (and of its parent snapshots): a checkpoint that changes gets a
 * new folder and its old one is removed. Folders used least recently are removed when the cache
 * grows past its limit. Cores hold a process's memory, so the folders are private to the user.
 */
public final class CoreCache {
    /** The cache's bound by default: cores are sparse, so this counts their apparent size. */
    public static final long DEFAULT_LIMIT = ContainerRoots.DEFAULT_CACHE_LIMIT;
    /** Parent snapshots followed at most (CRIU's own chains are a few links long). */
    private static final int MAX_PARENTS = 64;
    private static final String TREE = "tree.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final long limit;
    /** Every folder but .mounts, where runs that mount keep their mountpoints (MountedCores). */
    private final CacheFolder folder;

    public CoreCache(Path dir, long limit) {
        this.dir = dir;
        this.limit = limit;
        this.folder = new CacheFolder(dir, name -> !name.startsWith("."));
    }

    /** The cores' folder in the cache (beside the containers' roots). */
    public static final String FOLDER = "cores";

    /** {@code $XDG_CACHE_HOME/criu2core/cores}, or {@code ~/.cache/criu2core/cores}. */
    public static Path defaultDir() {
        return CacheFolder.defaultCache().resolve(FOLDER);
    }

    public Path dir() {
        return dir;
    }

    /** Told what the cache does, as it does it. */
    public interface Listener {
        void converted(ProcessFacts process, Converter.Result result, long millis);

        void reused(ProcessFacts process, Path core);

        /** A zombie or dead process: no memory, so no core. */
        void noMemory(ProcessFacts process);

        void failed(int pid, IOException error);

        /** Mapped files that were not under the root: their pages are zeros in the cores. */
        void missingFiles(List<String> names);

        /** A core mounted, not converted: {@code size} bytes read on demand, none written. */
        default void mounted(ProcessFacts process, Path core, long size, long millis) {
        }

        /** The cores are converted into the cache because they could not be mounted, and why. */
        default void notMounted(String why) {
        }
    }

    /** Cores to read, mounted or converted; closing unmounts mounted ones (converted ones stay cached). */
    public interface Opened extends AutoCloseable {
        Cores cores();

        /** Whether the cores are mounted (read on demand, nothing written) rather than cached copies. */
        boolean mounted();

        @Override
        void close() throws IOException;
    }

    /**
     * The cores of {@code pids} (as {@link #obtain}) of {@code checkpoint}: with {@code mount}, mounted
     * at a private mountpoint under the cache where FUSE works (nothing is written, and closing
     * unmounts); else, and where FUSE is not there or the mount cannot be made (the listener is
     * told why), converted into the cache as {@link #obtain} does.
     */
    public Opened open(Path checkpoint, Path root, long filter, List<Integer> pids, boolean mount, Listener listener)
            throws IOException {
        if (mount) {
            var why = MountedCores.unavailable();
            if (why.isEmpty()) {
                if (!Files.exists(checkpoint)) {
                    throw new CheckpointException(checkpoint.toString(), "no such directory or archive");
                }
                try {
                    return MountedCores.mount(dir, checkpoint, root, filter, pids, listener);
                } catch (org.criu2core.sys.FuseMount.Refused e) {
                    // the mount itself was refused (not permitted here): the copy still works
                    listener.notMounted(e.getMessage());
                }
            } else {
                listener.notMounted(why.get());
            }
        }
        Cores cores = obtain(checkpoint, root, filter, pids, listener);
        return new Opened() {
            @Override
            public Cores cores() {
                return cores;
            }

            @Override
            public boolean mounted() {
                return false;
            }

            @Override
            public void close() {
            }
        };
    }

    /** One process of the tree as the cache has it: its facts, and its core unless it had no memory. */
    public record Cached(ProcessFacts facts, Path core) {
    }

    /**
     * The cores of a checkpoint.
     *
     * @param tree      every pid of the tree, parents first: the first is the tree's root
     * @param processes the processes asked for that have facts (and a core where they had memory)
     * @param failed    how many of those asked for could not be converted
     */
    public record Cores(Path dir, List<Integer> tree, List<Cached> processes, int failed) {
    }

    private record Tree(String checkpoint, String root, String filter, List<Integer> pids) {
    }

    /**
     * The cores of {@code pids} (every process when empty, the tree's root when null) of
     * {@code checkpoint}, converted now for those the cache does not have yet.
     */
    public Cores obtain(Path checkpoint, Path root, long filter, List<Integer> pids, Listener listener)
            throws IOException {
        if (!Files.exists(checkpoint)) {
            throw new CheckpointException(checkpoint.toString(), "no such directory or archive");
        }
        Path realCheckpoint = checkpoint.toRealPath();
        Path realRoot;
        try (var rootFs = new RootFs(root)) {
            realRoot = rootFs.root();
        }
        String identity = hash(List.of(realCheckpoint.toString(), realRoot.toString(), Long.toHexString(filter)));
        String key = identity.substring(0, 16) + "-" + hash(List.of(identity, build(), fingerprint(realCheckpoint)))
                .substring(0, 16);
        folder.create();
        Path entry = dir.resolve(key);
        Files.createDirectories(entry);
        Cores cores;
        try (var lockFile = FileChannel.open(entry.resolve(CacheFolder.LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = lockFile.lock()) {
            cores = fill(entry, realCheckpoint, realRoot, filter, pids, listener);
            CacheFolder.touch(entry);
        }
        removeStale(identity, key);
        trim(key);
        return cores;
    }

    private Cores fill(Path entry, Path checkpoint, Path root, long filter, List<Integer> asked, Listener listener)
            throws IOException {
        Path treeFile = entry.resolve(TREE);
        Tree tree = Files.exists(treeFile) ? JSON.readValue(treeFile.toFile(), Tree.class) : null;
        if (tree != null) {
            List<Integer> wanted = wanted(tree.pids(), asked, checkpoint);
            if (wanted.stream().allMatch(pid -> Files.exists(facts(entry, pid)))) {
                List<Cached> cached = new ArrayList<>();
                for (int pid : wanted) {
                    cached.add(cached(entry, pid));
                    if (cached.get(cached.size() - 1).core() != null) {
                        listener.reused(cached.get(cached.size() - 1).facts(), cached.get(cached.size() - 1).core());
                    } else {
                        listener.noMemory(cached.get(cached.size() - 1).facts());
                    }
                }
                return new Cores(entry, tree.pids(), cached, 0);
            }
        }
        try (var source = CheckpointArchive.open(checkpoint); var rootFs = new RootFs(root)) {
            Checkpoint cp = Checkpoint.load(source.images());
            List<Integer> all = cp.tree().stream().map(Checkpoint.TreeEntry::pid).toList();
            if (tree == null) {
                tree = new Tree(checkpoint.toString(), root.toString(), "0x" + Long.toHexString(filter), all);
                byte[] json = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(tree);
                AtomicFile.write(treeFile, file -> file.channel().write(java.nio.ByteBuffer.wrap(json)));
            }
            var converter = new Converter(cp, rootFs, new DumpFilter(filter));
            List<Cached> cached = new ArrayList<>();
            int failed = 0;
            for (int pid : wanted(all, asked, checkpoint)) {
                if (Files.exists(facts(entry, pid))) {
                    cached.add(cached(entry, pid));
                    if (cached.get(cached.size() - 1).core() != null) {
                        listener.reused(cached.get(cached.size() - 1).facts(), cached.get(cached.size() - 1).core());
                    }
                    continue;
                }
                try {
                    Process process = cp.process(pid).orElseThrow();
                    ProcessFacts facts = ProcessFacts.of(cp, process);
                    Path core = null;
                    if (process.hasMemory()) {
                        long start = System.nanoTime();
                        var result = converter.convert(process, entry);
                        core = result.core();
                        listener.converted(facts, result, (System.nanoTime() - start) / 1_000_000);
                    } else {
                        listener.noMemory(facts);
                    }
                    byte[] json = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(facts);
                    AtomicFile.write(facts(entry, pid), file -> file.channel().write(java.nio.ByteBuffer.wrap(json)));
                    cached.add(new Cached(facts, core));
                } catch (IOException e) {
                    failed++;
                    listener.failed(pid, e);
                }
            }
            if (!rootFs.missing().isEmpty()) {
                listener.missingFiles(rootFs.missing().stream().sorted().toList());
            }
            return new Cores(entry, all, cached, failed);
        }
    }

    private static List<Integer> wanted(List<Integer> tree, List<Integer> asked, Path checkpoint)
            throws CheckpointException {
        if (asked == null) {
            return List.of(tree.get(0));
        }
        for (int pid : asked) {
            if (!tree.contains(pid)) {
                throw new CheckpointException(checkpoint + "/pstree.img", "no process " + pid
                        + " in the checkpoint (it has " + tree.stream().map(String::valueOf)
                        .reduce((a, b) -> a + ", " + b).orElse("none") + ")");
            }
        }
        return asked.isEmpty() ? tree : asked.stream().distinct().toList();
    }

    private static Path facts(Path entry, int pid) {
        return entry.resolve("process." + Integer.toUnsignedString(pid) + ".json");
    }

    private static Cached cached(Path entry, int pid) throws IOException {
        ProcessFacts facts = JSON.readValue(facts(entry, pid).toFile(), ProcessFacts.class);
        Path core = entry.resolve(Converter.coreName(pid));
        return new Cached(facts, Files.isRegularFile(core) ? core : null);
    }

    /** Removes every cached core. */
    public void clean() throws IOException {
        folder.clean();
    }

    /** Folders of the same checkpoint, root and filter made before the checkpoint changed. */
    private void removeStale(String identity, String current) throws IOException {
        String prefix = identity.substring(0, 16) + "-";
        for (Path entry : folder.entries()) {
            String name = entry.getFileName().toString();
            if (name.startsWith(prefix) && !name.equals(current)) {
                CacheFolder.remove(entry);
            }
        }
    }

    /** Removes the folders used least recently while the cache is larger than its limit. */
    private void trim(String current) throws IOException {
        folder.trim(current, limit, 0, CacheFolder::size);
    }

    /** The converter's build: its version, and for a jar the jar's size and time. */
    private static String build() {
        StringBuilder b = new StringBuilder(String.valueOf(Converter.class.getPackage().getImplementationVersion()));
        try {
            Path code = Path.of(Converter.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isRegularFile(code)) {
                b.append(' ').append(Files.size(code)).append(' ').append(Files.getLastModifiedTime(code).toMillis());
            }
        } catch (Exception e) {
            // no code source (a custom class loader): the version alone
        }
        return b.toString();
    }

    /**
     * Name, size and time of every file of the checkpoint, and of each parent snapshot's (CRIU's
     * {@code parent} link), or of the archive.
     */
    private static String fingerprint(Path checkpoint) throws IOException {
        StringBuilder b = new StringBuilder();
        Path current = checkpoint;
        for (int depth = 0; current != null && depth <= MAX_PARENTS; depth++) {
            if (!Files.isDirectory(current)) {
                describe(current, b);
                break;
            }
            Path parent = null;
            try (Stream<Path> files = Files.list(current)) {
                for (Path p : files.sorted().toList()) {
                    if (p.getFileName().toString().equals("parent")) {
                        parent = Files.isDirectory(p) ? p.toRealPath() : null;
                    } else {
                        describe(p, b);
                    }
                }
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
            current = parent;
            b.append('\n');
        }
        return b.toString();
    }

    private static void describe(Path file, StringBuilder b) throws IOException {
        var a = Files.readAttributes(file, BasicFileAttributes.class);
        b.append(file.getFileName()).append(' ').append(a.size()).append(' ')
                .append(a.lastModifiedTime().toInstant()).append(' ').append(a.fileKey()).append('\n');
    }

    private static String hash(List<String> parts) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (String p : parts) {
                sha.update(p.getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
    }
}
