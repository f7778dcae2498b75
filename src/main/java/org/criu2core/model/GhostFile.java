package org.criu2core.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.criu2core.image.Image;
import org.criu2core.image.ImageEntry;
import org.criu2core.image.ImageFormatException;
import org.criu2core.image.ImageReader;
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
        Image framing = ImageReader.readFraming(image, name);
        if (!framing.magic().equals("GHOST_FILE") || framing.entries().isEmpty()) {
            throw new ImageFormatException(name, 0, "a " + framing.magic() + " image where a ghost file belongs");
        }
        ImageEntry head = framing.entries().get(0);
        List<Chunk> chunks = new ArrayList<>();
        if (!((ghost_file_entry) head.message()).getChunks()) {
            chunks.add(new Chunk(0, head.extraLength(), head.extraOffset()));
            return new GhostFile(image, chunks);
        }
        long end = 0;
        for (int n = 1; n < framing.entries().size(); n++) {
            ImageEntry entry = framing.entries().get(n);
            var chunk = (ghost_chunk_entry) entry.message();
            if (chunk.getOff() < end) {
                throw new ImageFormatException(name, entry.offset(), "chunk " + n + " at file offset "
                        + Long.toUnsignedString(chunk.getOff()) + " does not follow the last, which ends at " + end);
            }
            chunks.add(new Chunk(chunk.getOff(), entry.extraLength(), entry.extraOffset()));
            end = chunk.getOff() + entry.extraLength();
        }
        return new GhostFile(image, chunks);
    }
}
