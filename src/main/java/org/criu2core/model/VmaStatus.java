package org.criu2core.model;

/** Bits of vma_entry.status (criu/include/image.h VMA_*). */
public final class VmaStatus {
    public static final int VMA_AREA_REGULAR = 1 << 0;
    public static final int VMA_AREA_STACK = 1 << 1;
    public static final int VMA_AREA_VSYSCALL = 1 << 2;
    public static final int VMA_AREA_VDSO = 1 << 3;
    public static final int VMA_AREA_HEAP = 1 << 5;
    public static final int VMA_FILE_PRIVATE = 1 << 6;
    public static final int VMA_FILE_SHARED = 1 << 7;
    public static final int VMA_ANON_SHARED = 1 << 8;
    public static final int VMA_ANON_PRIVATE = 1 << 9;
    public static final int VMA_AREA_SYSVIPC = 1 << 10;
    public static final int VMA_AREA_SOCKET = 1 << 11;
    public static final int VMA_AREA_VVAR = 1 << 12;
    public static final int VMA_AREA_AIORING = 1 << 13;
    public static final int VMA_AREA_MEMFD = 1 << 14;
    public static final int VMA_AREA_SHSTK = 1 << 15;
    public static final int VMA_AREA_UPROBES = 1 << 17;
    public static final int VMA_UNSUPP = 1 << 31;

    private VmaStatus() {
    }
}
