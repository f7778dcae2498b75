package org.criu2core.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.criu2core.arch.Arch;
import org.criu2core.arch.Auxv;
import org.criu2core.container.RootFs;
import org.criu2core.image.CheckpointException;
import org.criu2core.model.Checkpoint;
import org.criu2core.model.GhostFile;
import org.criu2core.model.MappedFile;
import org.criu2core.model.PageIndex;
import org.criu2core.model.Process;
import org.criu2core.model.Vma;
import org.criu2core.sys.OpenFile;

/**
 * The memory of one process as the images and --root hold it: for any range of a VMA, which
 * bytes are in which file. Saved pages come from the pages files (this snapshot's or a parent's),
 * MAP_SHARED anonymous memory and memfds from their shmem pagemaps, other file-backed pages from
 * the mapped file under --root. What is in none of them is a hole: zeros the writer skips.
 */
public final class ProcessMemory implements AutoCloseable {
    /** Receives the pieces of a range in address order; {@code file} is null for a hole. */
    @FunctionalInterface
    public interface PieceConsumer {
        void accept(long address, long length, OpenFile file, long fileOffset) throws IOException;
    }

    private final Checkpoint checkpoint;
    private final Process process;
    private final Arch arch;
    private final long[] auxv;
    private final PageIndex pages;
    private final RootFs root;
    private final ConcurrentHashMap<Long, PageIndex> shmem = new ConcurrentHashMap<>();
    private final SourceFiles files;
    /** Whether {@link #files} are this memory's own, closed with it. */
    private final boolean ownFiles;
    private final LongAdder lazyPages = new LongAdder();

    private ProcessMemory(Checkpoint checkpoint, Process process, Arch arch, long[] auxv, long pageSize, RootFs root,
                          SourceFiles files, boolean ownFiles) throws IOException {
        this.checkpoint = checkpoint;
        this.process = process;
        this.arch = arch;
        this.auxv = auxv;
        this.pages = checkpoint.pages(process, pageSize);
        this.root = root;
        this.files = files;
        this.ownFiles = ownFiles;
    }

    /**
     * The memory of a process that has some: its architecture from its core images, its auxiliary
     * vector, and its pages in units of the page size AT_PAGESZ gives. Its pages files are opened
     * as they are first read, and closed with it.
     */
    public static ProcessMemory open(Checkpoint checkpoint, Process process, RootFs root) throws IOException {
        return open(checkpoint, process, root, null);
    }

    /**
     * As {@link #open(Checkpoint, Process, RootFs)}, its pages files opened through {@code files}
     * (null: its own), which stay open after {@link #close}: the files of a mount, shared by the
     * memories of all its processes. Once open, the memory may be read by many threads at once.
     */
    public static ProcessMemory open(Checkpoint checkpoint, Process process, RootFs root, SourceFiles files)
            throws IOException {
        Arch arch = Arch.of(process, checkpoint.dir().display("core-" + process.pid() + ".img"));
        if (arch.elfClass().word() == 4) {
            for (var vma : process.vmas()) {
                if (Long.compareUnsigned(vma.end(), 1L << 32) > 0) {
                    throw new CheckpointException(checkpoint.dir().display("mm-" + process.pid() + ".img"),
                            String.format("VMA 0x%x-0x%x is beyond the 4 GiB of a 32-bit %s task", vma.start(),
                                    vma.end(), arch.name()));
                }
            }
        }
        long[] auxv = arch.auxv(process.mm().getMmSavedAuxvList());
        long pageSize = Auxv.pageSize(auxv);
        if (pageSize < 0) {
            throw new CheckpointException(checkpoint.dir().display("mm-" + process.pid() + ".img"),
                    "AT_PAGESZ in mm_saved_auxv is not a page size");
        }
        return new ProcessMemory(checkpoint, process, arch, auxv, pageSize, root,
                files == null ? new SourceFiles() : files, files == null);
    }

    public Arch arch() {
        return arch;
    }

    /** The auxiliary vector in the task's words, AT_NULL included. */
    public long[] auxv() {
        return auxv.clone();
    }

    public Process process() {
        return process;
    }

    public PageIndex pages() {
        return pages;
    }

    public RootFs root() {
        return root;
    }

    public long pageSize() {
        return pages.pageSize();
    }

    /** Whether the images hold any page of the VMA itself (not of a file it maps). */
    public boolean hasSavedPages(Vma vma) {
        return pages.anyIn(vma.start(), vma.end());
    }

    /**
     * What the core cannot hold as the process had it: what the images carry that this tool does
     * not know, and saved pages that are holes in their pages file.
     */
    public List<String> warnings() throws IOException {
        List<String> out = new ArrayList<>(process.warnings());
        out.addAll(pages.warnings());
        out.addAll(punchedPages());
        return out;
    }

