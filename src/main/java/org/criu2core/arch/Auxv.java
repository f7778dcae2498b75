package org.criu2core.arch;

import java.util.Arrays;

/** The auxiliary vector: (type, value) word pairs ending with AT_NULL (include/uapi/linux/auxvec.h). */
public final class Auxv {
    public static final int AT_NULL = 0;
    public static final int AT_PAGESZ = 6;

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

    /** AT_PAGESZ, or 4096 where the vector does not say. */
    public static long pageSize(long[] auxv) {
        for (int i = 0; i + 1 < auxv.length; i += 2) {
            if (auxv[i] == AT_PAGESZ && auxv[i + 1] > 0) {
                return auxv[i + 1];
            }
        }
        return 4096;
    }
}
