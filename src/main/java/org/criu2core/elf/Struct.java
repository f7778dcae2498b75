package org.criu2core.elf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A fixed-size C struct in the byte order of the architecture it is for, written field by field
 * at absolute, named offsets. Values that do not fit their field fail loudly instead of being cut
 * (a 64-bit address in a 32-bit core is a bug, not a value).
 */
public final class Struct {
    private final ByteBuffer buf;

    public Struct(int size, ByteOrder order) {
        buf = ByteBuffer.allocate(size).order(order);
    }

    private Struct(ByteBuffer buf) {
        this.buf = buf;
    }

    /**
     * The next {@code size} bytes of {@code buffer} as a struct written in place, in
     * {@code order}; the buffer's position moves past them. For tables of many structs (70 000
     * program headers), without an array of each.
     */
    public static Struct next(ByteBuffer buffer, int size, ByteOrder order) {
        var in = new Struct(buffer.slice(buffer.position(), size).order(order));
        buffer.position(buffer.position() + size);
        return in;
    }

    public int size() {
        return buf.capacity();
    }

    public Struct u8(int offset, int value) {
        check(value, 0xffL, offset, 8);
        buf.put(offset, (byte) value);
        return this;
    }

    public Struct u16(int offset, long value) {
        check(value, 0xffffL, offset, 16);
        buf.putShort(offset, (short) value);
        return this;
    }

    public Struct u32(int offset, long value) {
        check(value, 0xffff_ffffL, offset, 32);
        buf.putInt(offset, (int) value);
        return this;
    }

    /** A signed C int. */
    public Struct s32(int offset, int value) {
        buf.putInt(offset, value);
        return this;
    }

    public Struct u64(int offset, long value) {
        buf.putLong(offset, value);
        return this;
    }

    /** A word of {@code width} bytes: Elf_Addr, unsigned long, elf_greg_t. */
    public Struct word(int offset, long value, int width) {
        return width == 8 ? u64(offset, value) : u32(offset, value);
    }

    public Struct bytes(int offset, byte[] value) {
        buf.put(offset, value);
        return this;
    }

    /** A char array of {@code length}: the string, cut to fit, NUL-padded. */
    public Struct chars(int offset, byte[] value, int length) {
        buf.put(offset, value, 0, Math.min(value.length, length));
        return this;
    }

    public byte[] toBytes() {
        byte[] out = new byte[buf.capacity()];
        buf.get(0, out);
        return out;
    }

    private static void check(long value, long mask, int offset, int bits) {
        // negative values are accepted as their two's complement in the field (-1 for u32 etc.)
        if ((value & ~mask) != 0 && (value | mask) != -1L) {
            throw new IllegalArgumentException(String.format(
                    "0x%x does not fit the %d-bit field at offset %d", value, bits, offset));
        }
    }
}
