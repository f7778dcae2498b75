package org.criu2core.core;

import java.io.IOException;
import java.util.Arrays;
import org.criu2core.model.MappedFile;
import org.criu2core.model.Vma;

/**
 * Which bytes of each VMA a core carries, by /proc/PID/coredump_filter bits, as the kernel's
 * vma_dump_size() (fs/coredump.c) decides it. The kernel asks whether a private VMA has an
 * anon_vma, that is, whether it was ever written; the images say that by holding its pages.
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
        if (vma.special()) {
            return vma.size();
        }
        if (vma.dontDump()) {
            return 0;
        }
        MappedFile file = vma.file();
        if (vma.shared()) {
            // shmem with no name in any filesystem (nlink 0) counts as anonymous
            boolean anonymous = file == null || file.kind() == MappedFile.Kind.MEMFD;
            return has(anonymous ? ANON_SHARED : MAPPED_SHARED) ? vma.size() : 0;
        }
        if (memory.hasSavedPages(vma) && has(ANON_PRIVATE)) {
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

    private static boolean startsWithElfHeader(Vma vma, ProcessMemory memory) throws IOException {
        return Arrays.equals(memory.fileHead(vma.file(), ELFMAG.length), ELFMAG);
    }
}
