package org.criu2core.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import org.criu2core.elf.Elf;
import org.criu2core.elf.ElfClass;
import org.criu2core.elf.Note;
import org.criu2core.elf.Struct;
import org.criu2core.sys.OpenFile;

/**
 * Writes a planned core in file order. Segment bytes go from the pages files and mapped files
 * straight to the core in the kernel ({@link OpenFile#copyTo}: copy_file_range, which shares the
 * blocks on XFS and btrfs, else sendfile); holes are skipped, leaving the file sparse, as the
 * kernel's dump_skip does. After each part what was written is checked against the plan.
 */
public final class CoreWriter {
    private CoreWriter() {
    }

    public static void write(CoreLayout layout, ProcessMemory memory, OpenFile core) throws IOException {
        write(layout, memory, core, Progress.NONE);
    }

    public static void write(CoreLayout layout, ProcessMemory memory, OpenFile core, Progress progress)
            throws IOException {
        FileChannel out = core.channel();
        out.position(0);
        writeFully(out, headers(layout));
        expect(out, layout.notesOffset(), "program headers");
        ByteBuffer notes = ByteBuffer.allocate((int) layout.notesSize());
        for (Note note : layout.notes()) {
            note.writeTo(notes, layout.arch().byteOrder());
        }
        notes.flip();
        writeFully(out, notes);
        expect(out, layout.notesOffset() + layout.notesSize(), "notes");
        progress.advance(layout.dataOffset());
        var copies = new Copies(core);
        for (CoreLayout.Segment segment : layout.segments()) {
            long start = segment.vma().start();
            long[] covered = {0};
            if (segment.fileSize() > 0) {
                memory.forEach(segment.vma(), start, start + segment.fileSize(), (address, length, file, offset) -> {
                    if (file != null) {
                        copies.add(file, offset, segment.offset() + (address - start), length);
                    }
                    covered[0] += length;
                    progress.advance(length);
                });
            }
            if (covered[0] != segment.fileSize() || copies.end() > segment.offset() + segment.fileSize()) {
                throw new IllegalStateException(String.format("segment 0x%x-0x%x: %d bytes written of %d planned",
                        start, segment.vma().end(), covered[0], segment.fileSize()));
            }
        }
        copies.flush();
        if (layout.extendedNumbering()) {
            out.position(layout.sectionHeaderOffset());
            writeFully(out, ByteBuffer.wrap(sectionHeader(layout)));
        }
        if (out.size() < layout.fileSize()) {
            // the core ends in a hole: one zero byte at the end gives the file its size
            out.write(ByteBuffer.allocate(1), layout.fileSize() - 1);
        }
        if (out.size() != layout.fileSize()) {
            throw new IllegalStateException("core is " + out.size() + " bytes, planned " + layout.fileSize());
        }
    }

    /** The ELF header and every program header. */
    static ByteBuffer headers(CoreLayout layout) {
        ElfClass cls = layout.elfClass();
        ByteOrder order = layout.arch().byteOrder();
        int word = cls.word();
        int phnum = layout.programHeaders();
        var buffer = ByteBuffer.allocate((int) layout.notesOffset());
        var ehdr = new Struct(cls.ehdr().size(), order)
                .bytes(0, Elf.ELFMAG)
                .u8(Elf.EI_CLASS, cls.ident())
                .u8(Elf.EI_DATA, Elf.elfData(order))
                .u8(Elf.EI_VERSION, Elf.EV_CURRENT)
                .u8(Elf.EI_OSABI, layout.arch().osabi())
                .u16(Elf.E_TYPE, Elf.ET_CORE)
                .u16(Elf.E_MACHINE, layout.arch().machine())
                .u32(Elf.E_VERSION, Elf.EV_CURRENT)
                .word(cls.ehdr().ePhoff(), cls.ehdr().size(), word)
                .u32(cls.ehdr().eFlags(), layout.elfFlags())
                .u16(cls.ehdr().eEhsize(), cls.ehdr().size())
                .u16(cls.ehdr().ePhentsize(), cls.phdr().size())
                .u16(cls.ehdr().ePhnum(), Math.min(phnum, Elf.PN_XNUM));
        if (layout.extendedNumbering()) {
            // fill_extnum_info: the real count is in section header 0
            ehdr.word(cls.ehdr().eShoff(), layout.sectionHeaderOffset(), word)
                    .u16(cls.ehdr().eShentsize(), cls.shdr().size())
                    .u16(cls.ehdr().eShnum(), 1)
                    .u16(cls.ehdr().eShstrndx(), Elf.SHN_UNDEF);
        }
        buffer.put(ehdr.toBytes());
        programHeader(buffer, cls, order, Elf.PT_NOTE, 0, layout.notesOffset(), 0, layout.notesSize(), 0, 4);
        for (CoreLayout.Segment s : layout.segments()) {
            programHeader(buffer, cls, order, Elf.PT_LOAD, s.flags(), s.offset(), s.vma().start(), s.fileSize(),
                    s.vma().size(), layout.execPageSize());
        }
        return buffer.flip();
    }

    /** Writes the next program header of {@code buffer}. */
    private static void programHeader(ByteBuffer buffer, ElfClass cls, ByteOrder order, int type, int flags,
                                      long offset, long vaddr, long filesz, long memsz, long align) {
        int word = cls.word();
        ElfClass.Phdr p = cls.phdr();
        Struct.next(buffer, p.size(), order)
                .u32(p.pType(), type)
                .u32(p.pFlags(), flags)
                .word(p.pOffset(), offset, word)
                .word(p.pVaddr(), vaddr, word)
                .word(p.pFilesz(), filesz, word)
                .word(p.pMemsz(), memsz, word)
                .word(p.pAlign(), align, word);
    }

    /** Section header 0 of a core with PN_XNUM segments: sh_info holds the real count. */
    static byte[] sectionHeader(CoreLayout layout) {
        ElfClass.Shdr s = layout.elfClass().shdr();
        return new Struct(s.size(), layout.arch().byteOrder())
                .u32(s.shType(), Elf.SHT_NULL)
                .word(s.shSize(), 1, layout.elfClass().word())
                .u32(s.shLink(), Elf.SHN_UNDEF)
                .u32(s.shInfo(), layout.programHeaders())
                .toBytes();
    }

    /**
     * Copies page runs into the core, one transferTo for runs that continue each other both in
     * their file and in the core: CRIU saves adjacent VMAs' pages one after the other, and the
     * core has their segments one after the other, so 70 000 small VMAs can be a single copy.
     */
    private static final class Copies {
        private final OpenFile out;
        /** Where the last copy ended. */
        private long position;
        private OpenFile from;
        private long fromOffset;
        private long at;
        private long length;

        Copies(OpenFile out) throws IOException {
            this.out = out;
            this.position = out.channel().position();
        }

        void add(OpenFile file, long offset, long coreOffset, long n) throws IOException {
            if (file == from && offset == fromOffset + length && coreOffset == at + length) {
                length += n;
                return;
            }
            flush();
            from = file;
            fromOffset = offset;
            at = coreOffset;
            length = n;
        }

        void flush() throws IOException {
            if (length == 0) {
                return;
            }
            from.copyTo(fromOffset, length, out, at);
            position = at + length;
            length = 0;
        }

        /** The end of what has been written or is waiting to be. */
        long end() {
            return length > 0 ? at + length : position;
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }

    private static void expect(FileChannel out, long planned, String part) throws IOException {
        if (out.position() != planned) {
            throw new IllegalStateException("after the " + part + " the core is at byte " + out.position()
                    + ", planned " + planned);
        }
    }
}