    /**
     * Pages a pagemap says are in a pages file where that file has a hole: `criu dedup` and
     * `criu dump --auto-dedup` punch out a parent's pages once a later dump has its own copy, and
     * leave its pagemap as it was. They read as zeros, which may not be what the process had (or
     * may: cp --sparse makes holes of pages that were zeros). One line per pages file.
     */
    private List<String> punchedPages() throws IOException {
        // most pages files have no holes at all (statx: every block allocated), and the runs of one
        // file share its Path: deciding once per file spares walking tens of thousands of runs
        Set<Path> mayHaveHoles = new HashSet<>();
        Path previous = null;
        for (int r = 0; r < pages.runs(); r++) {
            Path path = pages.file(r);
            if (path != previous && pages.present(r)) {
                previous = path;
                if (open(path).mayHaveHoles()) {
                    mayHaveHoles.add(path);
                }
            }
        }
        if (mayHaveHoles.isEmpty()) {
            return List.of();
        }
        Map<Path, long[]> byFile = new java.util.LinkedHashMap<>(); // pages, first address, end address
        for (int r = 0; r < pages.runs(); r++) {
            if (!pages.present(r) || !mayHaveHoles.contains(pages.file(r))) {
                continue;
            }
            Path path = pages.file(r);
            withHoles(open(path), pages.start(r), pages.end(r) - pages.start(r), pages.fileOffset(r),
                    (address, length, file, offset) -> {
                        if (file == null) {
                            long first = address / pageSize() * pageSize();
                            long end = (address + length + pageSize() - 1) / pageSize() * pageSize();
                            long[] seen = byFile.computeIfAbsent(path, f -> new long[] {0, first, end});
                            seen[0] += (end - first) / pageSize();
                            seen[2] = end;
                        }
                    });
        }
        List<String> out = new ArrayList<>();
        byFile.forEach((file, seen) -> out.add(String.format("%s: holes where %d saved page%s between 0x%x and 0x%x "
                + "should be: they read as zeros, right if a copy (cp --sparse, tar -S) made holes of pages of "
                + "zeros, wrong if criu dedup punched them out", file, seen[0], seen[0] == 1 ? "" : "s", seen[1],
                seen[2])));
        return out;
    }

    /** Pages that were lazy (left to a page server) in the ranges visited so far: read as zeros. */
    public long lazyPages() {
        return lazyPages.sum();
    }

    /** Visits [from, to) of {@code vma} as runs of file bytes and holes. */
    public void forEach(Vma vma, long from, long to, PieceConsumer out) throws IOException {
        if (vma.shmem()) {
            long shift = vma.pgoff() - vma.start();
            walk(shmem(vma.file().shmid()), from + shift, to + shift,
                    (a, n, f, o) -> out.accept(a - shift, n, f, o), (a, n) -> out.accept(a - shift, n, null, 0));
        } else {
            walk(pages, from, to, out, (a, n) -> fromMappedFile(vma, a, n, out));
        }
    }

    /** Reads {@code length} bytes at {@code address}; holes and unmapped addresses read as zeros. */
    public byte[] read(long address, int length) throws IOException {
        byte[] out = new byte[length];
        long end = address + length;
        for (Vma vma : process.vmas()) {
            // addresses are unsigned: [vsyscall] is above 2^63
            long from = Long.compareUnsigned(address, vma.start()) > 0 ? address : vma.start();
            long to = Long.compareUnsigned(end, vma.end()) < 0 ? end : vma.end();
            if (Long.compareUnsigned(from, to) >= 0) {
                continue;
            }
            forEach(vma, from, to, (a, n, file, offset) -> {
                if (file != null) {
                    ByteBuffer dst = ByteBuffer.wrap(out, (int) (a - address), (int) n);
                    while (dst.hasRemaining()) {
                        if (file.channel().read(dst, offset + (dst.position() - (a - address))) < 0) {
                            break;
                        }
                    }
                }
            });
        }
        return out;
    }

    private interface Gap {
        void accept(long address, long length) throws IOException;
    }

    private void walk(PageIndex index, long from, long to, PieceConsumer present, Gap gap) throws IOException {
        long cursor = from;
        int i = index.firstRunEndingAfter(from);
        while (Long.compareUnsigned(cursor, to) < 0) {
            if (i >= index.runs() || Long.compareUnsigned(index.start(i), to) >= 0) {
                gap.accept(cursor, to - cursor);
                return;
            }
            if (Long.compareUnsigned(index.start(i), cursor) > 0) {
                gap.accept(cursor, index.start(i) - cursor);
                cursor = index.start(i);
            }
            long runTo = Long.compareUnsigned(index.end(i), to) < 0 ? index.end(i) : to;
            if (index.present(i)) {
                withHoles(open(index.file(i)), cursor, runTo - cursor, index.fileOffset(i) + (cursor - index.start(i)),
                        present);
            } else {
                lazyPages.add((runTo - cursor) / index.pageSize());
                present.accept(cursor, runTo - cursor, null, 0);
            }
            cursor = runTo;
            i++;
        }
    }

