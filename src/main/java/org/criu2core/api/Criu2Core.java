package org.criu2core.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.criu2core.arch.Arch;
import org.criu2core.container.CheckpointArchive;
import org.criu2core.container.ContainerRoots;
import org.criu2core.container.RootFs;
import org.criu2core.core.Converter;
import org.criu2core.core.DumpFilter;
import org.criu2core.core.ProcessNotes;
import org.criu2core.core.Progress;
import org.criu2core.image.CheckpointException;
import org.criu2core.image.Image;
import org.criu2core.image.ImageJson;
import org.criu2core.image.ImageReader;
import org.criu2core.image.ImageWriter;
import org.criu2core.inspect.CheckpointInfo;
import org.criu2core.model.Checkpoint;
import org.criu2core.model.Process;
import org.criu2core.sys.Cleanup;

/**
 * criu2core as a library: what the command line does, callable from Java. Every method takes a
 * checkpoint directory or container checkpoint archive and throws {@link CheckpointException}
 * (an IOException) naming the file and offset of bad input. See docs/library.md.
 */
public final class Criu2Core {
    private Criu2Core() {
    }

    /**
     * How to convert; {@link #DEFAULTS} is what `criu2core convert` does without options.
     * {@code jobs} cores are written at once, each by its own thread. {@code root} null is the
     * default: / for a directory of images; for a container checkpoint the root built from its
     * {@code image} (an OCI layout, oci-archive or docker-archive; may be null) and the files the
     * container wrote (its archive's rootfs-diff.tar), or none at all when it has neither (its
     * mapped files read as holes).
     */
    public record Options(Path root, long filter, List<Integer> pids, Progress progress, int jobs, Limits limits,
                          Path image) {
        /** Cores written at once by default: one per CPU, at most four, as they share one disk. */
        public static final int DEFAULT_JOBS = Math.min(4, Runtime.getRuntime().availableProcessors());
        public static final Options DEFAULTS = new Options(null, DumpFilter.DEFAULT.bits(), List.of(),
                Progress.NONE, DEFAULT_JOBS);

        public Options {
            if (jobs < 1) {
                throw new IllegalArgumentException("jobs must be at least 1, not " + jobs);
            }
            if (limits == null) {
                throw new IllegalArgumentException("limits must not be null");
            }
        }

        public Options(Path root, long filter, List<Integer> pids, Progress progress, int jobs) {
            this(root, filter, pids, progress, jobs, Limits.DEFAULTS);
        }

        public Options(Path root, long filter, List<Integer> pids, Progress progress, int jobs, Limits limits) {
            this(root, filter, pids, progress, jobs, limits, null);
        }

        public Options withRoot(Path newRoot) {
            return new Options(newRoot, filter, pids, progress, jobs, limits, image);
        }

        public Options withFilter(long bits) {
            return new Options(root, bits, pids, progress, jobs, limits, image);
        }

        public Options withPids(List<Integer> only) {
            return new Options(root, filter, List.copyOf(only), progress, jobs, limits, image);
        }

        /** Told of every core's bytes; with more than one job, from several threads at once. */
        public Options withProgress(Progress p) {
            return new Options(root, filter, pids, p, jobs, limits, image);
        }

        public Options withJobs(int n) {
            return new Options(root, filter, pids, progress, n, limits, image);
        }

        public Options withLimits(Limits l) {
            return new Options(root, filter, pids, progress, jobs, l, image);
        }

        /** The container's image, to build its root from (with --root, --root wins). */
        public Options withImage(Path containerImage) {
            return new Options(root, filter, pids, progress, jobs, limits, containerImage);
        }
    }

