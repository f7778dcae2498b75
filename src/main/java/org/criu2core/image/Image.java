package org.criu2core.image;

import com.google.protobuf.Message;
import java.util.List;

/** A decoded CRIU image file: its magic name and its entries in file order. */
public record Image(String magic, List<ImageEntry> entries) {

    public Image {
        entries = List.copyOf(entries);
    }

    /** The message of entry {@code index}, as the type the caller knows it to be. */
    public <M extends Message> M message(int index, Class<M> type) {
        return type.cast(entries.get(index).message());
    }
}
