package org.criu2core.image;

import com.google.protobuf.Message;

/**
 * Bytes that follow an entry's message in the image, their length told by the message
 * (images.py: ENTRY ::= SIZE PAYLOAD [ EXTRA ]).
 */
public enum ExtraPayload {
    /** pipe_data_entry: the pipe's unread bytes. */
    PIPE_DATA("bytes"),
    /** tcp_stream_entry: the receive queue, then the send queue. */
    TCP_QUEUES("inq_len", "outq_len");

    private final String[] lengthFields;

    ExtraPayload(String... lengthFields) {
        this.lengthFields = lengthFields;
    }

    /** Lengths of the parts of the payload, read from the entry's message. */
    public long[] partLengths(Message message) {
        long[] lengths = new long[lengthFields.length];
        for (int i = 0; i < lengthFields.length; i++) {
            var field = message.getDescriptorForType().findFieldByName(lengthFields[i]);
            lengths[i] = Integer.toUnsignedLong((Integer) message.getField(field));
        }
        return lengths;
    }

    public long length(Message message) {
        long total = 0;
        for (long part : partLengths(message)) {
            total += part;
        }
        return total;
    }
}
