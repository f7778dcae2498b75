package org.criu2core.image;

/**
 * The fields of a pagemap_entry (proto/pagemap.proto), read from its wire form without building
 * a message. A pagemap has tens of thousands of entries, read once at the start of a conversion,
 * while the code still runs in the interpreter: protobuf's parser took 40-50 ms for the 40 000
 * entries of an 880 MiB checkpoint, this 7-11 ms (docs/performance.md).
 *
 * <p>It reads only what CRIU writes: each field as a varint after a one-byte tag. Anything else
 * (a field this schema does not have, another wire type, a tag or varint not in its shortest
 * form, a truncated or over-long varint, a required field missing) makes {@link #read} return
 * false, and the caller parses the entry with protobuf, which says what is wrong or which fields
 * it does not know. Where it returns true, every field is what protobuf's parser gives.
 */
public final class PagemapEntryReader {
    // a field's tag: its number << 3 | its wire type, 0 (varint) for every field here
    private static final int VADDR = 1 << 3;
    private static final int COMPAT_NR_PAGES = 2 << 3;
    private static final int IN_PARENT = 3 << 3;
    private static final int FLAGS = 4 << 3;
    private static final int NR_PAGES = 5 << 3;
    /** vaddr and compat_nr_pages are proto2 {@code required}. */
    private static final int REQUIRED = 1 << 1 | 1 << 2;
    /** The bits of a varint's seven-bit groups: ten groups hold 64 bits. */
    private static final int MAX_VARINT_SHIFT = 63;

    private long vaddr;
    private int compatNrPages;
    private boolean inParent;
    private int flags;
    private long nrPages;
    /** Bit n set when field n was read. */
    private int present;

    /**
     * Reads the entry in the {@code length} bytes of {@code bytes} from {@code at}; false when it
     * holds anything but the fields above in CRIU's form (the fields are then undefined).
     */
    public boolean read(byte[] bytes, int at, int length) {
        vaddr = 0;
        compatNrPages = 0;
        inParent = false;
        flags = 0;
        nrPages = 0;
        present = 0;
        int end = at + length;
        int p = at;
        while (p < end) {
            int tag = bytes[p++];
            // negative: a tag of more than one byte; not a multiple of 8: another wire type
            if (tag < VADDR || tag > NR_PAGES || (tag & 7) != 0) {
                return false;
            }
            long value = 0;
            int shift = 0;
            byte b;
            do {
                if (p == end || shift > MAX_VARINT_SHIFT) {
                    return false;
                }
                b = bytes[p++];
                value |= (long) (b & 0x7f) << shift;
                shift += 7;
            } while (b < 0);
            switch (tag) {
                case VADDR -> vaddr = value;
                case COMPAT_NR_PAGES -> compatNrPages = (int) value; // uint32: protobuf keeps the low 32 bits
                case IN_PARENT -> inParent = value != 0;
                case FLAGS -> flags = (int) value;
                default -> nrPages = value;
            }
            present |= 1 << (tag >>> 3);
        }
        return (present & REQUIRED) == REQUIRED;
    }

    public long getVaddr() {
        return vaddr;
    }

    public int getCompatNrPages() {
        return compatNrPages;
    }

    public boolean hasInParent() {
        return has(IN_PARENT);
    }

    public boolean getInParent() {
        return inParent;
    }

    public boolean hasFlags() {
        return has(FLAGS);
    }

    public int getFlags() {
        return flags;
    }

    public boolean hasNrPages() {
        return has(NR_PAGES);
    }

    public long getNrPages() {
        return nrPages;
    }

    private boolean has(int tag) {
        return (present & 1 << (tag >>> 3)) != 0;
    }
}
