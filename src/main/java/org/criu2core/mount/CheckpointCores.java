package org.criu2core.mount;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.criu2core.container.CheckpointArchive;
import org.criu2core.container.RootFs;
import org.criu2core.core.Converter;
import org.criu2core.core.CoreContent;
import org.criu2core.core.CoreLayout;
import org.criu2core.core.DumpFilter;
import org.criu2core.core.ProcessMemory;
import org.criu2core.core.SourceFiles;
import org.criu2core.image.CheckpointException;
import org.criu2core.model.Checkpoint;
import org.criu2core.model.Process;
import org.criu2core.sys.FuseMount;
import org.criu2core.sys.OpenFile;

/**
 * The cores of a checkpoint's processes as files to be read at any offset, never written: each
 * core.PID is planned as `convert` plans it ({@link Converter#plan}) and its bytes are read on
 * demand through the same plan ({@link CoreContent}), from the pages files, parent snapshots and
 * the root's files, which are opened once ({@link SourceFiles}, {@link RootFs}) and closed with
 * this. No page is copied anywhere.
 *
 * <p>Every core is planned when this opens, for its size; a plan is kept while memory allows (a
 * share of the heap, {@link #PLAN_BUDGET}) and made again, identically, when it is read after it
 * was let go. Reads take no lock once a core's plan is there.
 */
public final class CheckpointCores implements FuseMount.Files, AutoCloseable {
    /** What of the heap the kept plans may take together; the plan last used is always kept. */
    static final long PLAN_BUDGET = Runtime.getRuntime().maxMemory() / 4;
    /** Block size of the holes reported: ext4's and XFS's, in which convert's cores have theirs. */
    static final int BLOCK = 4096;

    /**
     * What to mount, as `convert` takes it: {@code root} null is / for a directory of images, none
     * for an archive; {@code pids} empty is every process, null the tree's root alone.
     */
    public record Options(Path root, long filter, List<Integer> pids, CheckpointArchive.Limits archive,
                          long fileNoteLimit, Duration lookupTime) {
        public Options {
            pids = pids == null ? null : List.copyOf(pids);
        }
    }

    /** One process asked for that has no core: no memory (a zombie), or images that could not be read. */
    public record Left(int pid, String comm, Process.State state, IOException error) {
    }

    /** One core: its process, file name and size. */
    public static final class Core {
        private final Process process;
        private final String name;
        private final long size;
        private final String arch;
        private final int segments;
        private final List<String> noteWarnings;
        private volatile CoreContent content;
        private volatile long lastUsed;

        Core(Process process, CoreContent content, List<String> noteWarnings) {
            this.process = process;
            this.name = Converter.coreName(process.pid());
            this.size = content.size();
            this.arch = content.layout().arch().name();
            this.segments = content.layout().segments().size();
            this.content = content;
            this.noteWarnings = List.copyOf(noteWarnings);
        }

        public Process process() {
            return process;
        }

        public String name() {
            return name;
        }

        public long size() {
            return size;
        }

        /** The architecture of its process, as convert names it. */
        public String arch() {
            return arch;
        }

        public int segments() {
            return segments;
        }

    }

    /** What keeps the checkpoint's files and the root there (an unpacked archive, a built root), closed last. */
    private final Closeable owner;
    private final RootFs root;
    private final SourceFiles files = new SourceFiles();
    private final Checkpoint checkpoint;
    private final Converter converter;
    private final List<Core> cores = new ArrayList<>();
    private final List<Left> left = new ArrayList<>();

    private CheckpointCores(Closeable owner, RootFs root, Checkpoint checkpoint, Converter converter) {
        this.owner = owner;
        this.root = root;
        this.checkpoint = checkpoint;
        this.converter = converter;
    }

    /**
     * Opens {@code checkpoint} (a directory of images, or an archive, unpacked until {@link
     * #close}) and plans the core of every process asked for that has memory. A checkpoint that
     * cannot be read at all throws; a process whose images are broken is in {@link #left()}.
     */
    public static CheckpointCores open(Path checkpoint, Options options) throws IOException {
        var source = CheckpointArchive.open(checkpoint, options.archive());
        RootFs root = null;
        try {
            root = RootFs.of(options.root(), source.fromContainer(), options.lookupTime());
            RootFs opened = root;
            return open(Checkpoint.load(source.images()), root, options, () -> {
                try (source; opened) {
                    // the root's files, then the unpacked checkpoint
                }
            });
        } catch (IOException | RuntimeException | Error e) {
            try {
                if (root != null) {
                    root.close();
                }
            } finally {
                source.close();
            }
            throw e;
        }
    }

    /**
     * The cores of {@code checkpoint}, opened already with its {@code root}; {@code owner}, what
     * keeps the checkpoint's files and the root open, is closed with this (and when planning
     * fails), after the files this opened. {@code options.root()} is not looked at.
     */
    public static CheckpointCores open(Checkpoint checkpoint, RootFs root, Options options, Closeable owner)
            throws IOException {
        var cores = new CheckpointCores(owner, root, checkpoint,
                new Converter(checkpoint, root, new DumpFilter(options.filter()), options.fileNoteLimit()));
        try {
            cores.planAll(options.pids());
            return cores;
        } catch (IOException | RuntimeException | Error e) {
            cores.close();
            throw e;
        }
    }

