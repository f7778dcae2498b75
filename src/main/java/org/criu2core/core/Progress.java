package org.criu2core.core;

/**
 * Told how far the writing of cores has come, in bytes of their planned files. When several
 * cores are written at once, their threads call one Progress concurrently.
 */
public interface Progress extends AutoCloseable {
    Progress NONE = new Progress() {
        @Override
        public void start(String core, long totalBytes) {
        }

        @Override
        public void advance(long bytes) {
        }
    };

    /** A core of {@code totalBytes} is about to be written. */
    void start(String core, long totalBytes);

    /** {@code bytes} more of it are written (or skipped as a hole). */
    void advance(long bytes);

    @Override
    default void close() {
    }
}
