package org.criu2core.elf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * One ELF note: Elf_Nhdr {n_namesz, n_descsz, n_type}, the name with its NUL, then the
 * descriptor, name and descriptor each padded to 4 bytes (fs/binfmt_elf.c notesize/writenote;
 * core notes use 4-byte alignment on 64-bit machines too). The descriptor is already in the
 * core's byte order; the header is written in it.
 */
public record Note(String owner, int type, byte[] desc) {
    /** sizeof(Elf_Nhdr), the same for both classes. */
    public static final int NHDR_SIZE = 12;

    public int size() {
        return NHDR_SIZE + align4(owner.length() + 1) + align4(desc.length);
    }

    public void writeTo(ByteBuffer out, ByteOrder order) {
        ByteBuffer header = out.duplicate().order(order);
        int start = out.position();
        byte[] name = owner.getBytes(StandardCharsets.US_ASCII);
        header.putInt(name.length + 1).putInt(desc.length).putInt(type);
        header.put(name).put(new byte[align4(name.length + 1) - name.length]);
        header.put(desc).put(new byte[align4(desc.length) - desc.length]);
        out.position(start + size());
    }

    public static int align4(int n) {
        return (n + 3) & -4;
    }
}
