package org.criu2core.elf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.criu2core.image.ImageFormatException;

/**
 * A core file read back: its ELF header, program headers, notes, and the bytes of any page it
 * carries, in the byte order its header says. Every offset and size read from the file is checked
 * against the file before use.
 */
public final class CoreFile implements AutoCloseable {
    /** A program header. */
    public record Segment(int type, int flags, long offset, long vaddr, long fileSize, long memSize) {
        public long end() {
            return vaddr + memSize;
        }
    }

    /** A note: owner, type, descriptor, and where its header is in the file. */
    public record NoteEntry(String owner, int type, byte[] desc, long offset) {
    }

    /** An entry of NT_FILE: [start, end) maps {@code name} from page {@code pageOffset} on. */
    public record MappedFile(long start, long end, long pageOffset, String name) {
    }

    private final String name;
    private final FileChannel channel;
    private final long size;
    private final ElfClass elfClass;
    private final ByteOrder byteOrder;
    private final int osabi;
    private final int type;
    private final int machine;
    private final int flags;
    private final List<Segment> segments;
    private final List<Segment> loads;
    private final List<NoteEntry> notes;

    private CoreFile(String name, FileChannel channel) throws IOException {
        this.name = name;
        this.channel = channel;
        this.size = channel.size();
        // single bytes, which read the same in either order
        ByteBuffer ident = read(0, Elf.EI_NIDENT, "ELF identification", ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[4];
        ident.get(0, magic);
        if (!java.util.Arrays.equals(magic, Elf.ELFMAG)) {
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
        ElfClass.Ehdr e = elfClass.ehdr();
        ByteBuffer ehdr = read(0, e.size(), "ELF header");
        type = ehdr.getShort(Elf.E_TYPE) & 0xffff;
        machine = ehdr.getShort(Elf.E_MACHINE) & 0xffff;
        flags = ehdr.getInt(e.eFlags());
        long phoff = word(ehdr, e.ePhoff());
        int phentsize = ehdr.getShort(e.ePhentsize()) & 0xffff;
        long phnum = ehdr.getShort(e.ePhnum()) & 0xffff;
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
        List<Segment> all = new ArrayList<>((int) phnum);
        ElfClass.Phdr p = elfClass.phdr();
        for (int i = 0; i < phnum; i++) {
            int o = i * phentsize;
            all.add(new Segment(ph.getInt(o + p.pType()), ph.getInt(o + p.pFlags()), word(ph, o + p.pOffset()),
                    word(ph, o + p.pVaddr()), word(ph, o + p.pFilesz()), word(ph, o + p.pMemsz())));
        }
        segments = List.copyOf(all);
        List<Segment> l = new ArrayList<>();
        List<NoteEntry> n = new ArrayList<>();
        for (Segment s : segments) {
            if (s.fileSize() < 0 || s.offset() < 0 || s.offset() > size || s.fileSize() > size - s.offset()) {
                throw new ImageFormatException(name, phoff, String.format(
                        "segment at 0x%x: %d bytes at offset %d pass the end of the file", s.vaddr(), s.fileSize(),
                        s.offset()));
            }
            if (s.type() == Elf.PT_LOAD) {
                l.add(s);
            } else if (s.type() == Elf.PT_NOTE) {
                readNotes(s, n);
            }
        }
        l.sort(Comparator.comparing(Segment::vaddr, Long::compareUnsigned));
        loads = List.copyOf(l);
        notes = List.copyOf(n);
    }

    public static CoreFile open(Path path) throws IOException {
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
        try {
            return new CoreFile(path.toString(), channel);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private void readNotes(Segment s, List<NoteEntry> out) throws IOException {
        if (s.fileSize() > Integer.MAX_VALUE) {
            throw new ImageFormatException(name, s.offset(), "note segment of " + s.fileSize() + " bytes");
        }
        ByteBuffer b = read(s.offset(), (int) s.fileSize(), "notes");
        int pos = 0;
        while (pos + Note.NHDR_SIZE <= b.limit()) {
            long namesz = Integer.toUnsignedLong(b.getInt(pos));
            long descsz = Integer.toUnsignedLong(b.getInt(pos + 4));
            int noteType = b.getInt(pos + 8);
            long descAt = pos + Note.NHDR_SIZE + ((namesz + 3) & -4L);
            if (descAt + descsz > b.limit()) {
                throw new ImageFormatException(name, s.offset() + pos, "note of " + descsz
                        + " bytes passes the end of the note segment");
            }
            byte[] ownerBytes = new byte[(int) namesz];
            b.get(pos + Note.NHDR_SIZE, ownerBytes);
            String owner = new String(ownerBytes, StandardCharsets.US_ASCII).replace("\0", "");
            byte[] desc = new byte[(int) descsz];
            b.get((int) descAt, desc);
            out.add(new NoteEntry(owner, noteType, desc, s.offset() + pos));
            pos = (int) (descAt + ((descsz + 3) & -4L));
        }
    }

    private ByteBuffer read(long offset, int length, String what) throws IOException {
        return read(offset, length, what, byteOrder);
    }

    private ByteBuffer read(long offset, int length, String what, ByteOrder order) throws IOException {
        if (offset < 0 || offset + length > size) {
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

    private long word(ByteBuffer b, int offset) {
        return elfClass.word() == 8 ? b.getLong(offset) : Integer.toUnsignedLong(b.getInt(offset));
    }

    public String name() {
        return name;
    }

    public long size() {
        return size;
    }

    public ElfClass elfClass() {
        return elfClass;
    }

    /** The byte order of every field of the core, from e_ident[EI_DATA]. */
    public ByteOrder byteOrder() {
        return byteOrder;
    }

    public int osabi() {
        return osabi;
    }

    public int type() {
        return type;
    }

    public int machine() {
        return machine;
    }

    public int flags() {
        return flags;
    }

    /** Every program header, in file order. */
    public List<Segment> segments() {
        return segments;
    }

    /** The PT_LOAD segments in address order. */
    public List<Segment> loads() {
        return loads;
    }

    public List<NoteEntry> notes() {
        return notes;
    }

    /** The first note of {@code type}, or null. */
    public byte[] note(int noteType) {
        for (NoteEntry n : notes) {
            if (n.type() == noteType) {
                return n.desc();
            }
        }
        return null;
    }

    /**
     * The threads: each NT_PRSTATUS with the notes after it up to the next, leaving out the
     * process-wide ones.
     */
    public List<List<NoteEntry>> threads() {
        List<List<NoteEntry>> threads = new ArrayList<>();
        for (NoteEntry n : notes) {
            if (n.type() == Elf.NT_PRSTATUS && n.owner().equals(Elf.CORE)) {
                threads.add(new ArrayList<>());
            }
            if (!threads.isEmpty() && !processWide(n.type())) {
                threads.get(threads.size() - 1).add(n);
            }
        }
        return threads;
    }

    /**
     * NT_FILE's entries (fs/binfmt_elf.c fill_files_note): count and page size, then count
     * {start, end, file_ofs} triples, then count NUL-terminated names. Empty without NT_FILE.
     */
    public List<MappedFile> mappedFiles() throws ImageFormatException {
        NoteEntry note = notes.stream().filter(n -> n.type() == Elf.NT_FILE).findFirst().orElse(null);
        if (note == null) {
            return List.of();
        }
        byte[] desc = note.desc();
        int word = elfClass.word();
        ByteBuffer b = ByteBuffer.wrap(desc).order(byteOrder);
        if (desc.length < 2 * word) {
            throw new ImageFormatException(name, note.offset(), "NT_FILE of " + desc.length + " bytes");
        }
        long count = word(b, 0);
        if (count < 0 || count > (desc.length - 2L * word) / (3L * word)) {
            throw new ImageFormatException(name, note.offset(), "NT_FILE counts " + Long.toUnsignedString(count)
                    + " files in " + desc.length + " bytes");
        }
        List<MappedFile> files = new ArrayList<>();
        int at = (int) (2 * word + 3 * word * count);
        for (int i = 0; i < count; i++) {
            int o = 2 * word + 3 * word * i;
            int nul = at;
            while (nul < desc.length && desc[nul] != 0) {
                nul++;
            }
            if (nul == desc.length) {
                throw new ImageFormatException(name, note.offset(), "NT_FILE has fewer names than files");
            }
            files.add(new MappedFile(word(b, o), word(b, o + word), word(b, o + 2 * word),
                    new String(desc, at, nul - at, StandardCharsets.UTF_8)));
            at = nul + 1;
        }
        if (at != desc.length) {
            throw new ImageFormatException(name, note.offset(), "NT_FILE has " + (desc.length - at)
                    + " bytes after its names");
        }
        return files;
    }

    public static boolean processWide(int noteType) {
        return noteType == Elf.NT_PRPSINFO || noteType == Elf.NT_AUXV || noteType == Elf.NT_SIGINFO
                || noteType == Elf.NT_FILE || noteType == Elf.NT_X86_XSAVE_LAYOUT;
    }

    /** The load segment whose file bytes hold {@code address}, or null. */
    public Segment segmentWithData(long address) {
        int lo = 0;
        int hi = loads.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            Segment s = loads.get(mid);
            if (Long.compareUnsigned(address, s.vaddr()) < 0) {
                hi = mid - 1;
            } else if (Long.compareUnsigned(address, s.vaddr() + s.memSize()) >= 0) {
                lo = mid + 1;
            } else {
                return Long.compareUnsigned(address - s.vaddr(), s.fileSize()) < 0 ? s : null;
            }
        }
        return null;
    }

    /** {@code length} bytes at {@code address} if the core carries them all, else null. */
    public byte[] bytesAt(long address, int length) throws IOException {
        Segment s = segmentWithData(address);
        if (s == null || address - s.vaddr() + length > s.fileSize()) {
            return null;
        }
        return read(s.offset() + (address - s.vaddr()), length, "segment data").array();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
