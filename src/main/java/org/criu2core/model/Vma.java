package org.criu2core.model;

import static org.criu2core.model.VmaStatus.VMA_ANON_SHARED;
import static org.criu2core.model.VmaStatus.VMA_AREA_MEMFD;
import static org.criu2core.model.VmaStatus.VMA_AREA_VDSO;
import static org.criu2core.model.VmaStatus.VMA_AREA_VSYSCALL;
import static org.criu2core.model.VmaStatus.VMA_AREA_VVAR;
import static org.criu2core.model.VmaStatus.VMA_FILE_SHARED;

/**
 * One memory area of a process, from mm-PID.img.
 *
 * @param pgoff  offset in bytes into the mapped file or shmem object
 * @param prot   PROT_* bits
 * @param flags  MAP_* bits
 * @param status VMA_* bits of {@link VmaStatus}
 * @param madv   bitmap of madvise() advice: bit N set when MADV number N applies
 * @param file   the file it maps, or null
 */
public record Vma(long start, long end, long pgoff, int prot, int flags, int status, long madv, MappedFile file) {
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int PROT_EXEC = 4;
    /** <asm-generic/mman-common.h>: the kernel's core leaves such areas out. */
    public static final int MADV_DONTDUMP = 16;

    public long size() {
        return end - start;
    }

    public boolean has(int statusBit) {
        return (status & statusBit) != 0;
    }

    /** Special areas the kernel always writes whole: vdso, vvar, vsyscall. */
    public boolean special() {
        return has(VMA_AREA_VDSO) || has(VMA_AREA_VVAR) || has(VMA_AREA_VSYSCALL);
    }

    public boolean shared() {
        return has(VMA_FILE_SHARED) || has(VMA_ANON_SHARED);
    }

    /** MAP_SHARED anonymous memory or a memfd: its pages are in a shmem object, not the pagemap. */
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
