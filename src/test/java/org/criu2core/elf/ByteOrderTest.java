package org.criu2core.elf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The struct writer and notes put each field's bytes in the order they are given. */
class ByteOrderTest {
    @Test
    void structFieldsInEitherOrder() {
        var be = new Struct(16, ByteOrder.BIG_ENDIAN).u16(0, 0x0102).u32(2, 0x03040506L).u64(8, 0x0708090a0b0c0d0eL);
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 0, 0, 7, 8, 9, 10, 11, 12, 13, 14}, be.toBytes());
        var le = new Struct(16, ByteOrder.LITTLE_ENDIAN).u16(0, 0x0102).u32(2, 0x03040506L).u64(8, 0x0708090a0b0c0d0eL);
        assertArrayEquals(new byte[] {2, 1, 6, 5, 4, 3, 0, 0, 14, 13, 12, 11, 10, 9, 8, 7}, le.toBytes());
        // an Elf64 word and an Elf32 one
        assertArrayEquals(new byte[] {0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x10, 0},
                new Struct(12, ByteOrder.BIG_ENDIAN).word(0, 0x1000, 8).word(8, 0x1000, 4).toBytes());
    }

    @Test
    void noteHeaderInTheCoresOrder() {
        var note = new Note(Elf.LINUX, Elf.NT_S390_LAST_BREAK, new byte[] {0, 0, 0, 0, 0, 0, 0, 1});
        var out = ByteBuffer.allocate(note.size());
        note.writeTo(out, ByteOrder.BIG_ENDIAN);
        assertArrayEquals(new byte[] {
                0, 0, 0, 6,                    // n_namesz: "LINUX" and its NUL
                0, 0, 0, 8,                    // n_descsz
                0, 0, 3, 6,                    // n_type NT_S390_LAST_BREAK 0x306
                'L', 'I', 'N', 'U', 'X', 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 1}, out.array());
        var le = ByteBuffer.allocate(note.size());
        note.writeTo(le, ByteOrder.LITTLE_ENDIAN);
        assertArrayEquals(new byte[] {6, 0, 0, 0, 8, 0, 0, 0, 6, 3, 0, 0}, java.util.Arrays.copyOf(le.array(), 12));
    }
}
