package org.criu2core.image;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.criu2core.sys.OpenFile;

/**
 * Reads CRIU image files:
 * <pre>
 *   IMAGE ::= [ IMG_COMMON | IMG_SERVICE ] MAGIC { ENTRY }      (all words u32)
 *   ENTRY ::= SIZE MESSAGE [ EXTRA ]                            (SIZE = length of MESSAGE)
 * </pre>
 * The words are in the byte order of the machine that dumped (criu/image.c writes them as they
 * are in memory): little-endian but on s390x. The first magic word says which, as it is a known
 * magic in one order only. Every length read from the file is checked against what the file has
 * left before anything is allocated for it.
 */
public final class ImageReader {
    /** Far larger than any image but pages files, which are never read through here. */
    static final long MAX_IMAGE_SIZE = 1L << 30;
    /** Parsed messages take up to this many times the bytes of their image. */
    static final int PARSED_SIZE_FACTOR = 8;
    private static final byte[] NO_PAYLOAD = {};

    private ImageReader() {
    }

    public static Image read(Path file) throws IOException {
        return read(file, file.toString());
    }

    /**
     * Reads {@code file}, naming it {@code name} in errors. Only a regular file is read, and never
     * through a symbolic link: a checkpoint's images are CRIU's files, and a link in their place
     * (which `tar x` keeps) would read some other file into the core.
     */
    public static Image read(Path file, String name) throws IOException {
        return read(wholeFile(file, name), name, true);
    }

    /** Takes each entry of an image as it is read. */
    @FunctionalInterface
    private interface EntryVisitor {
        void visit(int index, ImageEntry entry) throws IOException;
    }

    /** Takes each entry of an image unparsed, where its message lies in the image's bytes. */
    @FunctionalInterface
    public interface RawEntryVisitor {
        /**
         * Entry {@code index}, whose size word is at {@code offset} in the file: its message is the
         * {@code length} bytes of {@code image} from {@code at}.
         */
        void visit(int index, long offset, byte[] image, int at, int length) throws IOException;
    }

    /**
     * Reads {@code file}, which must be a {@code magic} image of entries without payloads, handing
     * each entry's message to {@code visitor} unparsed and keeping nothing: for pagemaps, whose
     * tens of thousands of entries are each needed once, and whose reader takes their five fields
     * from the wire form faster than protobuf's parser builds messages while the code is still
     * interpreted ({@link PagemapEntryReader}). {@link #parseEntry} parses one.
     */
    public static void forEach(Path file, String name, String magic, RawEntryVisitor visitor) throws IOException {
        ArraySource in = wholeFile(file, name);
        long size = in.size();
        long[] at = {0};
        Header header = header(in, size, at, name, magic);
        ImageKind kind = kind(header.magic(), name);
        if (kind.extraAt(0) != null || kind.extraAt(1) != null) {
            throw new IllegalArgumentException(magic + " images have payloads after their entries");
        }
        for (int index = 0; at[0] < size; index++) {
            long offset = at[0];
            int length = (int) entryLength(in, size, offset, name, index, header.order());
            visitor.visit(index, offset, in.bytes(), (int) offset + 4, length);
            at[0] = offset + 4 + length;
        }
    }

    /**
     * The message of entry {@code index} of the image {@code name}, a {@code type}, parsed from the
     * {@code length} bytes of {@code image} from {@code at}; its size word is at {@code offset}.
     */
    public static Message parseEntry(Message type, byte[] image, int at, int length, String name, long offset,
                                     int index) throws ImageFormatException {
        try {
            return type.getParserForType().parseFrom(image, at, length);
        } catch (InvalidProtocolBufferException e) {
            throw notValid(type, name, offset, index, e);
        }
    }

    private static ImageFormatException notValid(Message type, String name, long offset, int index,
                                                 InvalidProtocolBufferException e) {
        return new ImageFormatException(name, offset + 4, "entry " + index + " is not a valid "
                + type.getDescriptorForType().getName() + ": " + e.getMessage(), e);
    }

    /** The bytes of {@code file}, read at once after its size is checked. */
    private static ArraySource wholeFile(Path file, String name) throws IOException {
        try (OpenFile opened = OpenFile.openRegular(file, name)) {
            FileChannel channel = opened.channel();
            long size = channel.size();
            if (size > MAX_IMAGE_SIZE) {
                throw new ImageFormatException(name, 0, "image of " + size + " bytes is larger than any CRIU writes");
            }
            checkHeap(size, name);
            // one read for the whole image: reading entry by entry costs two system calls each,
            // which for the 27 000 entries of a 1 GiB checkpoint's pagemap was 50 ms
            byte[] bytes = new byte[(int) size];
            new FileSource(channel, name).read(0, bytes);
            return new ArraySource(bytes);
        }
    }

