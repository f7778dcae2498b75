package org.criu2core.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.criu2core.image.CheckpointException;
import org.criu2core.image.ImageFormatException;
import org.criu2core.image.ImageReader;
import org.criu2core.image.PagemapEntryReader;
import org.criu2core.image.proto.Pagemap.pagemap_entry;
import org.criu2core.image.proto.Pagemap.pagemap_head;

/**
 * Where each saved page of one address space (or shmem object) lives, from a pagemap image:
 * sorted, non-overlapping runs of pages, each either in a pages file at a byte offset (this
 * snapshot's or, for PE_PARENT, a parent snapshot's) or lazy (not in the images at all). Pages in
 * no run were not saved: holes. Lookups are binary searches over the run starts.
 */
public final class PageIndex {
    /** criu/include/pagemap.h */
    static final int PE_PARENT = 1 << 0;
    static final int PE_LAZY = 1 << 1;
    static final int PE_PRESENT = 1 << 2;
    static final int PE_KNOWN = PE_PARENT | PE_LAZY | PE_PRESENT;

    /** A run's pages are in {@link #file(int)}; else they are lazy: not in the images. */
    private static final Path LAZY = null;

    private final long pageSize;
    private final long[] start;
    private final long[] end;
    private final Path[] file;
    private final long[] fileOffset;
    private final long[] entryOffset;
    private final int count;
    private final List<String> warnings;

    private PageIndex(long pageSize, long[] start, long[] end, Path[] file, long[] fileOffset, long[] entryOffset,
                      int count, List<String> warnings) {
        this.pageSize = pageSize;
        this.start = start;
        this.end = end;
        this.file = file;
        this.fileOffset = fileOffset;
        this.entryOffset = entryOffset;
        this.count = count;
        this.warnings = List.copyOf(warnings);
    }

    public static PageIndex empty(long pageSize) {
        return new PageIndex(pageSize, new long[0], new long[0], new Path[0], new long[0], new long[0], 0, List.of());
    }

    /** What the pagemaps (this one and its parents') hold that this tool leaves out. */
    public List<String> warnings() {
        return warnings;
    }

    /** Where in the pagemap image the entry that begins the run is, for messages. */
    public long entryOffset(int run) {
        return entryOffset[run];
    }

    public long pageSize() {
        return pageSize;
    }

    public int runs() {
        return count;
    }

    public long start(int run) {
        return start[run];
    }

    public long end(int run) {
        return end[run];
    }

    /** True when the run's pages are in a pages file; false for lazy pages. */
    public boolean present(int run) {
        return file[run] != LAZY;
    }

    public Path file(int run) {
        return file[run];
    }

    /** Byte offset in {@link #file(int)} of the run's first page. */
    public long fileOffset(int run) {
        return fileOffset[run];
    }

