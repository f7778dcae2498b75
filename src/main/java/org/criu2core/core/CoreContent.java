package org.criu2core.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import org.criu2core.elf.Note;
import org.criu2core.sys.OpenFile;

/**
 * The bytes of a planned core, any range of them, as pieces: bytes made from the plan (the ELF
 * header, the program headers, the notes, section header 0), runs of a file (pages files, parent
 * snapshots, ghost images, mapped files under the root: what {@link ProcessMemory} says), and
 * holes. {@link CoreWriter} writes a whole core from it in file order; a mounted core
 * (org.criu2core.mount) reads any range of it on demand: one plan, the same bytes.
 *
 * <p>Reads may run on many threads at once: the plan is immutable, program headers are made for
 * the range asked, and segments are found by binary search, then through the page index.
 */
public final class CoreContent {
    /** Receives the pieces of a range in order; together they cover the range exactly. */
    public interface Pieces {
        /** {@code length} bytes at core offset {@code at} are {@code data[offset..offset + length)}. */
        void bytes(long at, byte[] data, int offset, int length) throws IOException;

        /** {@code length} bytes at core offset {@code at} are those of {@code file} at {@code fileOffset}. */
        void file(long at, long length, OpenFile file, long fileOffset) throws IOException;

        /** {@code length} bytes at core offset {@code at} are zeros the core does not store. */
        void hole(long at, long length) throws IOException;
    }

    private final CoreLayout layout;
    private final ProcessMemory memory;
    private final byte[] elfHeader;
    private final byte[] notes;
    private final byte[] sectionHeader;
    /** Where each segment ends in the file: non-decreasing, for the binary search. */
    private final long[] segmentEnds;

    public CoreContent(CoreLayout layout, ProcessMemory memory) {
        this.layout = layout;
        this.memory = memory;
        this.elfHeader = CoreWriter.elfHeader(layout);
        ByteBuffer buffer = ByteBuffer.allocate(Math.toIntExact(layout.notesSize()));
        for (Note note : layout.notes()) {
            note.writeTo(buffer, layout.arch().byteOrder());
        }
        if (buffer.hasRemaining()) {
            throw new IllegalStateException("notes take " + buffer.position() + " bytes, planned " + layout.notesSize());
        }
        this.notes = buffer.array();
        this.sectionHeader = layout.extendedNumbering() ? CoreWriter.sectionHeader(layout) : new byte[0];
        List<CoreLayout.Segment> segments = layout.segments();
        this.segmentEnds = new long[segments.size()];
        for (int i = 0; i < segmentEnds.length; i++) {
            segmentEnds[i] = segments.get(i).offset() + segments.get(i).fileSize();
        }
    }

    public CoreLayout layout() {
        return layout;
    }

    public ProcessMemory memory() {
        return memory;
    }

    public long size() {
        return layout.fileSize();
    }

    /**
     * Visits [{@code from}, {@code to}) of the core, clipped to its size, as pieces in file order.
     * The pieces are checked to cover the range exactly, as the writer checks what it wrote.
     */
    public void read(long from, long to, Pieces out) throws IOException {
        to = Math.min(to, layout.fileSize());
        if (from < 0 || from >= to) {
            return;
        }
        var checked = new Checked(from, out);
        long headersEnd = layout.notesOffset();
        long notesEnd = headersEnd + layout.notesSize();
        int ehdr = elfHeader.length;
        if (from < ehdr) {
            checked.bytes(from, elfHeader, (int) from, (int) (Math.min(to, ehdr) - from));
        }
        if (from < headersEnd && to > ehdr) {
            long a = Math.max(from, ehdr);
            long b = Math.min(to, headersEnd);
            checked.bytes(a, programHeaders(a, b), 0, (int) (b - a));
        }
        if (from < notesEnd && to > headersEnd) {
            long a = Math.max(from, headersEnd);
            long b = Math.min(to, notesEnd);
            checked.bytes(a, notes, (int) (a - headersEnd), (int) (b - a));
        }
        if (from < layout.dataOffset() && to > notesEnd) {
            long a = Math.max(from, notesEnd);
            checked.hole(a, Math.min(to, layout.dataOffset()) - a);
        }
        if (to > layout.dataOffset()) {
            segments(Math.max(from, layout.dataOffset()), to, checked);
        }
        if (layout.extendedNumbering() && to > layout.sectionHeaderOffset()) {
            long a = Math.max(from, layout.sectionHeaderOffset());
            checked.bytes(a, sectionHeader, (int) (a - layout.sectionHeaderOffset()),
                    (int) (to - a));
        }
        checked.end(to);
    }

    /**
     * Where the written core has data at or after {@code offset}, as a filesystem with blocks of
     * {@code block} bytes has it: a block holds data when the writer put a byte in it (bytes and
     * file pieces, and the last byte of a core that ends in a hole), else it is a hole. -1 when only
     * holes follow. What SEEK_DATA gives on the core convert writes.
     */
    public long dataFrom(long offset, int block) throws IOException {
        return seek(offset, block, true);
    }

