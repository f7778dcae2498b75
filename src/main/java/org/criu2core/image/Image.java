package org.criu2core.image;

import com.google.protobuf.Message;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Objects;

/**
 * A decoded CRIU image file: its magic name, its entries in file order, and the byte order of its
 * magic and size words: CRIU writes them in the order of the machine that dumped (big-endian on
 * s390x), while the protobuf messages are the same on every machine.
 */
public record Image(String magic, List<ImageEntry> entries, ByteOrder byteOrder) {

    public Image {
        entries = List.copyOf(entries);
        Objects.requireNonNull(byteOrder, "byteOrder");
    }

    /** An image as CRIU writes it on a little-endian machine (all but s390x). */
    public Image(String magic, List<ImageEntry> entries) {
        this(magic, entries, ByteOrder.LITTLE_ENDIAN);
    }

    /** The message of entry {@code index}, as the type the caller knows it to be. */
    public <M extends Message> M message(int index, Class<M> type) {
        return type.cast(entries.get(index).message());
    }
}
