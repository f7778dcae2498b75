package org.criu2core.inspect;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.criu2core.core.ProcessMemory;
import org.criu2core.model.Vma;

/**
 * Finds a byte pattern in a process's memory as the images and --root hold it, reading each
 * VMA's pieces in chunks, so memory of any size is searched in constant space. Holes (pages
 * never written) are not searched: they hold only zeros, and a match may not span one.
 */
public final class MemorySearch {
    /** A match: where it is, and the VMA it is in. */
    @FunctionalInterface
    public interface Hit {
        /** @return false to stop the search */
        boolean found(long address, Vma vma) throws IOException;
    }

    private static final int CHUNK = 1 << 20;

    private MemorySearch() {
    }

    /** Searches every VMA of the process; stops early when {@code hit} returns false. */
    public static void search(ProcessMemory memory, byte[] pattern, Hit hit) throws IOException {
        if (pattern.length == 0) {
            throw new IllegalArgumentException("an empty pattern");
        }
        int[] failure = failure(pattern);
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK);
        for (Vma vma : memory.process().vmas()) {
            var state = new int[] {0}; // pattern bytes matched so far, across pieces of one run
            var stop = new boolean[] {false};
            memory.forEach(vma, vma.start(), vma.end(), (address, length, file, offset) -> {
                if (stop[0]) {
                    return;
                }
                if (file == null) {
                    state[0] = 0;
                    return;
                }
                for (long done = 0; done < length && !stop[0]; ) {
                    chunk.clear().limit((int) Math.min(CHUNK, length - done));
                    int n = file.channel().read(chunk, offset + done);
                    if (n <= 0) {
                        break;
                    }
                    byte[] bytes = chunk.array();
                    for (int i = 0; i < n && !stop[0]; i++) {
                        int k = state[0];
                        while (k > 0 && bytes[i] != pattern[k]) {
                            k = failure[k - 1];
                        }
                        if (bytes[i] == pattern[k]) {
                            k++;
                        }
                        if (k == pattern.length) {
                            long at = address + done + i - (pattern.length - 1);
                            stop[0] = !hit.found(at, vma);
                            k = failure[k - 1];
                        }
                        state[0] = k;
                    }
                    done += n;
                }
            });
            if (stop[0]) {
                return;
            }
        }
    }

    /** Knuth-Morris-Pratt: for each prefix, the longest proper prefix that is also its suffix. */
    private static int[] failure(byte[] pattern) {
        int[] f = new int[pattern.length];
        for (int i = 1, k = 0; i < pattern.length; i++) {
            while (k > 0 && pattern[i] != pattern[k]) {
                k = f[k - 1];
            }
            if (pattern[i] == pattern[k]) {
                k++;
            }
            f[i] = k;
        }
        return f;
    }
}