    /**
     * What a checkpoint may cost, for checkpoints and roots that others control
     * (docs/robustness.md): where archives are unpacked ({@code tmpDir}, null for the JVM's
     * temporary folder) and how many bytes at most (of an archive, and of a container's root); the
     * size beyond which NT_FILE is left out, as the kernel's core_file_note_size_limit; how long all
     * lookups of mapped files under the root may take together; where containers' roots are built
     * and kept ({@code cache}, null for ~/.cache/criu2core) and the cache's bound.
     */
    public record Limits(Path tmpDir, long maxUnpackBytes, long fileNoteLimit, Duration lookupTime, Path cache,
                         long cacheLimit) {
        public static final long DEFAULT_CACHE_LIMIT = ContainerRoots.DEFAULT_CACHE_LIMIT;
        public static final Limits DEFAULTS = new Limits(null, CheckpointArchive.DEFAULT_MAX_BYTES,
                ProcessNotes.DEFAULT_FILE_NOTE_LIMIT, RootFs.DEFAULT_LOOKUP_TIME, null, DEFAULT_CACHE_LIMIT);

        public Limits {
            if (maxUnpackBytes < 0 || fileNoteLimit < 0 || lookupTime == null || lookupTime.isNegative()
                    || cacheLimit < 0) {
                throw new IllegalArgumentException("limits must not be negative");
            }
        }

        public Limits(Path tmpDir, long maxUnpackBytes, long fileNoteLimit, Duration lookupTime) {
            this(tmpDir, maxUnpackBytes, fileNoteLimit, lookupTime, null, DEFAULT_CACHE_LIMIT);
        }

        public Limits withFileNoteLimit(long bytes) {
            return new Limits(tmpDir, maxUnpackBytes, bytes, lookupTime, cache, cacheLimit);
        }

        /** Containers' roots built in {@code dir} (cores and roots), kept under {@code limit} bytes. */
        public Limits withCache(Path dir, long limit) {
            return new Limits(tmpDir, maxUnpackBytes, fileNoteLimit, lookupTime, dir, limit);
        }

        ContainerRoots.Settings roots() {
            return cache == null ? ContainerRoots.Settings.defaults(archive(), cacheLimit)
                    : new ContainerRoots.Settings(cache, cacheLimit, archive());
        }

        /** What of these the unpacking of an archive takes. */
        public CheckpointArchive.Limits archive() {
            return new CheckpointArchive.Limits(tmpDir, maxUnpackBytes);
        }
    }

    /** What became of each process: a core, no core (no memory: zombie, dead), or an error. */
    public sealed interface Outcome permits Written, Skipped, Failed {
        int pid();
    }

    public record Written(int pid, Converter.Result result) implements Outcome {
    }

    public record Skipped(int pid, String comm, Process.State state) implements Outcome {
    }

    public record Failed(int pid, IOException error) implements Outcome {
    }

    /**
     * The outcome of every process asked for; where mapped files were read from ({@code root},
     * null when nowhere: an archive without --root); the mapped files that were not under it; and
     * how many names were not looked up because the lookups had taken all their time.
     */
    public record Report(List<Outcome> outcomes, Path root, List<String> missingFiles, int notLookedUp,
                         List<String> notes) {
        public boolean allWritten() {
            return outcomes.stream().noneMatch(o -> o instanceof Failed);
        }
    }

    /** Called as each process is done, in tree order, on the thread that called convert. */
    @FunctionalInterface
    public interface Listener {
        void done(Outcome outcome);
    }

