package org.criu2core.container;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPInputStream;
import org.criu2core.image.CheckpointException;

/**
 * How a tar stream is compressed, read from its first bytes and never from a file name (podman
 * writes zstd into files named .tar.gz, and OCI layers are named by their digest alone): gzip,
 * zstd or none. What the decoders say of bad input becomes one line naming the stream.
 */
enum Compression {
    GZIP, ZSTD, NONE;

    private static final byte[] GZIP_MAGIC = {0x1f, (byte) 0x8b};
    private static final byte[] ZSTD_MAGIC = {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd};
    private static final int TAR_MAGIC_OFFSET = 257;
    /** Bytes looked at to tell the kinds apart. */
    static final int HEAD = TAR_MAGIC_OFFSET + 8;
    /**
     * The largest zstd window decoded, as a power of two: libzstd's own default bound (128 MiB),
     * which only `zstd --long` beyond 27 or `--ultra` levels pass. The window is memory outside the
     * Java heap that a hostile frame could ask for.
     */
    static final int MAX_ZSTD_WINDOW_LOG = 27;

    /** The kind of {@code head} (the first {@link #HEAD} bytes, or fewer when the stream is shorter). */
    static Compression of(byte[] head) {
        if (startsWith(head, GZIP_MAGIC)) {
            return GZIP;
        }
        if (startsWith(head, ZSTD_MAGIC)) {
            return ZSTD;
        }
        return NONE;
    }

    /** Whether {@code head} is a tar header: ustar (POSIX) or GNU's "ustar ". */
    static boolean isTar(byte[] head) {
        return head.length >= TAR_MAGIC_OFFSET + 5
                && new String(head, TAR_MAGIC_OFFSET, 5, StandardCharsets.US_ASCII).equals("ustar");
    }

    /**
     * {@code in} decompressed as its first bytes say; {@code name} names it in errors. The stream
     * is closed when opening fails.
     */
    static InputStream decompressed(InputStream in, String name) throws IOException {
        var buffered = new BufferedInputStream(in, 1 << 16);
        try {
            buffered.mark(HEAD);
            byte[] head = buffered.readNBytes(HEAD);
            buffered.reset();
            return switch (of(head)) {
                case GZIP -> new DecoderErrors(new GZIPInputStream(buffered, 1 << 16), name);
                case ZSTD -> {
                    long window = zstdWindow(head);
                    if (window > 1L << MAX_ZSTD_WINDOW_LOG) {
                        throw windowTooLarge(name, window);
                    }
                    var zstd = new ZstdInputStreamNoFinalizer(buffered);
                    zstd.setLongMax(MAX_ZSTD_WINDOW_LOG);
                    yield new DecoderErrors(zstd, name);
                }
                case NONE -> buffered;
            };
        } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
            buffered.close();
            if (e instanceof CheckpointException c) {
                throw c;
            }
            throw unreadable(name, e);
        }
    }

    /**
     * The window a zstd frame needs (RFC 8878 3.1.1.1): from its Window_Descriptor; 0 for a single
     * segment (its content size bounds the window) and when the header is cut short.
     */
    static long zstdWindow(byte[] head) {
        if (head.length < 6) {
            return 0;
        }
        int descriptor = head[4] & 0xff;
        if ((descriptor & 0x20) != 0) {
            return 0;
        }
        int window = head[5] & 0xff;
        long base = 1L << (10 + (window >>> 3));
        return base + (base / 8) * (window & 7);
    }

    /** What a decompressor or the file said, as one line about the stream. */
    static CheckpointException unreadable(String name, Throwable e) {
        String message = e.getMessage();
        // libzstd says "Truncated source" where GZIPInputStream throws an EOFException
        if (e instanceof EOFException || message != null && message.contains("Truncated source")) {
            return new CheckpointException(name, "truncated: its compressed stream ends early");
        }
        if (e instanceof UnsatisfiedLinkError) {
            return new CheckpointException(name, "is zstd, and libzstd could not be loaded here: " + e.getMessage());
        }
        if (message != null && message.contains("Frame requires too much memory")) {
            return windowTooLarge(name, null);
        }
        return new CheckpointException(name, "not a readable archive: " + (message != null ? message
                : e.getClass().getSimpleName()));
    }

    private static CheckpointException windowTooLarge(String name, Long window) {
        return new CheckpointException(name, "not a readable archive: its zstd stream needs a window of "
                + (window != null ? window + " bytes" : "more than " + (1L << MAX_ZSTD_WINDOW_LOG) + " bytes")
                + " (zstd --long or --ultra made it), and criu2core decodes windows up to "
                + (1L << MAX_ZSTD_WINDOW_LOG) + " bytes: compress it again with a smaller --long");
    }

    private static boolean startsWith(byte[] bytes, byte[] prefix) {
        if (bytes.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (bytes[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * The decoders report bad input with IOExceptions of their own words, zstd-jni also with
     * RuntimeExceptions: each becomes one line naming the stream. A truncated stream is an
     * EOFException from either.
     */
    private static final class DecoderErrors extends FilterInputStream {
        private final String name;

        DecoderErrors(InputStream in, String name) {
            super(in);
            this.name = name;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return super.read(b, off, len);
            } catch (java.io.InterruptedIOException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw unreadable(name, e);
            }
        }

        @Override
        public long skip(long n) throws IOException {
            try {
                return super.skip(n);
            } catch (java.io.InterruptedIOException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw unreadable(name, e);
            }
        }
    }
}
