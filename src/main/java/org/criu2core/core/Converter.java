package org.criu2core.core;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.criu2core.arch.Arch;
import org.criu2core.container.RootFs;
import org.criu2core.elf.Note;
import org.criu2core.image.CheckpointException;
import org.criu2core.model.Checkpoint;
import org.criu2core.model.Process;
import org.criu2core.sys.FileException;
import org.criu2core.sys.OpenFile;

/**
 * Makes the core of one process: images, then model, then layout plan, then writer. The core
 * is written to a temporary file beside its name and renamed once complete, so a core.PID is
 * only ever a whole core.
 */
public final class Converter {
    /**
     * What a conversion made; {@code warnings} say what the images hold that the core cannot, each
     * one line naming the image.
     */
    public record Result(int pid, Path core, long size, int segments, int threads, String arch, long lazyPages,
                         List<String> warnings) {
        public Result {
            warnings = List.copyOf(warnings);
        }
    }

    /** Larger than any filesystem holds (ext4: 16 TiB, XFS: 8 EiB); beyond, sums could overflow. */
    static final long MAX_CORE_SIZE = 1L << 62;

    private final Checkpoint checkpoint;
    private final RootFs root;
    private final DumpFilter filter;
    private final long fileNoteLimit;

    public Converter(Checkpoint checkpoint, RootFs root, DumpFilter filter) {
        this(checkpoint, root, filter, ProcessNotes.DEFAULT_FILE_NOTE_LIMIT);
    }

    /** {@code fileNoteLimit}: NT_FILE is left out from this size on, as the kernel's core_file_note_size_limit. */
    public Converter(Checkpoint checkpoint, RootFs root, DumpFilter filter, long fileNoteLimit) {
        this.checkpoint = checkpoint;
        this.root = root;
        this.filter = filter;
        this.fileNoteLimit = fileNoteLimit;
    }

    /** The name of the core of {@code pid}, as the kernel's core_pattern "core.%p" has it. */
    public static String coreName(int pid) {
        return "core." + Integer.toUnsignedString(pid);
    }

    public Result convert(Process process, Path outDir) throws IOException {
        return convert(process, outDir, Progress.NONE);
    }

    public Result convert(Process process, Path outDir, Progress progress) throws IOException {
        try (var memory = ProcessMemory.open(checkpoint, process, root)) {
            List<String> noteWarnings = new ArrayList<>();
            CoreLayout layout = plan(process, memory, noteWarnings);
            Path core = outDir.resolve(coreName(process.pid()));
            checkSpace(core, layout, memory);
            progress.start(core.getFileName().toString(), layout.fileSize());
            List<String> warnings = new ArrayList<>(memory.warnings());
            for (String warning : noteWarnings) {
                warnings.add(core + ": " + warning);
            }
            // the lazy pages of the core are those the write visits (the space check may have
            // visited them before)
            long lazyBefore = memory.lazyPages();
            var content = new CoreContent(layout, memory);
            AtomicFile.write(core, channel -> CoreWriter.write(content, channel, progress));
            return new Result(process.pid(), core, Files.size(core), layout.segments().size(),
                    process.threads().size(), layout.arch().name(), memory.lazyPages() - lazyBefore, warnings);
        }
    }

    /**
     * Plans the core of {@code process}, whose memory is {@code memory}: its notes, what of each
     * VMA it carries, where everything goes. The one plan both a written core and a mounted one
     * are made from. What the notes cannot hold is added to {@code noteWarnings}.
     */
    public CoreLayout plan(Process process, ProcessMemory memory, List<String> noteWarnings) throws IOException {
        Arch arch = memory.arch();
        long[] auxv = memory.auxv();
        check(process, arch);
        List<Note> notes = ProcessNotes.build(process, arch, memory, auxv, fileNoteLimit, noteWarnings::add);
        long[] sizes = new long[process.vmas().size()];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = filter.dumpSize(process.vmas().get(i), memory);
        }
        long total = 0;
        for (long size : sizes) {
            total += size;
            if (total < 0 || total > MAX_CORE_SIZE) {
                throw new CheckpointException(checkpoint.dir().display("mm-" + process.pid() + ".img"),
                        "the VMAs to dump add up to more than " + MAX_CORE_SIZE + " bytes");
            }
        }
        return CoreLayout.plan(arch, arch.elfFlags(auxv), notes, process.vmas(), sizes, memory.pageSize());
    }

    /**
     * The bytes the core will take on disk must fit in its filesystem's free space: a sparse
     * source's holes and unsaved pages stay holes, and on XFS and btrfs pages cloned from files on
     * the same filesystem take no space, so a core of any size may need little. Counted piece by
     * piece only when the core's whole size would not fit.
     */
    private static void checkSpace(Path core, CoreLayout layout, ProcessMemory memory) throws IOException {
        Path dir = core.toAbsolutePath().getParent();
        long free = Files.getFileStore(dir).getUsableSpace();
        if (layout.fileSize() <= free) {
            return;
        }
        // headers and notes, and section header 0 after the segments when there is one
        long[] bytes = {layout.dataOffset()
                + (layout.extendedNumbering() ? layout.fileSize() - layout.sectionHeaderOffset() : 0)};
        Map<OpenFile, Boolean> clones = new IdentityHashMap<>();
        for (CoreLayout.Segment segment : layout.segments()) {
            long start = segment.vma().start();
            if (segment.fileSize() > 0) {
                memory.forEach(segment.vma(), start, start + segment.fileSize(), (address, length, file, offset) -> {
                    if (file == null) {
                        return;
                    }
                    Boolean cloned = clones.get(file);
                    if (cloned == null) {
                        cloned = file.mayCloneInto(dir);
                        clones.put(file, cloned);
                    }
                    if (!cloned) {
                        bytes[0] += length;
                    }
                });
            }
        }
        if (bytes[0] > free) {
            throw new FileException(core.toString(), "needs " + bytes[0] + " bytes on disk (of " + layout.fileSize()
                    + ", the rest holes" + (clones.containsValue(true) ? " and clones" : "") + "), and " + dir
                    + " has " + free + " bytes free");
        }
    }

    /** Every thread must have the registers its core notes are made of. */
    private void check(Process process, Arch arch) throws CheckpointException {
        for (var thread : process.threads()) {
            if (!arch.hasRegisters(thread.core())) {
                throw new CheckpointException(checkpoint.dir().display("core-" + thread.tid() + ".img"),
                        "thread " + thread.tid() + " has no " + arch.name() + " registers");
            }
        }
    }
}
