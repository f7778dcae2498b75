package org.criu2core.image;

import com.google.protobuf.Message;

/**
 * One entry of an image: its message, the payload after it (empty where the kind has none) and
 * where the entry starts in the file, so that later checks can name the offset.
 */
public record ImageEntry(Message message, byte[] extra, long offset) {
    public ImageEntry(Message message) {
        this(message, new byte[0], -1);
    }
}