    /** The first run that ends after {@code address}, or {@link #runs()} when none does. */
    public int firstRunEndingAfter(long address) {
        int lo = 0;
        int hi = count;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(end[mid], address) <= 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** The run holding {@code address}, or -1 when its page is a hole. */
    public int runAt(long address) {
        int i = firstRunEndingAfter(address);
        return i < count && Long.compareUnsigned(start[i], address) <= 0 ? i : -1;
    }

    /** Whether any page of [from, to) is saved, present or lazy. */
    public boolean anyIn(long from, long to) {
        int i = firstRunEndingAfter(from);
        return i < count && Long.compareUnsigned(start[i], to) < 0;
    }

    /**
     * Reads a pagemap image of {@code dir} (pagemap-PID.img or pagemap-shmem-SHMID.img), following
     * PE_PARENT pages into the parent snapshots.
     */
    public static PageIndex load(CheckpointDir dir, String pagemap, long pageSize) throws IOException {
        return new Loader(pageSize).load(dir, pagemap);
    }

    /** Loads each snapshot's pagemap once, however many runs refer to it. */
    private static final class Loader {
        private final long pageSize;
        private final Map<Path, PageIndex> parents = new HashMap<>();

        Loader(long pageSize) {
            this.pageSize = pageSize;
        }

        PageIndex load(CheckpointDir dir, String pagemap) throws IOException {
            var reading = new PagemapReading(dir, pagemap);
            // entry by entry, none kept: a pagemap can have hundreds of thousands
            dir.forEach(pagemap, "PAGEMAP", reading);
            return reading.index();
        }

        /** The state of reading one pagemap into runs. */
        private final class PagemapReading implements ImageReader.RawEntryVisitor {
            private final CheckpointDir dir;
            private final String pagemap;
            private final String name;
            private final long imageSize;
            private Runs runs;
            private Optional<PageIndex> parent = Optional.empty();
            private String pagesName;
            private Path pagesFile;
            private long pagesSize;
            private long offset;
            private long previousEnd;
            private int unknownFlags;
            private final PagemapEntryReader fields = new PagemapEntryReader();

            PagemapReading(CheckpointDir dir, String pagemap) throws IOException {
                this.dir = dir;
                this.pagemap = pagemap;
                this.name = dir.display(pagemap);
                this.imageSize = Math.max(dir.size(pagemap), 0);
            }

            @Override
            public void visit(int n, long entryOffset, byte[] image, int at, int length) throws IOException {
                if (n == 0) {
                    var head = (pagemap_head) ImageReader.parseEntry(pagemap_head.getDefaultInstance(), image, at,
                            length, name, entryOffset, n);
                    pagesName = "pages-" + Integer.toUnsignedString(head.getPagesId()) + ".img";
                    pagesFile = dir.file(pagesName);
                    pagesSize = dir.size(pagesName);
                    // once the reader has checked the image against the heap; CRIU's entries take
                    // about 16 bytes: room for all but the longest pagemaps, without copies
                    runs = new Runs((int) Math.min(imageSize / 16 + 16, 1 << 20));
                    return;
                }
                if (!fields.read(image, at, length)) {
                    readUnusual(n, entryOffset, image, at, length);
                }
                unknownFlags |= fields.getFlags() & ~PE_KNOWN;
                long vaddr = fields.getVaddr();
                long pages = fields.hasNrPages() ? fields.getNrPages()
                        : Integer.toUnsignedLong(fields.getCompatNrPages());
                int flags = fields.hasFlags() ? fields.getFlags() : fields.getInParent() ? PE_PARENT : PE_PRESENT;
                if (vaddr % pageSize != 0) {
                    throw new ImageFormatException(name, entryOffset, String.format(
                            "entry %d: vaddr 0x%x is not a multiple of the page size %d", n, vaddr, pageSize));
                }
                long bytes = pages > 0 && pages <= Long.MAX_VALUE / pageSize ? pages * pageSize : -1;
                long end = vaddr + bytes;
                if (bytes < 0 || Long.compareUnsigned(end, vaddr) <= 0) {
                    throw new ImageFormatException(name, entryOffset, String.format(
                            "entry %d: %s pages at 0x%x do not fit in the address space", n,
                            Long.toUnsignedString(pages), vaddr));
                }
                if (Long.compareUnsigned(vaddr, previousEnd) < 0) {
                    throw new ImageFormatException(name, entryOffset, String.format(
                            "entry %d: pages at 0x%x overlap or come before the previous entry's (ending at 0x%x)",
                            n, vaddr, previousEnd));
                }
                previousEnd = end;
                if ((flags & PE_PRESENT) != 0) {
                    if (pagesSize < 0) {
                        throw new CheckpointException(dir.display(pagesName), "missing from the checkpoint, which "
                                + pagemap + " names for its pages");
                    }
                    if (offset + bytes > pagesSize) {
                        throw new ImageFormatException(name, entryOffset, String.format(
                                "entry %d: pages up to byte %d of %s, which has %d bytes", n, offset + bytes,
                                pagesName, pagesSize));
                    }
                    runs.add(vaddr, end, pagesFile, offset, entryOffset);
                    offset += bytes;
                } else if ((flags & PE_PARENT) != 0) {
                    if (parent.isEmpty()) {
                        parent = Optional.of(parentIndex(dir, pagemap, name, entryOffset));
                    }
                    runs.addFromParent(parent.get(), vaddr, end, name, entryOffset);
                } else if ((flags & PE_LAZY) != 0) {
                    runs.add(vaddr, end, LAZY, 0, entryOffset);
                } else {
                    throw new ImageFormatException(name, entryOffset, "entry " + n + ": flags 0x"
                            + Integer.toHexString(flags) + " say neither present, in parent nor lazy");
                }
            }

            /**
             * Reads an entry in a form CRIU does not write into {@link #fields}: protobuf's parser
             * says what is wrong with it or which fields it does not know, and a valid entry is read
             * again from its canonical form.
             */
            private void readUnusual(int n, long entryOffset, byte[] image, int at, int length)
                    throws ImageFormatException {
                var pe = (pagemap_entry) ImageReader.parseEntry(pagemap_entry.getDefaultInstance(), image, at, length,
                        name, entryOffset, n);
                if (!pe.getUnknownFields().asMap().isEmpty()) {
                    // CRIU's --compress (criu-dev, 2026) adds fields saying how each run's bytes are
                    // packed in the pages file; with any field this tool does not know, the pages
                    // cannot be found where it looks for them
                    throw new ImageFormatException(name, entryOffset, "entry " + n + " has pagemap_entry fields "
                            + pe.getUnknownFields().asMap().keySet() + " this tool does not know: compressed pages "
                            + "(criu dump --compress) are not supported; `crit decompress` the checkpoint first");
                }
                byte[] canonical = pe.toByteArray();
                if (!fields.read(canonical, 0, canonical.length)) {
                    throw new IllegalStateException("pagemap_entry " + pe + " in its canonical form was not read");
                }
            }

            PageIndex index() throws ImageFormatException {
                if (pagesName == null) {
                    throw new ImageFormatException(name, 0, "pagemap without its head entry");
                }
                List<String> warnings = new ArrayList<>();
                if (unknownFlags != 0) {
                    warnings.add(String.format("%s: pagemap flags 0x%x (from a CRIU newer than this tool) left out",
                            name, unknownFlags));
                }
                parent.ifPresent(p -> warnings.addAll(p.warnings()));
                return runs.build(pageSize, warnings);
            }
        }

        private PageIndex parentIndex(CheckpointDir dir, String pagemap, String name, long at) throws IOException {
            CheckpointDir parentDir = dir.parent().orElseThrow(() -> new ImageFormatException(name, at,
                    "pages are in the parent snapshot, but " + dir.display(CheckpointDir.PARENT) + " is missing"));
            Path key = parentDir.path().toRealPath();
            PageIndex cached = parents.get(key);
            if (cached == null) {
                if (!parentDir.has(pagemap)) {
                    throw new ImageFormatException(name, at, "pages are in the parent snapshot, which has no "
                            + pagemap);
                }
                cached = load(parentDir, pagemap);
                parents.put(key, cached);
            }
            return cached;
        }
    }

    /** Growable parallel arrays of runs, merged where adjacent in the same file. */
    private static final class Runs {
        long[] start;
        long[] end;
        Path[] file;
        long[] offset;
        long[] entry;
        int count;

        Runs(int capacity) {
            capacity = Math.max(capacity, 4);
            start = new long[capacity];
            end = new long[capacity];
            file = new Path[capacity];
            offset = new long[capacity];
            entry = new long[capacity];
        }

        void add(long from, long to, Path in, long at, long entryAt) {
            if (count > 0 && end[count - 1] == from && java.util.Objects.equals(file[count - 1], in)
                    && (in == LAZY || offset[count - 1] + (end[count - 1] - start[count - 1]) == at)) {
                end[count - 1] = to;
                return;
            }
            if (count == start.length) {
                int n = count * 2;
                start = Arrays.copyOf(start, n);
                end = Arrays.copyOf(end, n);
                file = Arrays.copyOf(file, n);
                offset = Arrays.copyOf(offset, n);
                entry = Arrays.copyOf(entry, n);
            }
            entry[count] = entryAt;
            start[count] = from;
            end[count] = to;
            file[count] = in;
            offset[count] = at;
            count++;
        }

        /** [from, to) as the parent has it; every page must be there. */
        void addFromParent(PageIndex parent, long from, long to, String name, long at) throws ImageFormatException {
            long cursor = from;
            for (int i = parent.firstRunEndingAfter(from); cursor != to; i++) {
                if (i >= parent.count || Long.compareUnsigned(parent.start[i], cursor) > 0) {
                    throw new ImageFormatException(name, at, String.format(
                            "page 0x%x is in the parent snapshot, which did not save it", cursor));
                }
                long runTo = Long.compareUnsigned(parent.end[i], to) < 0 ? parent.end[i] : to;
                long skip = cursor - parent.start[i];
                add(cursor, runTo, parent.file[i], parent.file[i] == LAZY ? 0 : parent.fileOffset[i] + skip, at);
                cursor = runTo;
            }
        }

        PageIndex build(long pageSize, List<String> warnings) {
            return new PageIndex(pageSize, start, end, file, offset, entry, count, warnings);
        }
    }
}
