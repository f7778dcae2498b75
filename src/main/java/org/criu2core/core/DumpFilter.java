package org.criu2core.core;

import java.io.IOException;
import java.util.Arrays;
import org.criu2core.model.MappedFile;
import org.criu2core.model.Vma;

/**
 * Which bytes of each VMA a core carries, by /proc/PID/coredump_filter bits, as the kernel's
 * vma_dump_size() (fs/coredump.c) decides it, test for test in its order.
 *
 * <p>One thing the kernel asks the images cannot answer: whether a private VMA has an anon_vma,
 * which the kernel gives it when a page is first written (or a guard page installed) and keeps
 * when the pages go. The images say it by holding pages of the VMA, or a guard range in an
 * anonymous one; an area that was written and then lost all its pages (MADV_DONTNEED, a split
 * after the write) has one in the kernel and none here. docs/core-format.md lists those cases.
 */
public record DumpFilter(long bits) {
    // MMF_DUMP_* (include/linux/sched/coredump.h)
    public static final int ANON_PRIVATE = 0;
    public static final int ANON_SHARED = 1;
    public static final int MAPPED_PRIVATE = 2;
    public static final int MAPPED_SHARED = 3;
    public static final int ELF_HEADERS = 4;
    public static final int HUGETLB_PRIVATE = 5;
    public static final int HUGETLB_SHARED = 6;

    /** The kernel's default, MMF_DUMP_FILTER_DEFAULT. */
    public static final DumpFilter DEFAULT = new DumpFilter(0x33);

    private static final byte[] ELFMAG = {0x7f, 'E', 'L', 'F'};

    public boolean has(int bit) {
        return (bits >> bit & 1) != 0;
    }

    /** How many bytes from the start of {@code vma} the core carries. */
    public long dumpSize(Vma vma, ProcessMemory memory) throws IOException {
        // always_dump_vma: the gate area and special mappings with a name
        if (vma.special()) {
            return vma.size();
        }
        if (vma.dontDump()) {
            return 0;
        }
        if (vma.hugetlb()) {
            return has(vma.shared() ? HUGETLB_SHARED : HUGETLB_PRIVATE) ? vma.size() : 0;
        }
        MappedFile file = vma.file();
        if (vma.shared()) {
            // a shared file with no link (shmem, SysV, a deleted file) counts as anonymous
            boolean anonymous = file == null || file.unlinked();
            return has(anonymous ? ANON_SHARED : MAPPED_SHARED) ? vma.size() : 0;
        }
        if (hasAnonVma(vma, memory) && has(ANON_PRIVATE)) {
            return vma.size();
        }
        if (file == null) {
            return 0;
        }
        if (has(MAPPED_PRIVATE)) {
            return vma.size();
        }
        if (has(ELF_HEADERS) && vma.pgoff() == 0 && vma.readable()
                && (file.executable() || startsWithElfHeader(vma, memory))) {
            return Math.min(memory.pageSize(), vma.size());
        }
        return 0;
    }

    /**
     * vma->anon_vma, as far as the images tell: some of its pages were saved, or it is anonymous
     * and has guard pages (madvise_guard_install() gives an anonymous VMA one; since Linux 6.18's
     * VM_MAYBE_GUARD, not a file mapping).
     */
    static boolean hasAnonVma(Vma vma, ProcessMemory memory) {
        return memory.hasSavedPages(vma) || (vma.file() == null && !vma.guards().isEmpty());
    }

    private static boolean startsWithElfHeader(Vma vma, ProcessMemory memory) throws IOException {
        return Arrays.equals(memory.fileHead(vma.file(), ELFMAG.length), ELFMAG);
    }
}
