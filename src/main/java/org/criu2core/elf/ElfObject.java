package org.criu2core.elf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.criu2core.image.ImageFormatException;

/**
 * An executable or shared library read for what tells one build apart from another: its notes
 * (the GNU build id, Go's build id) and its sections by name. It comes from a root that may be
 * hostile like the images, so every offset and size is checked against the file, and what is
 * read at once is bounded.
 */
public final class ElfObject {
    /** Note type of the GNU build id (owner "GNU"), elf.h NT_GNU_BUILD_ID. */
    public static final int NT_GNU_BUILD_ID = 3;
    /** Note type of Go's build id (owner "Go"), cmd/link ELF_NOTE_GOBUILDID_TAG. */
    public static final int NT_GO_BUILD_ID = 4;
    /** More notes than this is no real object: they are a few hundred bytes. */
    private static final int MAX_NOTES_BYTES = 1 << 20;
    /** Section names: a real .shstrtab is a few KiB. */
    private static final int MAX_NAMES_BYTES = 1 << 20;
    /** Linked programs have tens of sections; objects built with a section per function, thousands. */
    private static final long MAX_SECTIONS = 1 << 17;
    /** e_shstrndx when the index is in section 0's sh_link. */
    private static final int SHN_XINDEX = 0xffff;
    private static final int SHT_NOBITS = 8;

    /*
     * Elf32_Shdr: sh_name 0, sh_type 4, sh_flags 8, sh_addr 12, sh_offset 16, sh_size 20,
     * sh_link 24, ... (40 bytes). Elf64_Shdr: sh_name 0, sh_type 4, sh_flags 8, sh_addr 16,
     * sh_offset 24, sh_size 32, sh_link 40, ... (64 bytes). The rest is in ElfClass.Shdr.
     */
    private static final int SH_NAME = 0;

    /** A section header: name, type, where its bytes are in the file and how many. */
    public record Section(String name, int type, long offset, long size) {
    }

    private final ElfReader elf;
    private final List<CoreFile.NoteEntry> notes;
    private final Map<String, Section> sections;

    private ElfObject(String name, FileChannel channel) throws IOException {
        elf = new ElfReader(name, channel);
        List<CoreFile.NoteEntry> found = new ArrayList<>();
        long total = 0;
        for (var segment : elf.programHeaders()) {
            if (segment.type() != Elf.PT_NOTE) {
                continue;
            }
            total += segment.fileSize();
            if (total > MAX_NOTES_BYTES) {
                throw new ImageFormatException(name, segment.offset(), "note segments of more than " + MAX_NOTES_BYTES
                        + " bytes");
            }
            elf.notes(segment, found);
        }
        notes = List.copyOf(found);
        sections = readSections(elf.ehdr);
    }

    /** Reads the headers of the ELF file open in {@code channel}; {@code name} names it in errors. */
    public static ElfObject read(FileChannel channel, String name) throws IOException {
        return new ElfObject(name, channel);
    }

    public int type() {
        return elf.type;
    }

    public int machine() {
        return elf.machine;
    }

    public List<CoreFile.NoteEntry> notes() {
        return notes;
    }

    /** The sections by name (the first of each name), in file order; empty when the file has none. */
    public Map<String, Section> sections() {
        return sections;
    }

    /** The GNU build id as gdb, debuginfod and /usr/lib/debug/.build-id name it: lower-case hex. */
    public Optional<String> buildId() {
        return notes.stream().filter(n -> n.owner().equals("GNU") && n.type() == NT_GNU_BUILD_ID && n.desc().length > 0)
                .findFirst().map(n -> HexFormat.of().formatHex(n.desc()));
    }

    /** Whether the file carries its own DWARF (plain or compressed the old way). */
    public boolean hasDebugInfo() {
        Section info = sections.getOrDefault(".debug_info", sections.get(".zdebug_info"));
        return info != null && info.type() != SHT_NOBITS && info.size() > 0;
    }

