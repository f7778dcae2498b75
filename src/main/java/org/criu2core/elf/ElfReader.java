package org.criu2core.elf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.criu2core.image.ImageFormatException;

/**
 * What every ELF file read back has in common, read once with every offset and size checked
 * against the file before anything is allocated from it: e_ident, the ELF header, the program
 * headers (PN_XNUM's real count from section header 0), and notes. {@link CoreFile} (cores) and
 * {@link ElfObject} (executables and libraries of a root) are built on it.
 */
final class ElfReader {
    final String name;
    final FileChannel channel;
    final long size;
    final ElfClass elfClass;
    final ByteOrder byteOrder;
    final int osabi;
    final int type;
    final int machine;
    final int flags;
    /** The ELF header's bytes, in the file's byte order. */
    final ByteBuffer ehdr;

    ElfReader(String name, FileChannel channel) throws IOException {
        this.name = name;
        this.channel = channel;
        this.size = channel.size();
        // single bytes, which read the same in either order
        ByteBuffer ident = read(0, Elf.EI_NIDENT, "ELF identification", ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[4];
        ident.get(0, magic);
        if (!Arrays.equals(magic, Elf.ELFMAG)) {
            throw new ImageFormatException(name, 0, "not an ELF file");
        }
        int cls = ident.get(Elf.EI_CLASS);
        int data = ident.get(Elf.EI_DATA);
        if (cls != Elf.ELFCLASS32 && cls != Elf.ELFCLASS64 || data != Elf.ELFDATA2LSB && data != Elf.ELFDATA2MSB) {
            throw new ImageFormatException(name, Elf.EI_CLASS, "not an ELF32 or ELF64 file of either byte order");
        }
        elfClass = cls == Elf.ELFCLASS64 ? ElfClass.ELF64 : ElfClass.ELF32;
        byteOrder = data == Elf.ELFDATA2MSB ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        osabi = ident.get(Elf.EI_OSABI) & 0xff;
        ehdr = read(0, elfClass.ehdr().size(), "ELF header");
        type = ehdr.getShort(Elf.E_TYPE) & 0xffff;
        machine = ehdr.getShort(Elf.E_MACHINE) & 0xffff;
        flags = ehdr.getInt(elfClass.ehdr().eFlags());
    }

    /** Every program header, in file order, each segment's file bytes checked to lie in the file. */
    List<CoreFile.Segment> programHeaders() throws IOException {
        ElfClass.Ehdr e = elfClass.ehdr();
        long phoff = word(ehdr, e.ePhoff());
        int phentsize = ehdr.getShort(e.ePhentsize()) & 0xffff;
        long phnum = ehdr.getShort(e.ePhnum()) & 0xffff;
        if (phnum == 0 || phoff == 0) {
            return List.of();
        }
        if (phnum == Elf.PN_XNUM) {
            long shoff = word(ehdr, e.eShoff());
            ByteBuffer shdr = read(shoff, elfClass.shdr().size(), "section header 0 (PN_XNUM)");
            phnum = Integer.toUnsignedLong(shdr.getInt(elfClass.shdr().shInfo()));
        }
        if (phentsize != elfClass.phdr().size()) {
            throw new ImageFormatException(name, e.ePhentsize(), "program header size " + phentsize
                    + ", expected " + elfClass.phdr().size());
        }
        if (phoff < 0 || phoff > size || phnum > (size - phoff) / phentsize) {
            throw new ImageFormatException(name, e.ePhoff(), phnum + " program headers at " + phoff
                    + " do not fit in the file of " + size + " bytes");
        }
        ByteBuffer ph = read(phoff, (int) (phnum * phentsize), "program headers");
        List<CoreFile.Segment> all = new ArrayList<>((int) phnum);
        ElfClass.Phdr p = elfClass.phdr();
        for (int i = 0; i < phnum; i++) {
            int o = i * phentsize;
            var s = new CoreFile.Segment(ph.getInt(o + p.pType()), ph.getInt(o + p.pFlags()), word(ph, o + p.pOffset()),
                    word(ph, o + p.pVaddr()), word(ph, o + p.pFilesz()), word(ph, o + p.pMemsz()));
            if (s.fileSize() < 0 || s.offset() < 0 || s.offset() > size || s.fileSize() > size - s.offset()) {
                throw new ImageFormatException(name, phoff + o, String.format(
                        "segment at 0x%x: %d bytes at offset %d pass the end of the file", s.vaddr(), s.fileSize(),
                        s.offset()));
            }
            all.add(s);
        }
        return List.copyOf(all);
    }

    /** The notes of a PT_NOTE segment, added to {@code out}. */
    void notes(CoreFile.Segment segment, List<CoreFile.NoteEntry> out) throws IOException {
        if (segment.fileSize() > Integer.MAX_VALUE) {
            throw new ImageFormatException(name, segment.offset(), "note segment of " + segment.fileSize() + " bytes");
        }
        ByteBuffer b = read(segment.offset(), (int) segment.fileSize(), "notes");
        int pos = 0;
        while (pos + Note.NHDR_SIZE <= b.limit()) {
            long namesz = Integer.toUnsignedLong(b.getInt(pos));
            long descsz = Integer.toUnsignedLong(b.getInt(pos + 4));
            int noteType = b.getInt(pos + 8);
            long descAt = pos + Note.NHDR_SIZE + ((namesz + 3) & -4L);
            if (descAt + descsz > b.limit()) {
                throw new ImageFormatException(name, segment.offset() + pos, "note of " + descsz
                        + " bytes passes the end of the note segment");
            }
            byte[] ownerBytes = new byte[(int) namesz];
            b.get(pos + Note.NHDR_SIZE, ownerBytes);
            String owner = new String(ownerBytes, StandardCharsets.US_ASCII).replace("\0", "");
            byte[] desc = new byte[(int) descsz];
            b.get((int) descAt, desc);
            out.add(new CoreFile.NoteEntry(owner, noteType, desc, segment.offset() + pos));
            pos = (int) (descAt + ((descsz + 3) & -4L));
        }
    }

    /** {@code length} bytes at {@code offset}, in the file's byte order. */
    ByteBuffer read(long offset, int length, String what) throws IOException {
        return read(offset, length, what, byteOrder);
    }

    private ByteBuffer read(long offset, int length, String what, ByteOrder order) throws IOException {
        if (offset < 0 || length < 0 || offset > size || length > size - offset) {
            throw new ImageFormatException(name, offset, what + " (" + length + " bytes) passes the end of the file ("
                    + size + " bytes)");
        }
        ByteBuffer b = ByteBuffer.allocate(length).order(order);
        while (b.hasRemaining()) {
            if (channel.read(b, offset + b.position()) < 0) {
                throw new ImageFormatException(name, offset + b.position(), what + ": file ended early");
            }
        }
        return b.clear();
    }

    /** A word of the file's class at {@code offset} of {@code b}: 8 bytes or 4 unsigned. */
    long word(ByteBuffer b, int offset) {
        return elfClass.word() == 8 ? b.getLong(offset) : Integer.toUnsignedLong(b.getInt(offset));
    }
}
