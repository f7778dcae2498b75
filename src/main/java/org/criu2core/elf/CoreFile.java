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

    private final ElfReader elf;
    private final List<Segment> segments;
    private final List<Segment> loads;
    private final List<NoteEntry> notes;

    private CoreFile(String name, FileChannel channel) throws IOException {
        this.elf = new ElfReader(name, channel);
        segments = elf.programHeaders();
        List<Segment> l = new ArrayList<>();
        List<NoteEntry> n = new ArrayList<>();
        for (Segment s : segments) {
            if (s.type() == Elf.PT_LOAD) {
                l.add(s);
            } else if (s.type() == Elf.PT_NOTE) {
                elf.notes(s, n);
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

    private long word(ByteBuffer b, int offset) {
        return elf.word(b, offset);
    }

    public String name() {
        return elf.name;
    }

    public long size() {
        return elf.size;
    }

    public ElfClass elfClass() {
        return elf.elfClass;
    }

    /** The byte order of every field of the core, from e_ident[EI_DATA]. */
    public ByteOrder byteOrder() {
        return elf.byteOrder;
    }

    public int osabi() {
        return elf.osabi;
    }

    public int type() {
        return elf.type;
    }

    public int machine() {
        return elf.machine;
    }

    public int flags() {
        return elf.flags;
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
        int word = elf.elfClass.word();
        ByteBuffer b = ByteBuffer.wrap(desc).order(elf.byteOrder);
        if (desc.length < 2 * word) {
            throw new ImageFormatException(elf.name, note.offset(), "NT_FILE of " + desc.length + " bytes");
        }
        long count = word(b, 0);
        if (count < 0 || count > (desc.length - 2L * word) / (3L * word)) {
            throw new ImageFormatException(elf.name, note.offset(), "NT_FILE counts " + Long.toUnsignedString(count)
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
                throw new ImageFormatException(elf.name, note.offset(), "NT_FILE has fewer names than files");
            }
            files.add(new MappedFile(word(b, o), word(b, o + word), word(b, o + 2 * word),
                    new String(desc, at, nul - at, StandardCharsets.UTF_8)));
            at = nul + 1;
        }
        if (at != desc.length) {
            throw new ImageFormatException(elf.name, note.offset(), "NT_FILE has " + (desc.length - at)
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
        return elf.read(s.offset() + (address - s.vaddr()), length, "segment data").array();
    }

    @Override
    public void close() throws IOException {
        elf.channel.close();
    }
}