    /** The first {@code max} bytes (at most) of section {@code section}, which lies inside the file. */
    public byte[] bytes(Section section, int max) throws IOException {
        if (section.type() == SHT_NOBITS) {
            return new byte[0];
        }
        int length = (int) Math.min(max, section.size());
        return elf.read(section.offset(), length, "section " + section.name()).array();
    }

    private Map<String, Section> readSections(ByteBuffer ehdr) throws IOException {
        String name = elf.name;
        long size = elf.size;
        ElfClass.Ehdr e = elf.elfClass.ehdr();
        long shoff = word(ehdr, e.eShoff());
        int shentsize = ehdr.getShort(e.eShentsize()) & 0xffff;
        long shnum = ehdr.getShort(e.eShnum()) & 0xffff;
        int shstrndx = ehdr.getShort(e.eShstrndx()) & 0xffff;
        if (shoff == 0) {
            return Map.of();
        }
        ElfClass.Shdr s = elf.elfClass.shdr();
        if (shentsize != s.size()) {
            throw new ImageFormatException(name, e.eShentsize(), "section header size " + shentsize
                    + ", expected " + s.size());
        }
        if (shoff < 0 || shoff > size - shentsize) {
            throw new ImageFormatException(name, e.eShoff(), "section headers at " + shoff
                    + " pass the end of the file of " + size + " bytes");
        }
        if (shnum == 0 || shstrndx == SHN_XINDEX) {
            ByteBuffer first = elf.read(shoff, shentsize, "section header 0");
            shnum = shnum == 0 ? word(first, s.shSize()) : shnum;
            shstrndx = shstrndx == SHN_XINDEX ? first.getInt(s.shLink()) : shstrndx;
        }
        if (shnum < 0 || shnum > MAX_SECTIONS || shnum > (size - shoff) / shentsize) {
            throw new ImageFormatException(name, e.eShnum(), shnum + " section headers at " + shoff
                    + " do not fit in the file of " + size + " bytes");
        }
        ByteBuffer sh = elf.read(shoff, (int) (shnum * shentsize), "section headers");
        int offsetField = s.shSize() - elf.elfClass.word(); // sh_offset is the word before sh_size in both classes
        List<long[]> raw = new ArrayList<>();
        for (int i = 0; i < shnum; i++) {
            int o = i * shentsize;
            long offset = word(sh, o + offsetField);
            long length = word(sh, o + s.shSize());
            int sectionType = sh.getInt(o + s.shType());
            if (sectionType != SHT_NOBITS && (offset < 0 || length < 0 || offset > size || length > size - offset)) {
                throw new ImageFormatException(name, shoff + o, "section " + i + ": " + length + " bytes at offset "
                        + offset + " pass the end of the file of " + size + " bytes");
            }
            raw.add(new long[] {Integer.toUnsignedLong(sh.getInt(o + SH_NAME)), sectionType, offset, length});
        }
        if (shstrndx == Elf.SHN_UNDEF || shstrndx >= shnum) {
            return Map.of();
        }
        long[] names = raw.get(shstrndx);
        if (names[3] > MAX_NAMES_BYTES) {
            throw new ImageFormatException(name, shoff + (long) shstrndx * shentsize, "section names of " + names[3]
                    + " bytes");
        }
        ByteBuffer strings = elf.read(names[2], (int) names[3], "section names");
        Map<String, Section> byName = new LinkedHashMap<>();
        for (long[] r : raw) {
            String sectionName = string(strings, r[0]);
            if (!sectionName.isEmpty()) {
                byName.putIfAbsent(sectionName, new Section(sectionName, (int) r[1], r[2], r[3]));
            }
        }
        return java.util.Collections.unmodifiableMap(byName);
    }

    /** The NUL-terminated string at {@code at}; empty when it starts outside the table. */
    private static String string(ByteBuffer table, long at) {
        if (at >= table.limit()) {
            return "";
        }
        int end = (int) at;
        while (end < table.limit() && table.get(end) != 0) {
            end++;
        }
        byte[] b = new byte[end - (int) at];
        table.get((int) at, b);
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    private long word(ByteBuffer b, int offset) {
        return elf.word(b, offset);
    }
}