    /**
     * The first byte of a hole at or after {@code offset}, as {@link #dataFrom} sees blocks; the
     * end of the core counts as one. What SEEK_HOLE gives on the core convert writes.
     */
    public long holeFrom(long offset, int block) throws IOException {
        return seek(offset, block, false);
    }

    private long seek(long offset, int block, boolean data) throws IOException {
        long size = layout.fileSize();
        if (offset < 0 || offset >= size) {
            return -1;
        }
        // a block with a written byte is data; holes are whole blocks no piece was written to
        var scan = new Object() {
            long cursor = offset / block * block;
            long found = -1;
        };
        long window = 1 << 20;
        for (long from = scan.cursor; scan.found < 0 && from < size; from += window, window *= 2) {
            long to = Math.min(size, from + window);
            read(from, to, new Pieces() {
                @Override
                public void bytes(long at, byte[] bytes, int off, int length) {
                    written(at, length);
                }

                @Override
                public void file(long at, long length, OpenFile file, long fileOffset) {
                    written(at, length);
                }

                @Override
                public void hole(long at, long length) {
                    if (at + length == size) {
                        // CoreWriter writes the last byte of a core that ends in a hole
                        written(size - 1, 1);
                    }
                }

                private void written(long at, long length) {
                    if (scan.found >= 0 || at + length <= scan.cursor) {
                        return;
                    }
                    long first = at / block * block;
                    if (data) {
                        scan.found = Math.max(first, scan.cursor);
                    } else if (first > scan.cursor) {
                        scan.found = scan.cursor;
                    } else {
                        scan.cursor = Math.min(size, (at + length + block - 1) / block * block);
                    }
                }
            });
        }
        if (!data && scan.found < 0) {
            scan.found = Math.min(scan.cursor, size);
        }
        return scan.found < 0 ? -1 : Math.max(scan.found, offset);
    }

    /** The program headers' bytes in [from, to), which lies between the ELF header and the notes. */
    private byte[] programHeaders(long from, long to) {
        int ehdr = elfHeader.length;
        int size = layout.elfClass().phdr().size();
        int first = (int) ((from - ehdr) / size);
        int last = (int) ((to - ehdr - 1) / size);
        ByteBuffer buffer = ByteBuffer.allocate((last - first + 1) * size);
        for (int i = first; i <= last; i++) {
            CoreWriter.programHeader(buffer, layout, i);
        }
        byte[] all = buffer.array();
        int skip = (int) (from - ehdr - (long) first * size);
        if (skip == 0 && all.length == to - from) {
            return all;
        }
        byte[] out = new byte[(int) (to - from)];
        System.arraycopy(all, skip, out, 0, out.length);
        return out;
    }

    /** [from, to) of the segments' data, segment by segment, each through the process's memory. */
    private void segments(long from, long to, Pieces out) throws IOException {
        List<CoreLayout.Segment> segments = layout.segments();
        long end = layout.extendedNumbering() ? layout.sectionHeaderOffset() : layout.fileSize();
        long cursor = from;
        for (int i = firstSegmentEndingAfter(from); i < segments.size() && cursor < Math.min(to, end); i++) {
            CoreLayout.Segment segment = segments.get(i);
            if (segment.fileSize() == 0) {
                continue;
            }
            long a = Math.max(cursor, segment.offset());
            long b = Math.min(to, segment.offset() + segment.fileSize());
            long start = segment.vma().start();
            long base = segment.offset();
            memory.forEach(segment.vma(), start + (a - base), start + (b - base),
                    (address, length, file, fileOffset) -> {
                        if (file != null) {
                            out.file(base + (address - start), length, file, fileOffset);
                        } else {
                            out.hole(base + (address - start), length);
                        }
                    });
            cursor = b;
        }
    }

    private int firstSegmentEndingAfter(long offset) {
        int lo = 0;
        int hi = segmentEnds.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (segmentEnds[mid] <= offset) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** Passes pieces on, checking that each begins where the one before ended. */
    private static final class Checked implements Pieces {
        private final Pieces out;
        private long cursor;

        Checked(long from, Pieces out) {
            this.cursor = from;
            this.out = out;
        }

        @Override
        public void bytes(long at, byte[] data, int offset, int length) throws IOException {
            if (advance(at, length)) {
                out.bytes(at, data, offset, length);
            }
        }

        @Override
        public void file(long at, long length, OpenFile file, long fileOffset) throws IOException {
            if (advance(at, length)) {
                out.file(at, length, file, fileOffset);
            }
        }

        @Override
        public void hole(long at, long length) throws IOException {
            if (advance(at, length)) {
                out.hole(at, length);
            }
        }

        /** Whether the piece has bytes to pass on. */
        private boolean advance(long at, long length) {
            if (at != cursor || length < 0) {
                throw new IllegalStateException("core byte " + at + ": a piece of " + length + " bytes where the plan "
                        + "is at byte " + cursor);
            }
            cursor += length;
            return length > 0;
        }

        void end(long to) {
            if (cursor != to) {
                throw new IllegalStateException("core bytes " + cursor + " to " + to + " are in no piece of the plan");
            }
        }
    }
}
