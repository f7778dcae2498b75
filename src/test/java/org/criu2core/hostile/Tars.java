package org.criu2core.hostile;

import com.github.luben.zstd.Zstd;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

/**
 * Tar archives and zstd frames written byte by byte, so that tests can say what no honest tool
 * writes: sizes that do not match, headers cut short, pax records of a gigabyte. Huge contents
 * cost nothing: a zstd RLE block is one byte repeated up to 128 KiB times.
 */
final class Tars {
    static final int BLOCK = 512;

    private Tars() {
    }

    /** A tar being written: headers and data in blocks of 512 bytes. */
    static final class Tar {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        /** A regular file with its data. */
        Tar file(String name, byte[] data) {
            header(name, '0', data.length, null);
            data(data);
            return this;
        }

        /** The real images of a case under checkpoint/, as podman puts them, but those named in {@code except}. */
        Tar images(Path images, String... except) throws IOException {
            try (Stream<Path> files = Files.list(images)) {
                for (Path p : files.sorted().toList()) {
                    if (Files.isRegularFile(p) && !java.util.List.of(except).contains(p.getFileName().toString())) {
                        file("checkpoint/" + p.getFileName(), Files.readAllBytes(p));
                    }
                }
            }
            return this;
        }

        /** A pax header of {@code records} ("path=..."), for the next entry. */
        Tar pax(String... records) {
            var data = new ByteArrayOutputStream();
            for (String r : records) {
                data.writeBytes(paxRecord(r));
            }
            header("PaxHeaders/x", 'x', data.size(), null);
            data(data.toByteArray());
            return this;
        }

        /**
         * A header of any type; {@code change} may set more fields (GNU sparse maps) before the
         * checksum is computed. Data, if any, follows with {@link #data}.
         */
        Tar header(String name, char type, long size, java.util.function.Consumer<byte[]> change) {
            out.writeBytes(headerBlock(name, type, size, change));
            return this;
        }

        /** Data, padded to a block. */
        Tar data(byte[] data) {
            out.writeBytes(data);
            out.writeBytes(new byte[(BLOCK - data.length % BLOCK) % BLOCK]);
            return this;
        }

