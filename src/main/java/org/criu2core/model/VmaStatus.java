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
    /**
     * Not an area: pages of the VMA it lies in that MADV_GUARD_INSTALL made guard pages. CRIU 4.2
     * (criu/mem.c collect_madv_guards) appends one such entry per guarded range after the real VMAs.
     */
    public static final int VMA_AREA_GUARD = 1 << 16;
    /** The [uprobes] XOL area, dumped by CRIU 4.2 with --allow-uprobes, its page not saved. */
    public static final int VMA_AREA_UPROBES = 1 << 17;
    // bits CRIU uses while it runs; an image may carry them
    public static final int VMA_EXT_PLUGIN = 1 << 27;
    public static final int VMA_CLOSE = 1 << 28;
    public static final int VMA_NO_PROT_WRITE = 1 << 29;
    public static final int VMA_PREMMAPED = 1 << 30;
    public static final int VMA_UNSUPP = 1 << 31;

    /** Every bit above: others are from a CRIU newer than this tool. */
    public static final int KNOWN = VMA_AREA_REGULAR | VMA_AREA_STACK | VMA_AREA_VSYSCALL | VMA_AREA_VDSO
            | VMA_AREA_HEAP | VMA_FILE_PRIVATE | VMA_FILE_SHARED | VMA_ANON_SHARED | VMA_ANON_PRIVATE
            | VMA_AREA_SYSVIPC | VMA_AREA_SOCKET | VMA_AREA_VVAR | VMA_AREA_AIORING | VMA_AREA_MEMFD
            | VMA_AREA_SHSTK | VMA_AREA_GUARD | VMA_AREA_UPROBES | VMA_EXT_PLUGIN | VMA_CLOSE | VMA_NO_PROT_WRITE
            | VMA_PREMMAPED | VMA_UNSUPP;

    private VmaStatus() {
    }
}