    /** Pages CRIU did not save of a file-backed VMA are the file's, up to its end. */
    private void fromMappedFile(Vma vma, long address, long length, PieceConsumer out) throws IOException {
        long shift = address - (vma.pgoff() + (address - vma.start()));
        forFile(vma.file(), vma.pgoff() + (address - vma.start()), length,
                (offset, n, channel, at) -> out.accept(offset + shift, n, channel, at));
    }

    /**
     * Visits [offset, offset + length) of a mapped file as runs of bytes in some file and holes:
     * the file under --root; for a file deleted while mapped, its ghost image or the link CRIU
     * made to it, never what now has its name.
     */
    private void forFile(MappedFile file, long offset, long length, PieceConsumer out) throws IOException {
        if (file == null || file.kind() != MappedFile.Kind.REGULAR) {
            out.accept(offset, length, null, 0);
            return;
        }
        MappedFile.Deleted deleted = file.deleted();
        if (deleted != null && deleted.ghost() != null) {
            fromGhost(deleted.ghost(), offset, length, out);
            return;
        }
        String name = deleted == null ? file.path() : deleted.linkedPath();
        var opened = name == null ? java.util.Optional.<OpenFile>empty() : root.open(name);
        if (opened.isEmpty()) {
            out.accept(offset, length, null, 0);
            return;
        }
        long available = Math.max(0, Math.min(length, opened.get().size() - offset));
        if (available > 0) {
            withHoles(opened.get(), offset, available, offset, out);
        }
        if (available < length) {
            out.accept(offset + available, length - available, null, 0);
        }
    }

    private void fromGhost(GhostFile ghost, long offset, long length, PieceConsumer out) throws IOException {
        OpenFile image = open(ghost.image());
        long cursor = offset;
        long end = offset + length;
        for (GhostFile.Chunk c : ghost.chunks()) {
            long from = Math.max(cursor, c.fileOffset());
            long to = Math.min(end, c.fileOffset() + c.length());
            if (from >= to) {
                continue;
            }
            if (from > cursor) {
                out.accept(cursor, from - cursor, null, 0);
            }
            withHoles(image, from, to - from, c.imageOffset() + (from - c.fileOffset()), out);
            cursor = to;
        }
        if (cursor < end) {
            out.accept(cursor, end - cursor, null, 0);
        }
    }

    /** The first {@code length} bytes of a mapped file; what is in none of its sources reads as zeros. */
    byte[] fileHead(MappedFile file, int length) throws IOException {
        byte[] head = new byte[length];
        forFile(file, 0, length, (offset, n, source, at) -> {
            if (source != null) {
                source.channel().read(ByteBuffer.wrap(head, (int) offset, (int) n), at);
            }
        });
        return head;
    }

    private PageIndex shmem(long shmid) throws IOException {
        PageIndex index = shmem.get(shmid);
        if (index == null) {
            // two threads may load the same pagemap at once; both get the first one kept
            PageIndex loaded = checkpoint.shmemPages(shmid, pages.pageSize());
            index = shmem.putIfAbsent(shmid, loaded);
            if (index == null) {
                index = loaded;
            }
        }
        return index;
    }

    /**
     * Passes on [offset, offset + length) of {@code file} at {@code address}, its holes as holes:
     * a sparse mapped file's holes are the zeros it reads as, and need no bytes in the core.
     */
    private static void withHoles(OpenFile file, long address, long length, long offset, PieceConsumer out)
            throws IOException {
        if (!file.mayHaveHoles()) {
            out.accept(address, length, file, offset);
            return;
        }
        long end = offset + length;
        for (long cursor = offset; cursor < end; ) {
            long data = Math.min(file.dataFrom(cursor), end);
            if (data > cursor) {
                out.accept(address + (cursor - offset), data - cursor, null, 0);
            }
            if (data == end) {
                return;
            }
            long hole = Math.min(file.holeFrom(data), end);
            out.accept(address + (data - offset), hole - data, file, data);
            cursor = hole;
        }
    }

    /** The pages file or ghost image at {@code path}, opened once: the file itself, not a link to one. */
    private OpenFile open(Path path) throws IOException {
        return files.open(path);
    }

    @Override
    public void close() throws IOException {
        if (ownFiles) {
            files.close();
        }
    }
}