    /**
     * Writes core.PID for each process of {@code checkpoint} (or those in {@link Options#pids})
     * into {@code outDir}, {@link Options#jobs} at a time. A process whose images are broken is
     * reported as {@link Failed} and the others are still converted; a checkpoint that cannot be
     * read at all throws.
     */
    public static Report convert(Path checkpoint, Path outDir, Options options, Listener listener) throws IOException {
        Limits limits = options.limits();
        try (var opened = open(checkpoint, options.root(), options.image(), limits, CheckpointArchive.Parts.ALL);
             var progress = options.progress()) {
            RootFs root = opened.rootFs();
            Checkpoint cp = opened.checkpoint();
            List<Checkpoint.TreeEntry> selected = new ArrayList<>();
            for (int pid : options.pids()) {
                selected.add(cp.tree().stream().filter(e -> e.pid() == pid).findFirst().orElseThrow(() ->
                        new CheckpointException(cp.dir().display("pstree.img"), "no process " + pid + " in the checkpoint")));
            }
            if (selected.isEmpty()) {
                selected = cp.tree();
            }
            Files.createDirectories(outDir);
            var converter = new Converter(cp, root, new DumpFilter(options.filter()), limits.fileNoteLimit());
            // one mechanism for any number of jobs: a pool of one thread costs nothing measurable
            ExecutorService pool = Executors.newFixedThreadPool(Math.min(options.jobs(), selected.size()));
            // stopped by a signal: the workers are interrupted, and their temporary cores removed
            // before the JVM exits (AtomicFile), as is the unpacked archive
            var stop = Cleanup.onShutdown(() -> {
                pool.shutdownNow();
                try {
                    pool.awaitTermination(Cleanup.STOP_WAIT_SECONDS, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            List<Outcome> outcomes = new ArrayList<>();
            try (stop) {
                List<Future<Outcome>> running = new ArrayList<>();
                for (var entry : selected) {
                    running.add(pool.submit(() -> convert(cp, entry, converter, outDir, progress)));
                }
                for (var future : running) {
                    outcomes.add(await(future));
                    listener.done(outcomes.get(outcomes.size() - 1));
                }
            } finally {
                // an Error or an interrupt leaves the others unwaited for: stop them, so that
                // no core is written after convert has returned
                pool.shutdownNow();
                awaitTermination(pool);
            }
            return new Report(outcomes, root.root(), List.copyOf(root.missing()), root.budgetSpent(), opened.notes());
        }
    }

    private static Outcome convert(Checkpoint cp, Checkpoint.TreeEntry entry, Converter converter, Path outDir,
                                   Progress progress) {
        try {
            Process process = cp.process(entry);
            return process.hasMemory()
                    ? new Written(process.pid(), converter.convert(process, outDir, progress))
                    : new Skipped(process.pid(), process.comm(), process.state());
        } catch (IOException e) {
            return new Failed(entry.pid(), e);
        }
    }

    private static Outcome await(Future<Outcome> future) throws InterruptedIOException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            throw interrupted();
        } catch (ExecutionException e) {
            // IOExceptions are outcomes; what is left is an Error or a bug, which the caller sees as is
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            if (e.getCause() instanceof RuntimeException bug) {
                throw bug;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    private static void awaitTermination(ExecutorService pool) throws InterruptedIOException {
        try {
            // interrupted, a conversion stops at its next page run: its channel is closed
            boolean stopped;
            do {
                stopped = pool.awaitTermination(1, TimeUnit.MINUTES);
            } while (!stopped);
        } catch (InterruptedException e) {
            throw interrupted();
        }
    }

    private static InterruptedIOException interrupted() {
        Thread.currentThread().interrupt();
        return new InterruptedIOException("interrupted while cores were written");
    }

    public static Report convert(Path checkpoint, Path outDir, Options options) throws IOException {
        return convert(checkpoint, outDir, options, outcome -> { });
    }

    /** What `criu2core info` shows, as data. */
    public static CheckpointInfo inspect(Path checkpoint, Path root) throws IOException {
        return inspect(checkpoint, root, null, Limits.DEFAULTS);
    }

    /** {@code root} null: / for a directory of images, none for an archive (see {@link Options}). */
    public static CheckpointInfo inspect(Path checkpoint, Path root, Limits limits) throws IOException {
        return inspect(checkpoint, root, null, limits);
    }

    /** {@code root} and {@code image} as in {@link Options}. */
    public static CheckpointInfo inspect(Path checkpoint, Path root, Path image, Limits limits) throws IOException {
        try (var opened = open(checkpoint, root, image, limits, CheckpointArchive.Parts.ALL)) {
            var info = CheckpointInfo.of(opened.checkpoint(), opened.rootFs());
            return new CheckpointInfo(checkpoint.toString(), opened.source().container().orElse(null),
                    opened.notes(), info.images(), info.processes());
        }
    }

    /**
     * A checkpoint opened for reading, with the root its mapped files are read under: --root; for
     * a container checkpoint the root built from its image and its own files; / for a directory
     * of this host's images; else none. {@link #notes} say what the user should know of the root.
     */
    public static final class Opened implements java.io.Closeable {
        private final CheckpointArchive source;
        private final Checkpoint checkpoint;
        private final ContainerRoots.Root built;
        private final RootFs rootFs;
        private final List<String> notes;

        private Opened(CheckpointArchive source, Checkpoint checkpoint, ContainerRoots.Root built, RootFs rootFs,
                       List<String> notes) {
            this.source = source;
            this.checkpoint = checkpoint;
            this.built = built;
            this.rootFs = rootFs;
            this.notes = List.copyOf(notes);
        }

        public CheckpointArchive source() {
            return source;
        }

        public Checkpoint checkpoint() {
            return checkpoint;
        }

        public RootFs rootFs() {
            return rootFs;
        }

        /** The root's folder, or null when mapped files are not read. */
        public Path root() {
            return rootFs.root();
        }

        public List<String> notes() {
            return notes;
        }

        @Override
        public void close() throws IOException {
            try (source; var b = built; rootFs) {
                // closed in the reverse order: the root before the unpacked images
            }
        }
    }

    /** Opens {@code checkpoint} (see {@link Opened}); {@code parts} says whether its pages are needed. */
    public static Opened open(Path checkpoint, Path root, Path image, Limits limits, CheckpointArchive.Parts parts)
            throws IOException {
        var source = CheckpointArchive.open(checkpoint, limits.archive(), parts);
        ContainerRoots.Root built = null;
        RootFs rootFs = null;
        try {
            Checkpoint cp = Checkpoint.load(source.images());
            List<String> notes = new ArrayList<>();
            if (root != null) {
                rootFs = new RootFs(root, limits.lookupTime());
            } else if (image != null || source.rootfsDiff().isPresent()) {
                built = ContainerRoots.of(checkpoint, source, image, platform(cp), limits.roots());
                notes.addAll(built.notes());
                rootFs = new RootFs(built.path(), limits.lookupTime());
            } else {
                rootFs = RootFs.of(null, source.fromContainer(), limits.lookupTime());
            }
            return new Opened(source, cp, built, rootFs, notes);
        } catch (IOException | RuntimeException | Error e) {
            try (source; var b = built; var r = rootFs) {
                throw e;
            }
        }
    }

    /**
     * The root a debugger is given as its sysroot, held (a built one kept from removal) until
     * closed; {@code notes} as in {@link Opened}.
     */
    public record DebuggerRoot(Path path, List<String> notes, AutoCloseable hold) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            if (hold != null) {
                hold.close();
            }
        }
    }

    /**
     * The root for debugging {@code checkpoint}: {@code root} if given; / for a directory of this
     * host's images; for a container checkpoint the root built from {@code image} and the
     * container's own files. A container checkpoint that has neither is an error saying what to
     * give: its files are not the host's, and the images may name any host file.
     */
    public static DebuggerRoot rootForDebugger(Path checkpoint, Path root, Path image, Limits limits)
            throws IOException {
        if (root != null) {
            return new DebuggerRoot(root, List.of(), null);
        }
        var reused = ContainerRoots.reuse(checkpoint, image, limits.roots());
        if (reused.isPresent()) {
            return new DebuggerRoot(reused.get().path(), reused.get().notes(), reused.get());
        }
        try (var source = CheckpointArchive.open(checkpoint, limits.archive(), CheckpointArchive.Parts.WITHOUT_PAGES)) {
            if (image == null && !source.fromContainer()) {
                return new DebuggerRoot(Path.of("/"), List.of(), null);
            }
            if (image == null && source.rootfsDiff().isEmpty()) {
                throw new CheckpointException(checkpoint.toString(), "a container checkpoint without the files the "
                        + "container wrote: give its image with --image, or its root filesystem with --root (the "
                        + "debugger's sysroot, and where mapped files are read)");
            }
            var built = ContainerRoots.of(checkpoint, source, image, platform(Checkpoint.load(source.images())),
                    limits.roots());
            return new DebuggerRoot(built.path(), built.notes(), built);
        }
    }

    /**
     * The OCI platform of a checkpoint's processes ("linux/amd64"), to choose a container image's
     * manifest: its first process's whose images say.
     */
    private static String platform(Checkpoint cp) throws IOException {
        CheckpointException first = null;
        for (var entry : cp.tree()) {
            try {
                return Arch.of(cp.process(entry), cp.dir().display("core-" + entry.pid() + ".img")).ociPlatform();
            } catch (CheckpointException e) {
                first = first == null ? e : first;
            }
        }
        throw first;
    }

    /** An image as crit's JSON; {@code pretty} as `crit decode --pretty`. */
    public static ObjectNode decode(Path image, boolean pretty) throws IOException {
        return ImageJson.toJson(ImageReader.read(image), pretty);
    }

    /** Writes the image that {@code json} (as {@link #decode} gives it) describes, little-endian. */
    public static void encode(JsonNode json, Path image) throws IOException {
        encode(json, image, ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Writes the image that {@code json} describes with its magic and size words in {@code order}:
     * big-endian for a checkpoint of s390x, which the JSON does not say.
     */
    public static void encode(JsonNode json, Path image, ByteOrder order) throws IOException {
        Image decoded = ImageJson.fromJson(json, image.toString(), order);
        Files.write(image, ImageWriter.toBytes(decoded));
    }
}