    /**
     * Reads the entries of {@code file} but not their payloads: each entry says where its payload
     * is ({@link ImageEntry#extraOffset()}) and how long. For ghost files, whose payload is a
     * deleted file of any size.
     */
    public static Image readFraming(Path file, String name) throws IOException {
        try (OpenFile opened = OpenFile.openRegular(file, name)) {
            return read(new FileSource(opened.channel(), name), name, false);
        }
    }

    public static Image parse(byte[] bytes, String name) throws ImageFormatException {
        try {
            return read(new ArraySource(bytes), name, true);
        } catch (ImageFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new IllegalStateException("an array does not fail", e);
        }
    }

    /** The bytes an image is read from. */
    private interface Source {
        long size() throws IOException;

        /** Fills {@code into} from {@code at}; the caller has checked the bytes are there. */
        void read(long at, byte[] into) throws IOException;

        /** The message of {@code length} bytes at {@code at}; the caller has checked they are there. */
        default Message parse(Parser<? extends Message> parser, long at, int length) throws IOException {
            byte[] bytes = new byte[length];
            read(at, bytes);
            return parser.parseFrom(bytes);
        }

        /** The u32 at {@code at} in {@code order}, as the sizes and magics of images are. */
        default int word(long at, ByteOrder order) throws IOException {
            byte[] b = new byte[4];
            read(at, b);
            return ByteBuffer.wrap(b).order(order).getInt();
        }
    }

    private record ArraySource(byte[] bytes) implements Source {
        @Override
        public long size() {
            return bytes.length;
        }

        @Override
        public void read(long at, byte[] into) {
            System.arraycopy(bytes, (int) at, into, 0, into.length);
        }

        /** Without a copy: a pagemap has tens of thousands of entries. */
        @Override
        public Message parse(Parser<? extends Message> parser, long at, int length) throws IOException {
            return parser.parseFrom(bytes, (int) at, length);
        }

        /** Without an array per word: a pagemap has one word per entry, tens of thousands. */
        @Override
        public int word(long at, ByteOrder order) {
            int i = (int) at;
            int le = (bytes[i] & 0xff) | (bytes[i + 1] & 0xff) << 8 | (bytes[i + 2] & 0xff) << 16
                    | (bytes[i + 3] & 0xff) << 24;
            return order == ByteOrder.LITTLE_ENDIAN ? le : Integer.reverseBytes(le);
        }
    }

    private record FileSource(FileChannel channel, String name) implements Source {
        @Override
        public long size() throws IOException {
            return channel.size();
        }

