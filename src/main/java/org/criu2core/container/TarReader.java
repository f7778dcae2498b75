package org.criu2core.container;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.criu2core.image.CheckpointException;

/**
 * Reads a tar stream entry by entry, as POSIX (ustar, pax) and GNU tar write it, for archives
 * nobody vouches for: every header is checked before anything is allocated from it. Pax and GNU
 * long-name headers are read only up to {@link #MAX_SPECIAL_HEADER} bytes, an entry's data is
 * never more than its header says, and a stream that ends inside a header or an entry's data is
 * "truncated" with the byte offset. Offsets are in the uncompressed tar.
 *
 * <p>Header layout (POSIX.1-2008 ustar, with GNU's fields where POSIX has prefix):
 * <pre>
 *   0 name[100]   100 mode[8]   108 uid[8]   116 gid[8]   124 size[12]   136 mtime[12]
 *   148 chksum[8]   156 typeflag   157 linkname[100]   257 magic[6] "ustar\0" (GNU "ustar ")
 *   263 version[2]   265 uname[32]   297 gname[32]   329 devmajor[8]   337 devminor[8]
 *   345 prefix[155]                  (GNU: 386 sparse[4] of {offset[12] numbytes[12]},
 *                                      482 isextended, 483 realsize[12])
 * </pre>
 */
final class TarReader {
    static final int BLOCK = 512;
    /**
     * The most a pax header or GNU long name may take: what Go's archive/tar (podman's) allows
     * too. Far beyond any real one (PATH_MAX is 4096), and the most a crafted one costs in memory.
     */
    static final int MAX_SPECIAL_HEADER = 1 << 20;

    /** What an entry is; only FILE has data worth unpacking. OTHER: devices, FIFOs, unknown types. */
    enum Type { FILE, DIRECTORY, HARD_LINK, SYMLINK, SPARSE, OTHER }

    /**
     * One entry: its name (pax and GNU long names applied), kind, the bytes of data that follow
     * its header, where its first header (pax or long name, if any) is in the tar, its permission
     * bits, its link target (pax and GNU long link names applied; empty for what is no link) and
     * its modification time in seconds.
     */
    record Entry(String name, Type type, long size, long headerOffset, int mode, String linkName, long mtime) {
    }

    private final InputStream in;
    private final String archive;
    private final byte[] block = new byte[BLOCK];
    /** Bytes of the tar read so far. */
    private long position;
    /** Data bytes of the current entry not yet read, then its padding to a block. */
    private long dataLeft;
    private long paddingLeft;
    private Entry current;
    private boolean ended;

    TarReader(InputStream in, String archive) {
        this.in = in;
        this.archive = archive;
    }

    /** Bytes of the tar read so far. */
    long position() {
        return position;
    }

    /** The next entry, or null at the end of the archive. Skips what is left of the current one. */
    Entry next() throws IOException {
        if (ended) {
            return null;
        }
        skipRest();
        Map<String, String> pax = new HashMap<>();
        String longName = null;
        String longLink = null;
        boolean sparse = false;
        // an entry starts with its first header: pax and long-name headers come before its own
        long start = position;
        while (true) {
            long at = position;
            if (!readHeader()) {
                ended = true;
                return null;
            }
            char type = (char) (block[156] & 0xff);
            long size = size(at);
            switch (type) {
                case 'x', 'g', 'L', 'K' -> {
                    if (size > MAX_SPECIAL_HEADER) {
                        throw new CheckpointException(archive, String.format("%s at byte %d of the tar is %d bytes "
                                + "long, more than the %d bytes criu2core reads", describe(type), at, size,
                                MAX_SPECIAL_HEADER));
                    }
                    byte[] data = readSpecial((int) size, at, type);
                    if (type == 'x') {
                        pax.putAll(paxRecords(data, at));
                    } else if (type == 'L') {
                        longName = cString(data, 0, data.length);
                    } else if (type == 'K') {
                        longLink = cString(data, 0, data.length);
                    }
                    // 'g' (global pax records) say nothing criu2core uses
                    continue;
                }
                case 'S' -> {
                    sparse = true;
                    // the old GNU sparse map: more of it in extension blocks while isextended is set
                    boolean extended = block[482] != 0;
                    while (extended) {
                        long extensionAt = position;
                        if (!readBlock()) {
                            throw truncated(extensionAt, "inside a sparse header");
                        }
                        extended = block[504] != 0;
                    }
                }
                default -> {
                }
            }
            // GNU tar's pax sparse format keeps the real name in GNU.sparse.name, a made-up one in the header
            String name = pax.getOrDefault("GNU.sparse.name",
                    pax.getOrDefault("path", longName != null ? longName : ustarName()));
            if (pax.containsKey("size")) {
                size = paxSize(pax.get("size"), at);
            }
            sparse |= pax.keySet().stream().anyMatch(k -> k.startsWith("GNU.sparse."));
            Type kind = sparse ? Type.SPARSE : switch (type) {
                case '0', '\0', '7' -> Type.FILE;
                case '5', 'D' -> Type.DIRECTORY;
                case '1' -> Type.HARD_LINK;
                case '2' -> Type.SYMLINK;
                default -> Type.OTHER;
            };
            String link = pax.getOrDefault("linkpath", longLink != null ? longLink : cString(block, 157, 100));
            long mode = octal(block, 100, 8);
            long mtime = octal(block, 136, 12);
            // links, devices, FIFOs and directories have no data whatever their size says (as
            // Go's archive/tar reads them); every other type, unknown ones too, has its size of data
            boolean hasData = "123456".indexOf(type) < 0;
            dataLeft = hasData ? size : 0;
            paddingLeft = hasData ? padding(size) : 0;
            current = new Entry(name, kind, dataLeft, start, mode < 0 ? 0 : (int) (mode & 07777),
                    kind == Type.HARD_LINK || kind == Type.SYMLINK ? link : "", Math.max(0, mtime));
            return current;
        }
    }

