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
    TCP_QUEUES("inq_len", "outq_len"),
    /** ghost_chunk_entry: len bytes of the deleted file, at its offset off. */
    GHOST_CHUNK("len"),
    /** ghost_file_entry without chunks: the deleted file's bytes, to the end of the image. */
    GHOST_CONTENT(),
    /**
     * ipc_shm_entry: a SysV segment's size bytes padded to 4 (criu/ipc_sysv.c), unless
     * in_pagemaps says they are in pagemap-shmem-ID.img, when there are none. crit shows the
     * size bytes, without the padding.
     */
    SYSV_SHM("size");

    private final String[] lengthFields;

    ExtraPayload(String... lengthFields) {
        this.lengthFields = lengthFields;
    }

    /** Whether this entry has the payload at all (a chunked ghost's head has none). */
    public boolean present(Message message) {
        if (this == GHOST_CONTENT) {
            var chunks = message.getDescriptorForType().findFieldByName("chunks");
            return !(Boolean) message.getField(chunks);
        }
        return true;
    }

    /** Lengths of the parts of the payload, read from the entry's message. */
    public long[] partLengths(Message message) {
        long[] lengths = new long[lengthFields.length];
        for (int i = 0; i < lengthFields.length; i++) {
            var field = message.getDescriptorForType().findFieldByName(lengthFields[i]);
            Object value = message.getField(field);
            lengths[i] = value instanceof Integer n ? Integer.toUnsignedLong(n) : (Long) value;
        }
        return lengths;
    }

    /**
     * The payload's length, given what the image has left after the message; a length beyond
     * {@code Long.MAX_VALUE} comes back negative, which no image can hold.
     */
    public long length(Message message, long remaining) {
        if (!present(message)) {
            return 0;
        }
        if (this == GHOST_CONTENT) {
            return remaining;
        }
        if (this == SYSV_SHM) {
            var inPagemaps = message.getDescriptorForType().findFieldByName("in_pagemaps");
            long size = partLengths(message)[0];
            return (Boolean) message.getField(inPagemaps) ? 0 : size < 0 || size > Long.MAX_VALUE - 3 ? -1
                    : (size + 3) & -4L;
        }
        long total = 0;
        for (long part : partLengths(message)) {
            total += part;
            if (part < 0 || total < 0) {
                return -1;
            }
        }
        return total;
    }
}
