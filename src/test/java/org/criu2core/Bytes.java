package org.criu2core;

/** Searches in bytes, for tests that look for a marker in a core. */
public final class Bytes {
    private Bytes() {
    }

    /** Where {@code pattern} first stands in {@code bytes}; -1 where it does not. */
    public static int indexOf(byte[] bytes, byte[] pattern) {
        outer:
        for (int i = 0; i + pattern.length <= bytes.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (bytes[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
