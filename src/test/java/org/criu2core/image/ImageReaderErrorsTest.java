package org.criu2core.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.criu2core.image.proto.Pstree;
import org.junit.jupiter.api.Test;

/** Each kind of bad image gives an ImageFormatException naming the file and byte offset. */
class ImageReaderErrorsTest {
    private static final int PSTREE_MAGIC = Magic.value("PSTREE").orElseThrow();

    private static byte[] le32(long v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array();
    }

    private static byte[] bytes(byte[]... parts) {
        var out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static final byte[] HEAD = bytes(le32(Magic.IMG_COMMON), le32(PSTREE_MAGIC));
    private static final byte[] ENTRY = Pstree.pstree_entry.newBuilder()
            .setPid(7).setPpid(1).setPgid(7).setSid(7).addThreads(7).build().toByteArray();

    private static ImageFormatException fails(byte[] image) {
        return assertThrows(ImageFormatException.class, () -> ImageReader.parse(image, "pstree.img"));
    }

    @Test
    void aGoodImageReads() throws Exception {
        Image image = ImageReader.parse(bytes(HEAD, le32(ENTRY.length), ENTRY), "pstree.img");
        assertEquals("PSTREE", image.magic());
        assertEquals(7, image.message(0, Pstree.pstree_entry.class).getPid());
        assertEquals(8, image.entries().get(0).offset());
    }

    @Test
    void wrongMagic() {
        var e = fails(bytes(le32(Magic.IMG_COMMON), le32(0x12345678)));
        assertEquals(4, e.offset());
        assertEquals("pstree.img:4: unknown magic 0x12345678: not a CRIU image (raw pages images have no magic)",
                e.getMessage());
    }

    @Test
    void fileTooShortForAMagic() {
        var e = fails(new byte[] {0x19, 0x43});
        assertEquals("pstree.img:0: file of 2 bytes has no magic word", e.getMessage());
    }

    @Test
    void truncatedAfterTheCommonMagic() {
        var e = fails(bytes(le32(Magic.IMG_COMMON), new byte[] {1, 2}));
        assertEquals("pstree.img:4: truncated after the first magic word", e.getMessage());
    }

    @Test
    void truncatedSizeWord() {
        var e = fails(bytes(HEAD, new byte[] {5, 0}));
        assertEquals(8, e.offset());
        assertEquals("pstree.img:8: entry 0: truncated size word (2 of 4 bytes)", e.getMessage());
    }

    @Test
    void truncatedMessage() {
        byte[] cut = java.util.Arrays.copyOf(ENTRY, ENTRY.length - 3);
        var e = fails(bytes(HEAD, le32(ENTRY.length), cut));
        assertEquals("pstree.img:8: entry 0: size " + ENTRY.length + " is larger than the "
                + cut.length + " bytes left", e.getMessage());
    }

    @Test
    void sizeLargerThanTheFileNeverAllocates() {
        // 4 GiB - 1: reading this must fail on the check, not try to allocate it
        var e = fails(bytes(HEAD, le32(0xffffffffL), ENTRY));
        assertEquals("pstree.img:8: entry 0: size 4294967295 is larger than the " + ENTRY.length
                + " bytes left", e.getMessage());
    }

    @Test
    void messageThatDoesNotParse() {
        byte[] garbage = {(byte) 0xff, (byte) 0xff, (byte) 0xff};
        var e = fails(bytes(HEAD, le32(ENTRY.length), ENTRY, le32(garbage.length), garbage));
        assertEquals(8 + 4 + ENTRY.length + 4, e.offset());
        assertTrue(e.getMessage().startsWith("pstree.img:" + e.offset() + ": entry 1 is not a valid pstree_entry: "),
                e.getMessage());
    }

    @Test
    void messageMissingRequiredFields() {
        byte[] partial = Pstree.pstree_entry.newBuilder().setPid(3).buildPartial().toByteArray();
        var e = fails(bytes(HEAD, le32(partial.length), partial));
        assertTrue(e.getMessage().startsWith("pstree.img:12: entry 0 is not a valid pstree_entry: "), e.getMessage());
    }

    @Test
    void extraPayloadLongerThanTheFile() {
        byte[] entry = org.criu2core.image.proto.PipeData.pipe_data_entry.newBuilder()
                .setPipeId(1).setBytes(100).build().toByteArray();
        byte[] head = bytes(le32(Magic.IMG_COMMON), le32(Magic.value("PIPES_DATA").orElseThrow()));
        var e = assertThrows(ImageFormatException.class, () -> ImageReader.parse(
                bytes(head, le32(entry.length), entry, new byte[10]), "pipes-data.img"));
        assertEquals("pipes-data.img:" + (12 + entry.length) + ": entry 0: payload of 100 bytes is larger than the 10 bytes left",
                e.getMessage());
    }
}