    private void planAll(List<Integer> pids) throws IOException {
        if (pids == null) {
            pids = List.of(checkpoint.tree().get(0).pid());
        }
        List<Checkpoint.TreeEntry> selected = new ArrayList<>();
        for (int pid : pids) {
            selected.add(checkpoint.tree().stream().filter(e -> e.pid() == pid).findFirst().orElseThrow(() ->
                    new CheckpointException(checkpoint.dir().display("pstree.img"), "no process " + pid
                            + " in the checkpoint (it has " + checkpoint.tree().stream()
                            .map(e -> String.valueOf(e.pid())).reduce((a, b) -> a + ", " + b).orElse("none") + ")")));
        }
        if (selected.isEmpty()) {
            selected = checkpoint.tree();
        }
        for (var entry : selected.stream().distinct().toList()) {
            Process process;
            try {
                process = checkpoint.process(entry);
            } catch (IOException e) {
                left.add(new Left(entry.pid(), null, null, e));
                continue;
            }
            if (!process.hasMemory()) {
                left.add(new Left(process.pid(), process.comm(), process.state(), null));
                continue;
            }
            try {
                List<String> noteWarnings = new ArrayList<>();
                CoreContent content = plan(process, noteWarnings);
                List<String> warnings = new ArrayList<>();
                for (String w : noteWarnings) {
                    warnings.add(Converter.coreName(process.pid()) + ": " + w);
                }
                var core = new Core(process, content, warnings);
                core.lastUsed = System.nanoTime();
                cores.add(core);
                letGo(core);
            } catch (IOException e) {
                left.add(new Left(process.pid(), process.comm(), process.state(), e));
            }
        }
    }

    private CoreContent plan(Process process, List<String> noteWarnings) throws IOException {
        ProcessMemory memory = ProcessMemory.open(checkpoint, process, root, files);
        CoreLayout layout = converter.plan(process, memory, noteWarnings);
        return new CoreContent(layout, memory);
    }

    public Checkpoint checkpoint() {
        return checkpoint;
    }

    /** The root mapped files are read under, or null when none. */
    public Path root() {
        return root.root();
    }

    public RootFs rootFs() {
        return root;
    }

    public List<Core> cores() {
        return List.copyOf(cores);
    }

    public List<Left> left() {
        return List.copyOf(left);
    }

    /**
     * What the images of {@code core}'s process hold that the core cannot, one line each, as
     * convert says it: looked for only when asked (saved pages that are holes in a sparse pages
     * file take a walk through every page run).
     */
    public List<String> warnings(Core core) throws IOException {
        List<String> out = new ArrayList<>(content(cores.indexOf(core)).memory().warnings());
        out.addAll(core.noteWarnings);
        return out;
    }

    /** The plan of a core: kept, or made again as it was. */
    CoreContent content(int index) throws IOException {
        Core core = cores.get(index);
        CoreContent content = core.content;
        if (content == null) {
            synchronized (core) {
                content = core.content;
                if (content == null) {
                    content = plan(core.process, new ArrayList<>());
                    if (content.size() != core.size) {
                        throw new IllegalStateException(core.name + " planned again is " + content.size()
                                + " bytes, first " + core.size);
                    }
                    core.content = content;
                    core.lastUsed = System.nanoTime();
                    letGo(core);
                }
            }
        }
        return content;
    }

    /** Lets go of a core's plan, as the budget does. */
    void forget(int index) {
        cores.get(index).content = null;
    }

    /**
     * Lets go of the plans used least recently, but {@code kept}'s, while the kept ones weigh more
     * than the budget. A read that has a plan already goes on with it.
     */
    private synchronized void letGo(Core kept) {
        long total = 0;
        for (Core c : cores) {
            CoreContent content = c.content;
            total += content == null ? 0 : weight(content);
        }
        while (total > PLAN_BUDGET) {
            Core oldest = null;
            for (Core c : cores) {
                if (c.content != null && c != kept && (oldest == null || c.lastUsed < oldest.lastUsed)) {
                    oldest = c;
                }
            }
            if (oldest == null) {
                return;
            }
            total -= weight(oldest.content);
            oldest.content = null;
        }
    }

    /** Roughly the heap a plan takes: its notes, a segment record each, a page index run each. */
    private static long weight(CoreContent content) {
        CoreLayout layout = content.layout();
        return 2 * layout.notesSize() + 160L * layout.segments().size() + 56L * content.memory().pages().runs()
                + 4096;
    }

    @Override
    public int count() {
        return cores.size();
    }

    @Override
    public String name(int file) {
        return cores.get(file).name;
    }

    @Override
    public long size(int file) {
        return cores.get(file).size;
    }

    @Override
    public void read(int file, long offset, int length, FuseMount.Reply reply) throws IOException {
        CoreContent content = content(file);
        cores.get(file).lastUsed = System.nanoTime();
        content.read(offset, offset + length, new CoreContent.Pieces() {
            @Override
            public void bytes(long at, byte[] data, int from, int n) {
                reply.bytes(data, from, n);
            }

            @Override
            public void file(long at, long n, OpenFile source, long sourceOffset) {
                reply.file(source, sourceOffset, n);
            }

            @Override
            public void hole(long at, long n) {
                reply.zeros(n);
            }
        });
    }

    @Override
    public long seek(int file, long offset, boolean data) throws IOException {
        CoreContent content = content(file);
        return data ? content.dataFrom(offset, BLOCK) : content.holeFrom(offset, BLOCK);
    }

    @Override
    public void close() throws IOException {
        try (owner; files) {
            for (Core c : cores) {
                c.content = null;
            }
        }
    }
}