        @Override
        public void read(long at, byte[] into) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(into);
            while (b.hasRemaining()) {
                if (channel.read(b, at + b.position()) < 0) {
                    throw new ImageFormatException(name, at + b.position(), "the file ended while it was read "
                            + "(it shrank: is something still writing the checkpoint?)");
                }
            }
        }
    }

    private static void checkHeap(long bytes, String name) throws CheckpointException {
        long heap = Runtime.getRuntime().maxMemory();
        if (bytes > heap / PARSED_SIZE_FACTOR) {
            throw new CheckpointException(name, "an image of " + bytes + " bytes needs more memory than the "
                    + (heap >> 20) + " MiB of heap this JVM was given: run it with more (JAVA_OPTS=-Xmx1g)");
        }
    }

    private static Image read(Source in, String name, boolean payloads) throws IOException {
        List<ImageEntry> entries = new ArrayList<>();
        Header header = visit(in, name, null, payloads, (index, entry) -> entries.add(entry));
        return new Image(header.magic(), entries, header.order());
    }

    private record Header(String magic, ByteOrder order) {
    }

    /** Reads the image in {@code in}, of kind {@code expected} unless that is null, entry by entry. */
    private static Header visit(Source in, String name, String expected, boolean payloads, EntryVisitor visitor)
            throws IOException {
        long size = in.size();
        long[] at = {0};
        Header header = header(in, size, at, name, expected);
        ImageKind kind = kind(header.magic(), name);
        for (int index = 0; at[0] < size; index++) {
            visitor.visit(index, readEntry(in, size, at, name, kind.entryAt(index), kind.extraAt(index), index,
                    payloads, header.order()));
        }
        return header;
    }

    /**
     * The magic and byte order of the image in {@code in}, of kind {@code expected} unless that is
     * null; leaves {@code at} after the magic words.
     */
    private static Header header(Source in, long size, long[] at, String name, String expected) throws IOException {
        if (size < 4) {
            throw new ImageFormatException(name, 0, "file of " + size + " bytes has no magic word");
        }
        ByteOrder order = byteOrder(in.word(0, ByteOrder.LITTLE_ENDIAN));
        String magic = readMagic(in, size, at, name, order);
        if (expected != null && !expected.equals(magic)) {
            throw new ImageFormatException(name, 0, "a " + magic + " image where a " + expected + " image belongs");
        }
        return new Header(magic, order);
    }

    private static ImageKind kind(String magic, String name) throws ImageFormatException {
        return ImageKind.of(magic).orElseThrow(() -> new ImageFormatException(name, 0,
                magic + " image: criu2core has no schema for this kind of image"));
    }

    /**
     * The byte order of an image whose first word, read little-endian, is {@code first}: big-endian
     * when that is no magic but its bytes reversed are one. No magic is another reversed, so
     * one reading at most names a magic; an image that is neither fails on its magic.
     */
    static ByteOrder byteOrder(int first) {
        return isMagic(first) || !isMagic(Integer.reverseBytes(first)) ? ByteOrder.LITTLE_ENDIAN
                : ByteOrder.BIG_ENDIAN;
    }

    private static boolean isMagic(int word) {
        return word == Magic.IMG_COMMON || word == Magic.IMG_SERVICE || Magic.name(word).isPresent();
    }

    private static String readMagic(Source in, long size, long[] at, String name, ByteOrder order)
            throws IOException {
        // v1 images and the inventory have only their own magic, like crit, accept either form
        int first = in.word(0, order);
        int magic = first;
        at[0] = 4;
        if (first == Magic.IMG_COMMON || first == Magic.IMG_SERVICE) {
            if (size < 8) {
                throw new ImageFormatException(name, 4, "truncated after the first magic word");
            }
            magic = in.word(4, order);
            at[0] = 8;
        }
        long magicAt = at[0] - 4;
        int found = magic;
        return Magic.name(magic).orElseThrow(() -> new ImageFormatException(name, magicAt,
                String.format("unknown magic 0x%08x: not a CRIU image (raw pages images have no magic)", found)));
    }

    /**
     * The length of the message of entry {@code index}, whose size word is at {@code offset},
     * checked against the bytes the image has left.
     */
    private static long entryLength(Source in, long size, long offset, String name, int index, ByteOrder order)
            throws IOException {
        long left = size - offset;
        if (left < 4) {
            throw new ImageFormatException(name, offset, "entry " + index + ": truncated size word ("
                    + left + " of 4 bytes)");
        }
        long length = Integer.toUnsignedLong(in.word(offset, order));
        left -= 4;
        if (length > left) {
            throw new ImageFormatException(name, offset, "entry " + index + ": size " + length
                    + " is larger than the " + left + " bytes left");
        }
        return length;
    }

    private static ImageEntry readEntry(Source in, long size, long[] at, String name, Message type,
                                        ExtraPayload extra, int index, boolean payloads, ByteOrder order)
            throws IOException {
        long offset = at[0];
        long length = entryLength(in, size, offset, name, index, order);
        if (!payloads) {
            checkHeap(length, name);
        }
        Message message;
        try {
            message = in.parse(type.getParserForType(), offset + 4, (int) length);
        } catch (InvalidProtocolBufferException e) {
            throw notValid(type, name, offset, index, e);
        }
        long extraAt = offset + 4 + length;
        long left = size - extraAt;
        long extraLength = 0;
        if (extra != null) {
            extraLength = extra.length(message, left);
            if (extraLength < 0 || extraLength > left) {
                throw new ImageFormatException(name, extraAt, "entry " + index + ": payload of "
                        + Long.toUnsignedString(extraLength) + " bytes is larger than the " + left + " bytes left");
            }
        }
        byte[] payload = NO_PAYLOAD;
        if (payloads && extraLength > 0) {
            payload = new byte[(int) extraLength];
            in.read(extraAt, payload);
        }
        at[0] = extraAt + extraLength;
        return new ImageEntry(message, payload, offset, extra == null ? -1 : extraAt, extraLength);
    }
}
