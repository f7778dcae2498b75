package org.criu2core.image;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads CRIU image files:
 * <pre>
 *   IMAGE ::= [ IMG_COMMON | IMG_SERVICE ] MAGIC { ENTRY }      (all words u32, little-endian)
 *   ENTRY ::= SIZE MESSAGE [ EXTRA ]                            (SIZE = length of MESSAGE)
 * </pre>
 * Every length read from the file is checked against what the file has left before anything
 * is allocated for it.
 */
public final class ImageReader {
    /** Far larger than any image but pages files, which are never read through here. */
    static final long MAX_IMAGE_SIZE = 1L << 30;
    /** Parsed messages take up to this many times the bytes of their image. */
    static final int PARSED_SIZE_FACTOR = 8;

    private ImageReader() {
    }

    public static Image read(Path file) throws IOException {
        return read(file, file.toString());
    }

    /** Reads {@code file}, naming it {@code name} in errors. */
    public static Image read(Path file, String name) throws IOException {
        long size = Files.size(file);
        if (size > MAX_IMAGE_SIZE) {
            throw new ImageFormatException(name, 0, "image of " + size + " bytes is larger than any CRIU writes");
        }
        long heap = Runtime.getRuntime().maxMemory();
        if (size > heap / PARSED_SIZE_FACTOR) {
            throw new CheckpointException(name, "an image of " + size + " bytes needs more memory than the "
                    + (heap >> 20) + " MiB of heap this JVM was given: run it with more (JAVA_OPTS=-Xmx1g)");
        }
        return parse(Files.readAllBytes(file), name);
    }

    public static Image parse(byte[] bytes, String name) throws ImageFormatException {
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        String magic = readMagic(in, name);
        ImageKind kind = ImageKind.of(magic).orElseThrow(() -> new ImageFormatException(name, 0,
                magic + " image: criu2core has no schema for this kind of image"));
        List<ImageEntry> entries = new ArrayList<>();
        while (in.hasRemaining()) {
            entries.add(readEntry(in, name, kind.entryAt(entries.size()), kind.extraAt(entries.size()), entries.size()));
        }
        return new Image(magic, entries);
    }

    private static String readMagic(ByteBuffer in, String name) throws ImageFormatException {
        if (in.remaining() < 4) {
            throw new ImageFormatException(name, 0, "file of " + in.remaining() + " bytes has no magic word");
        }
        // v1 images and the inventory have only their own magic, like crit, accept either form
        int first = in.getInt();
        int magic = first;
        if (first == Magic.IMG_COMMON || first == Magic.IMG_SERVICE) {
            if (in.remaining() < 4) {
                throw new ImageFormatException(name, 4, "truncated after the first magic word");
            }
            magic = in.getInt();
        }
        int at = in.position() - 4;
        int found = magic;
        String magicName = Magic.name(magic).orElseThrow(() -> new ImageFormatException(name, at,
                String.format("unknown magic 0x%08x: not a CRIU image (raw pages images have no magic)", found)));
        return magicName;
    }

    private static ImageEntry readEntry(ByteBuffer in, String name, Message type, ExtraPayload extra, int index)
            throws ImageFormatException {
        long offset = in.position();
        if (in.remaining() < 4) {
            throw new ImageFormatException(name, offset, "entry " + index + ": truncated size word ("
                    + in.remaining() + " of 4 bytes)");
        }
        long size = Integer.toUnsignedLong(in.getInt());
        if (size > in.remaining()) {
            throw new ImageFormatException(name, offset, "entry " + index + ": size " + size
                    + " is larger than the " + in.remaining() + " bytes left");
        }
        Message message;
        try {
            message = type.getParserForType().parseFrom(in.array(), in.position(), (int) size);
        } catch (InvalidProtocolBufferException e) {
            throw new ImageFormatException(name, offset + 4, "entry " + index + " is not a valid "
                    + type.getDescriptorForType().getName() + ": " + e.getMessage(), e);
        }
        in.position(in.position() + (int) size);
        byte[] payload = new byte[0];
        if (extra != null) {
            long length = extra.length(message, in.remaining());
            if (length < 0 || length > in.remaining()) {
                throw new ImageFormatException(name, in.position(), "entry " + index + ": payload of "
                        + Long.toUnsignedString(length) + " bytes is larger than the " + in.remaining() + " bytes left");
            }
            payload = new byte[(int) length];
            in.get(payload);
        }
        return new ImageEntry(message, payload, offset);
    }
}
