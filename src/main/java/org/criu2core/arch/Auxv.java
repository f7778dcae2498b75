package org.criu2core.arch;

import java.util.Arrays;

/** The auxiliary vector: (type, value) word pairs ending with AT_NULL (include/uapi/linux/auxvec.h). */
public final class Auxv {
    public static final int AT_NULL = 0;
    public static final int AT_PAGESZ = 6;
    public static final int AT_HWCAP = 16;

    private Auxv() {
    }

    /** The pairs up to the first AT_NULL, then AT_NULL. */
    static long[] terminate(long[] words) {
        int n = 0;
        while (n + 1 < words.length && words[n] != AT_NULL) {
            n += 2;
        }
        long[] out = Arrays.copyOf(words, n + 2);
        out[n] = AT_NULL;
        out[n + 1] = 0;
        return out;
    }

    /** The value of {@code type}, or 0 where the vector does not have it. */
    public static long value(long[] auxv, int type) {
        for (int i = 0; i + 1 < auxv.length; i += 2) {
            if (auxv[i] == type) {
                return auxv[i + 1];
            }
        }
        return 0;
    }

    /** The page sizes Linux uses: 4 KiB to 1 MiB (arm64 and ppc64 also 16 and 64 KiB). */
    public static final long MIN_PAGE_SIZE = 4096;
    public static final long MAX_PAGE_SIZE = 1 << 20;

    /** AT_PAGESZ, or 4096 where the vector does not say; -1 when it says something no page size is. */
    public static long pageSize(long[] auxv) {
        for (int i = 0; i + 1 < auxv.length; i += 2) {
            if (auxv[i] == AT_PAGESZ) {
                long size = auxv[i + 1];
                boolean valid = size >= MIN_PAGE_SIZE && size <= MAX_PAGE_SIZE && Long.bitCount(size) == 1;
                return valid ? size : -1;
            }
        }
        return MIN_PAGE_SIZE;
    }
}
