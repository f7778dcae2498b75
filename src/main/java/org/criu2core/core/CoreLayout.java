package org.criu2core.core;

import java.util.ArrayList;
import java.util.List;
import org.criu2core.arch.Arch;
import org.criu2core.elf.Elf;
import org.criu2core.elf.ElfClass;
import org.criu2core.elf.Note;
import org.criu2core.model.Vma;

/**
 * Where everything goes in a core file, planned before the first byte is written, as
 * fs/binfmt_elf.c elf_core_dump plans it:
 * <pre>
 *   ELF header
 *   program headers: PT_NOTE, then one PT_LOAD per VMA
 *   notes
 *   (padding to ELF_EXEC_PAGESIZE)
 *   segment data, in VMA order, each segment's bytes from the start of its VMA
 *   section header 0, only with more than 65534 segments (PN_XNUM)
 * </pre>
 * ELF_EXEC_PAGESIZE, which also is every PT_LOAD's p_align, is the task's page size on every
 * architecture Linux has (4096 on x86, PAGE_SIZE elsewhere: 64 KiB on most ppc64le kernels), so
 * it comes from AT_PAGESZ as {@code execPageSize}.
 */
public record CoreLayout(Arch arch, int elfFlags, List<Note> notes, long notesOffset, long notesSize,
                         List<Segment> segments, long dataOffset, boolean extendedNumbering, long sectionHeaderOffset,
                         long fileSize, long execPageSize) {

    /** One PT_LOAD: a VMA and the {@code fileSize} bytes of it that the core carries. */
    public record Segment(Vma vma, long offset, long fileSize, int flags) {
    }

    public CoreLayout {
        notes = List.copyOf(notes);
        segments = List.copyOf(segments);
    }

    public ElfClass elfClass() {
        return arch.elfClass();
    }

    /** Program headers in the file: the notes' and one per segment. */
    public int programHeaders() {
        return segments.size() + 1;
    }

    public static CoreLayout plan(Arch arch, int elfFlags, List<Note> notes, List<Vma> vmas, long[] dumpSizes,
                                  long execPageSize) {
        ElfClass cls = arch.elfClass();
        int segs = vmas.size() + 1;
        long offset = cls.ehdr().size() + (long) segs * cls.phdr().size();
        long notesOffset = offset;
        long notesSize = 0;
        for (Note note : notes) {
            notesSize += note.size();
        }
        offset += notesSize;
        long dataOffset = roundUp(offset, execPageSize);
        offset = dataOffset;
        List<Segment> segments = new ArrayList<>(vmas.size());
        for (int i = 0; i < vmas.size(); i++) {
            Vma vma = vmas.get(i);
            segments.add(new Segment(vma, offset, dumpSizes[i], flags(vma)));
            offset += dumpSizes[i];
        }
        boolean extended = segs >= Elf.PN_XNUM;
        long sectionHeaderOffset = extended ? offset : 0;
        long fileSize = extended ? offset + cls.shdr().size() : offset;
        return new CoreLayout(arch, elfFlags, notes, notesOffset, notesSize, segments, dataOffset, extended,
                sectionHeaderOffset, fileSize, execPageSize);
    }

    static int flags(Vma vma) {
        return ((vma.prot() & Vma.PROT_READ) != 0 ? Elf.PF_R : 0)
                | ((vma.prot() & Vma.PROT_WRITE) != 0 ? Elf.PF_W : 0)
                | ((vma.prot() & Vma.PROT_EXEC) != 0 ? Elf.PF_X : 0);
    }

    private static long roundUp(long value, long multiple) {
        return (value + multiple - 1) / multiple * multiple;
    }
}
