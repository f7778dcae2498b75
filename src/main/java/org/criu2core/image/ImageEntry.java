package org.criu2core.image;

import com.google.protobuf.Message;

/**
 * One entry of an image: its message, the payload after it (empty where the kind has none, or
 * where only the framing was read), where the entry starts in the file, and where its payload is
 * and how long, so that later checks can name offsets and large payloads can be copied straight
 * from the file.
 */
public record ImageEntry(Message message, byte[] extra, long offset, long extraOffset, long extraLength) {
    public ImageEntry(Message message, byte[] extra, long offset) {
        this(message, extra, offset, -1, extra.length);
    }

    public ImageEntry(Message message) {
        this(message, new byte[0], -1);
    }
}
