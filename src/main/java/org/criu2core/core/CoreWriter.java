package org.criu2core.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import org.criu2core.elf.Elf;
import org.criu2core.elf.ElfClass;
import org.criu2core.elf.Struct;
import org.criu2core.sys.OpenFile;

/**
 * Writes a planned core in file order, from the pieces {@link CoreContent} gives. Segment bytes go
 * from the pages files and mapped files straight to the core in the kernel ({@link OpenFile#copyTo}:
 * copy_file_range, which shares the blocks on XFS and btrfs, else sendfile); holes are skipped,
 * leaving the file sparse, as the kernel's dump_skip does. The pieces are checked against the plan
 * as they come, and the file's size at the end.
 */
public final class CoreWriter {
    private CoreWriter() {
    }

    public static void write(CoreLayout layout, ProcessMemory memory, OpenFile core) throws IOException {
        write(new CoreContent(layout, memory), core, Progress.NONE);
    }

    public static void write(CoreContent content, OpenFile core, Progress progress) throws IOException {
        CoreLayout layout = content.layout();
        FileChannel out = core.channel();
        var copies = new Copies(core);
        content.read(0, layout.fileSize(), new CoreContent.Pieces() {
            @Override
            public void bytes(long at, byte[] data, int offset, int length) throws IOException {
                copies.flush();
                ByteBuffer buffer = ByteBuffer.wrap(data, offset, length);
                while (buffer.hasRemaining()) {
                    out.write(buffer, at + (buffer.position() - offset));
                }
                progress.advance(length);
            }

            @Override
            public void file(long at, long length, OpenFile file, long fileOffset) throws IOException {
                copies.add(file, fileOffset, at, length);
                progress.advance(length);
            }

            @Override
            public void hole(long at, long length) {
                progress.advance(length);
            }
        });
        copies.flush();
        if (out.size() < layout.fileSize()) {
            // the core ends in a hole: one zero byte at the end gives the file its size
            out.write(ByteBuffer.allocate(1), layout.fileSize() - 1);
        }
        if (out.size() != layout.fileSize()) {
            throw new IllegalStateException("core is " + out.size() + " bytes, planned " + layout.fileSize());
        }
    }

    /** The ELF header. */
    static byte[] elfHeader(CoreLayout layout) {
        ElfClass cls = layout.elfClass();
        ByteOrder order = layout.arch().byteOrder();
        int word = cls.word();
        int phnum = layout.programHeaders();
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
        return ehdr.toBytes();
    }

    /** Writes program header {@code index} (0: the notes', then one per segment) next into {@code buffer}. */
    static void programHeader(ByteBuffer buffer, CoreLayout layout, int index) {
        ElfClass cls = layout.elfClass();
        ByteOrder order = layout.arch().byteOrder();
        if (index == 0) {
            programHeader(buffer, cls, order, Elf.PT_NOTE, 0, layout.notesOffset(), 0, layout.notesSize(), 0, 4);
            return;
        }
        CoreLayout.Segment s = layout.segments().get(index - 1);
        programHeader(buffer, cls, order, Elf.PT_LOAD, s.flags(), s.offset(), s.vma().start(), s.fileSize(),
                s.vma().size(), layout.execPageSize());
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
        private OpenFile from;
        private long fromOffset;
        private long at;
        private long length;

        Copies(OpenFile out) {
            this.out = out;
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
            length = 0;
        }
    }
}