    /**
     * Reads up to {@code into.length} bytes of the current entry's data; -1 once all of it is read.
     * Never more than the header said; an archive that ends first is truncated.
     */
    int read(byte[] into) throws IOException {
        if (dataLeft == 0) {
            return -1;
        }
        int n = in.read(into, 0, (int) Math.min(into.length, dataLeft));
        if (n < 0) {
            throw new CheckpointException(archive, String.format("archive entry \"%s\" is truncated: the archive "
                    + "ends at byte %d of the tar, %d bytes into its %d bytes of data", current.name(), position,
                    current.size() - dataLeft, current.size()));
        }
        position += n;
        dataLeft -= n;
        return n;
    }

    private void skipRest() throws IOException {
        byte[] sink = new byte[1 << 16];
        while (dataLeft > 0) {
            checkInterrupt();
            read(sink);
        }
        while (paddingLeft > 0) {
            int n = in.read(sink, 0, (int) paddingLeft);
            if (n < 0) {
                throw truncated(position, "in the padding after entry \"" + current.name() + "\"");
            }
            position += n;
            paddingLeft -= n;
        }
    }

    /** Reads a header block; false at the end of the archive (a block of zeros, or the end of the stream on a block boundary, which tar accepts too). */
    private boolean readHeader() throws IOException {
        long at = position;
        if (!readBlock()) {
            return false;
        }
        boolean zeros = true;
        for (byte b : block) {
            if (b != 0) {
                zeros = false;
                break;
            }
        }
        if (zeros) {
            return false;
        }
        long stored = octal(block, 148, 8);
        long unsigned = 0;
        long signed = 0;
        for (int i = 0; i < BLOCK; i++) {
            int b = i >= 148 && i < 156 ? ' ' : block[i];
            unsigned += b & 0xff;
            signed += b;
        }
        if (stored != unsigned && stored != signed) {
            throw new CheckpointException(archive, "not a tar archive, or a damaged one: the header at byte " + at
                    + " of the tar has a wrong checksum");
        }
        return true;
    }

    /** One block; false when the stream ends before it starts, truncated when it ends inside. */
    private boolean readBlock() throws IOException {
        checkInterrupt();
        int got = 0;
        while (got < BLOCK) {
            int n = in.read(block, got, BLOCK - got);
            if (n < 0) {
                if (got == 0) {
                    return false;
                }
                throw truncated(position + got, "inside a header");
            }
            got += n;
        }
        position += BLOCK;
        return true;
    }

    private byte[] readSpecial(int size, long at, char type) throws IOException {
        byte[] data = new byte[size];
        int got = 0;
        while (got < size) {
            int n = in.read(data, got, size - got);
            if (n < 0) {
                throw truncated(position, "inside the " + describe(type) + " at byte " + at);
            }
            got += n;
            position += n;
        }
        dataLeft = 0;
        paddingLeft = padding(size);
        current = new Entry(describe(type), Type.OTHER, size, at, 0, "", 0);
        skipRest();
        return data;
    }

    private CheckpointException truncated(long at, String where) {
        return new CheckpointException(archive, "truncated: the archive ends at byte " + at + " of the tar, " + where);
    }

