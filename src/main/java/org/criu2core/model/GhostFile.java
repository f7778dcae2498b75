package org.criu2core.model;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.criu2core.image.ImageFormatException;
import org.criu2core.image.Magic;
import org.criu2core.image.proto.GhostFile.ghost_chunk_entry;
import org.criu2core.image.proto.GhostFile.ghost_file_entry;

/**
 * Where the bytes of a deleted file are in its ghost image (ghost-file-ID.img): after the head
 * entry to the end of the image, or in chunks, each entry followed by its bytes. Only the
 * framing is read; the bytes stay in the image until they are copied.
 */
public final class GhostFile {
    /** {@code length} bytes of the file at {@code fileOffset} are at {@code imageOffset} in the image. */
    public record Chunk(long fileOffset, long length, long imageOffset) {
    }

    private final Path image;
    private final List<Chunk> chunks;

    private GhostFile(Path image, List<Chunk> chunks) {
        this.image = image;
        this.chunks = List.copyOf(chunks);
    }

    public Path image() {
        return image;
    }

    /** The chunks in file order. */
    public List<Chunk> chunks() {
        return chunks;
    }

    static GhostFile read(Path image, String name) throws IOException {
        try (FileChannel in = FileChannel.open(image, StandardOpenOption.READ)) {
            long size = in.size();
            long at = 0;
            int first = word(in, at, size, name, "magic");
            int magic = first == Magic.IMG_COMMON ? word(in, at += 4, size, name, "magic") : first;
            if (magic != Magic.value("GHOST_FILE").orElseThrow()) {
                throw new ImageFormatException(name, at, String.format("magic 0x%08x is not a ghost file's", magic));
            }
            at += 4;
            var head = ghost_file_entry.parseFrom(message(in, at, size, name, 0));
            at += 4 + Integer.toUnsignedLong(word(in, at, size, name, "entry size"));
            List<Chunk> chunks = new ArrayList<>();
            if (!head.getChunks()) {
                chunks.add(new Chunk(0, size - at, at));
                return new GhostFile(image, chunks);
            }
            for (int n = 1; at < size; n++) {
                long entryAt = at;
                var chunk = ghost_chunk_entry.parseFrom(message(in, at, size, name, n));
                at += 4 + Integer.toUnsignedLong(word(in, at, size, name, "entry size"));
                if (chunk.getLen() < 0 || chunk.getLen() > size - at || chunk.getOff() < 0
                        || !chunks.isEmpty() && chunk.getOff() < last(chunks)) {
                    throw new ImageFormatException(name, entryAt, "chunk " + n + " of "
                            + Long.toUnsignedString(chunk.getLen()) + " bytes at file offset "
                            + Long.toUnsignedString(chunk.getOff()) + " does not fit the image or follow the last");
                }
                chunks.add(new Chunk(chunk.getOff(), chunk.getLen(), at));
                at += chunk.getLen();
            }
            return new GhostFile(image, chunks);
        } catch (InvalidProtocolBufferException e) {
            throw new ImageFormatException(name, 0, "not a valid ghost file: " + e.getMessage(), e);
        }
    }

    private static long last(List<Chunk> chunks) {
        Chunk c = chunks.get(chunks.size() - 1);
        return c.fileOffset() + c.length();
    }

    private static int word(FileChannel in, long at, long size, String name, String what) throws IOException {
        if (at + 4 > size) {
            throw new ImageFormatException(name, at, "truncated " + what);
        }
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining() && in.read(b, at + b.position()) > 0) {
            // a local file gives what it has
        }
        return b.getInt(0);
    }

    /** The message of the entry at {@code at}, its size checked against the image first. */
    private static byte[] message(FileChannel in, long at, long size, String name, int index) throws IOException {
        long length = Integer.toUnsignedLong(word(in, at, size, name, "entry size"));
        if (length > size - at - 4) {
            throw new ImageFormatException(name, at, "entry " + index + ": size " + length + " is larger than the "
                    + (size - at - 4) + " bytes left");
        }
        ByteBuffer b = ByteBuffer.allocate((int) length);
        while (b.hasRemaining() && in.read(b, at + 4 + b.position()) > 0) {
            // as above
        }
        return b.array();
    }
}
