package org.criu2core.model;

import static org.criu2core.model.VmaStatus.VMA_ANON_SHARED;
import static org.criu2core.model.VmaStatus.VMA_AREA_MEMFD;
import static org.criu2core.model.VmaStatus.VMA_AREA_UPROBES;
import static org.criu2core.model.VmaStatus.VMA_AREA_VDSO;
import static org.criu2core.model.VmaStatus.VMA_AREA_VSYSCALL;
import static org.criu2core.model.VmaStatus.VMA_AREA_VVAR;
import static org.criu2core.model.VmaStatus.VMA_FILE_SHARED;

import java.util.List;

/**
 * One memory area of a process, from mm-PID.img.
 *
 * @param pgoff  offset in bytes into the mapped file or shmem object
 * @param prot   PROT_* bits
 * @param flags  MAP_* bits
 * @param status VMA_* bits of {@link VmaStatus}
 * @param madv   bitmap of madvise() advice: bit N set when MADV number N applies
 * @param file   the file it maps, or null
 * @param guards the parts of it that MADV_GUARD_INSTALL made guard pages, in address order
 */
public record Vma(long start, long end, long pgoff, int prot, int flags, int status, long madv, MappedFile file,
                  List<Range> guards) {
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int PROT_EXEC = 4;
    /** <asm-generic/mman-common.h> */
    public static final int MAP_SHARED = 0x01;
    /** <asm-generic/mman-common.h>: an area of huge pages (hugetlbfs), however it was made. */
    public static final int MAP_HUGETLB = 0x40000;
    /** <asm-generic/mman-common.h>: the kernel's core leaves such areas out. */
    public static final int MADV_DONTDUMP = 16;

    /** Addresses [start, end). */
    public record Range(long start, long end) {
        public long size() {
            return end - start;
        }
    }

    public Vma {
        guards = List.copyOf(guards);
    }

    public long size() {
        return end - start;
    }

    public boolean has(int statusBit) {
        return (status & statusBit) != 0;
    }

    /**
     * Special mappings the kernel always writes whole (fs/coredump.c always_dump_vma: the gate
     * area and mappings with a name): [vdso], [vvar], [vsyscall], [uprobes].
     */
    public boolean special() {
        return has(VMA_AREA_VDSO) || has(VMA_AREA_VVAR) || has(VMA_AREA_VSYSCALL) || has(VMA_AREA_UPROBES);
    }

    /** VM_SHARED: MAP_SHARED of a file, shmem, SysV, an AIO ring or a packet socket's ring. */
    public boolean shared() {
        return (flags & MAP_SHARED) != 0 || has(VMA_FILE_SHARED) || has(VMA_ANON_SHARED);
    }

    /** Huge pages (is_vm_hugetlb_page): the filter's own bits decide, before anything else. */
    public boolean hugetlb() {
        return (flags & MAP_HUGETLB) != 0;
    }

    /** MAP_SHARED anonymous memory, SysV or a memfd: its pages are in a shmem object, not the pagemap. */
    public boolean shmem() {
        return has(VMA_ANON_SHARED) || has(VMA_AREA_MEMFD);
    }

    public boolean dontDump() {
        return (madv & (1L << MADV_DONTDUMP)) != 0;
    }

    public boolean readable() {
        return (prot & PROT_READ) != 0;
    }
}