    private static String describe(char type) {
        return switch (type) {
            case 'x' -> "pax header";
            case 'g' -> "global pax header";
            case 'L' -> "GNU long name";
            default -> "GNU long link name";
        };
    }

    private static long padding(long size) {
        return (BLOCK - size % BLOCK) % BLOCK;
    }

    /** The entry's size: octal, or GNU's base-256 (first byte 0x80, then big-endian) for 8 GiB and more. */
    private long size(long at) throws CheckpointException {
        long size;
        if ((block[124] & 0x80) != 0) {
            // 6 bits of the first byte and 11 more bytes: anything past 63 bits is no file's size
            size = block[124] & 0x3f;
            for (int i = 125; i < 136; i++) {
                if (size >>> 55 != 0) {
                    throw new CheckpointException(archive, "the header at byte " + at + " of the tar gives a size "
                            + "larger than any file");
                }
                size = size << 8 | (block[i] & 0xff);
            }
            if ((block[124] & 0x40) != 0) {
                size = -1; // a negative number
            }
        } else {
            size = octal(block, 124, 12);
        }
        if (size < 0) {
            throw new CheckpointException(archive, "the header at byte " + at + " of the tar gives no size");
        }
        return size;
    }

    /** An octal field, spaces and NULs around it allowed; -1 when it is not one. */
    private static long octal(byte[] b, int offset, int length) {
        int i = offset;
        int end = offset + length;
        while (i < end && (b[i] == ' ' || b[i] == 0)) {
            i++;
        }
        long value = 0;
        int digits = 0;
        for (; i < end && b[i] >= '0' && b[i] <= '7'; i++) {
            value = value << 3 | (b[i] - '0');
            digits++;
        }
        for (; i < end; i++) {
            if (b[i] != ' ' && b[i] != 0) {
                return -1;
            }
        }
        return digits == 0 ? 0 : value;
    }

    private long paxSize(String value, long at) throws CheckpointException {
        try {
            long size = Long.parseLong(value);
            if (size >= 0) {
                return size;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new CheckpointException(archive, "the pax header at byte " + at + " of the tar gives the size \""
                + value + "\"");
    }

    /** ustar's name: prefix "/" name, each NUL-terminated unless it fills its field. */
    private String ustarName() {
        String name = cString(block, 0, 100);
        boolean ustar = block[257] == 'u' && block[258] == 's' && block[259] == 't' && block[260] == 'a'
                && block[261] == 'r' && block[262] == 0;
        if (ustar && block[345] != 0) {
            return cString(block, 345, 155) + "/" + name;
        }
        return name;
    }

    private static String cString(byte[] b, int offset, int length) {
        int end = offset;
        while (end < offset + length && b[end] != 0) {
            end++;
        }
        return new String(b, offset, end - offset, StandardCharsets.UTF_8);
    }

    /** "LENGTH KEY=VALUE\n" records, LENGTH counting the whole record. */
    private Map<String, String> paxRecords(byte[] data, long at) throws CheckpointException {
        Map<String, String> records = new HashMap<>();
        int i = 0;
        while (i < data.length) {
            if (data[i] == 0) {
                break; // some writers pad the records with NULs
            }
            int space = i;
            long length = 0;
            while (space < data.length && data[space] >= '0' && data[space] <= '9' && length <= data.length) {
                length = length * 10 + (data[space] - '0');
                space++;
            }
            if (space == i || space >= data.length || data[space] != ' ' || length <= space - i + 1
                    || i + length > data.length || data[(int) (i + length - 1)] != '\n') {
                throw new CheckpointException(archive, "the pax header at byte " + at + " of the tar has a broken "
                        + "record at its byte " + i);
            }
            int end = (int) (i + length - 1);
            int equals = space + 1;
            while (equals < end && data[equals] != '=') {
                equals++;
            }
            if (equals == end) {
                throw new CheckpointException(archive, "the pax header at byte " + at + " of the tar has a record "
                        + "without '=' at its byte " + i);
            }
            String key = new String(data, space + 1, equals - space - 1, StandardCharsets.UTF_8);
            String value = new String(data, equals + 1, end - equals - 1, StandardCharsets.UTF_8);
            records.put(key, value);
            i = end + 1;
        }
        return records;
    }

    private static void checkInterrupt() throws InterruptedIOException {
        if (Thread.currentThread().isInterrupted()) {
            throw new InterruptedIOException("interrupted while the archive was unpacked");
        }
    }
}