        /** The end-of-archive marker: two blocks of zeros. */
        Tar end() {
            out.writeBytes(new byte[2 * BLOCK]);
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    static byte[] paxRecord(String keyValue) {
        byte[] body = (" " + keyValue + "\n").getBytes(StandardCharsets.UTF_8);
        int length = body.length + 1;
        while (Integer.toString(length).length() + body.length != length) {
            length++;
        }
        return (length + new String(body, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
    }

    /** A ustar header block: name, mode 0644, size (octal, or base-256 past 8 GiB), type, checksum. */
    static byte[] headerBlock(String name, char type, long size, java.util.function.Consumer<byte[]> change) {
        byte[] h = new byte[BLOCK];
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(n, 0, h, 0, Math.min(n.length, 100));
        octal(h, 100, 8, 0644);
        octal(h, 108, 8, 0);
        octal(h, 116, 8, 0);
        size(h, size);
        octal(h, 136, 12, 0);
        h[156] = (byte) type;
        System.arraycopy("ustar\0".getBytes(StandardCharsets.US_ASCII), 0, h, 257, 6);
        h[263] = '0';
        h[264] = '0';
        if (change != null) {
            change.accept(h);
        }
        checksum(h);
        return h;
    }

    static void size(byte[] h, long size) {
        if (size < 1L << 33) {
            octal(h, 124, 12, size);
        } else {
            Arrays.fill(h, 124, 136, (byte) 0);
            h[124] = (byte) 0x80;
            for (int i = 0; i < 8; i++) {
                h[135 - i] = (byte) (size >>> (8 * i));
            }
        }
    }

    static void octal(byte[] h, int offset, int length, long value) {
        String s = String.format("%0" + (length - 1) + "o", value);
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, h, offset, length - 1);
        h[offset + length - 1] = 0;
    }

    static void checksum(byte[] h) {
        Arrays.fill(h, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        String s = String.format("%06o", sum);
        System.arraycopy(s.getBytes(StandardCharsets.US_ASCII), 0, h, 148, 6);
        h[154] = 0;
        h[155] = ' ';
    }

    /**
     * A zstd frame (RFC 8878) of raw and RLE blocks, with a Window_Descriptor and no content
     * size, as `zstd` writes when it streams.
     */
    static final class ZstdFrame {
        private static final int MAX_BLOCK = 128 << 10;
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private byte[] pendingHeader;
        private int pendingType;
        private byte[] pendingData;

        /** A frame whose decoder needs a window of 2^{@code windowLog} bytes. */
        ZstdFrame(int windowLog) {
            out.writeBytes(new byte[] {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd, 0x00, (byte) ((windowLog - 10) << 3)});
        }

        ZstdFrame raw(byte[] data) {
            for (int i = 0; i < data.length; i += MAX_BLOCK) {
                block(0, Arrays.copyOfRange(data, i, Math.min(data.length, i + MAX_BLOCK)));
            }
            return this;
        }

        /** {@code count} copies of {@code b}: 4 bytes per 128 KiB. */
        ZstdFrame repeat(byte b, long count) {
            for (long left = count; left > 0; left -= MAX_BLOCK) {
                int n = (int) Math.min(left, MAX_BLOCK);
                pending(1, n, new byte[] {b});
            }
            return this;
        }

        private void block(int type, byte[] data) {
            pending(type, data.length, data);
        }

        private void pending(int type, int size, byte[] data) {
            flush(false);
            pendingType = type;
            pendingHeader = new byte[] {(byte) size, (byte) (size >>> 8), (byte) (size >>> 16)};
            pendingData = data;
        }

        private void flush(boolean last) {
            if (pendingHeader == null) {
                return;
            }
            int size = (pendingHeader[0] & 0xff) | (pendingHeader[1] & 0xff) << 8 | (pendingHeader[2] & 0xff) << 16;
            int header = size << 3 | pendingType << 1 | (last ? 1 : 0);
            out.writeBytes(new byte[] {(byte) header, (byte) (header >>> 8), (byte) (header >>> 16)});
            out.writeBytes(pendingData);
            pendingHeader = null;
        }

        byte[] bytes() {
            if (pendingHeader == null) {
                block(0, new byte[0]);
            }
            flush(true);
            return out.toByteArray();
        }
    }

    /**
     * {@code content} compressed by libzstd, its frame header rewritten to ask for a window of
     * 2^{@code windowLog} bytes (a larger window than the blocks use is valid zstd, and what
     * `zstd --long` writes).
     */
    static byte[] zstdWithWindow(byte[] content, int windowLog) {
        byte[] frame = Zstd.compress(content, 3);
        int descriptor = frame[4] & 0xff;
        int fcsFlag = descriptor >>> 6;
        boolean single = (descriptor & 0x20) != 0;
        int dictFlag = descriptor & 3;
        int dictBytes = dictFlag == 0 ? 0 : 1 << (dictFlag - 1);
        int fcsBytes = fcsFlag == 0 ? (single ? 1 : 0) : 1 << fcsFlag;
        int headerEnd = 5 + (single ? 0 : 1) + dictBytes + fcsBytes;
        var out = new ByteArrayOutputStream();
        out.writeBytes(Arrays.copyOf(frame, 4));
        // no content size, not a single segment: the window descriptor decides
        out.write(descriptor & 0x04 | dictFlag); // the checksum flag kept
        out.write((windowLog - 10) << 3);
        out.writeBytes(Arrays.copyOfRange(frame, 5 + (single ? 0 : 1), 5 + (single ? 0 : 1) + dictBytes));
        out.writeBytes(Arrays.copyOfRange(frame, headerEnd, frame.length));
        return out.toByteArray();
    }
}
