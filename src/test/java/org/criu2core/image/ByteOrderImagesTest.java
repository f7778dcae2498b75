package org.criu2core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.criu2core.image.proto.Pstree;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Images framed big-endian, as CRIU on s390x writes them: read, written and reported as such. */
class ByteOrderImagesTest {
    private static final int PSTREE_MAGIC = Magic.value("PSTREE").orElseThrow();
    private static final byte[] ENTRY = Pstree.pstree_entry.newBuilder()
            .setPid(7).setPpid(1).setPgid(7).setSid(7).addThreads(7).build().toByteArray();

    @TempDir
    Path tmp;

    private static byte[] u32(long v, ByteOrder order) {
        return ByteBuffer.allocate(4).order(order).putInt((int) v).array();
    }

    private static byte[] bytes(byte[]... parts) {
        var out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    @Test
    void noMagicIsAnotherReversed() {
        Set<Integer> magics = new HashSet<>(Magic.values());
        magics.addAll(List.of(Magic.IMG_COMMON, Magic.IMG_SERVICE));
        for (int m : magics) {
            assertFalse(magics.contains(Integer.reverseBytes(m)), String.format("0x%08x reversed", m));
        }
    }

    @Test
    void aBigEndianImageReadsInItsOrder() throws Exception {
        var be = ByteOrder.BIG_ENDIAN;
        Image image = ImageReader.parse(bytes(u32(Magic.IMG_COMMON, be), u32(PSTREE_MAGIC, be),
                u32(ENTRY.length, be), ENTRY), "pstree.img");
        assertEquals("PSTREE", image.magic());
        assertEquals(be, image.byteOrder());
        assertEquals(7, image.message(0, Pstree.pstree_entry.class).getPid());
        assertEquals(8, image.entries().get(0).offset());
        var le = ImageReader.parse(bytes(u32(Magic.IMG_COMMON, ByteOrder.LITTLE_ENDIAN),
                u32(PSTREE_MAGIC, ByteOrder.LITTLE_ENDIAN), u32(ENTRY.length, ByteOrder.LITTLE_ENDIAN), ENTRY), "x");
        assertEquals(ByteOrder.LITTLE_ENDIAN, le.byteOrder());
    }

    @Test
    void theWriterFramesInTheImagesOrder() {
        var inventory = org.criu2core.image.proto.Inventory.inventory_entry.newBuilder().setImgVersion(2)
                .build();
        byte[] out = ImageWriter.toBytes(new Image("INVENTORY", List.of(new ImageEntry(inventory)),
                ByteOrder.BIG_ENDIAN));
        byte[] message = inventory.toByteArray();
        // "X11\x16": the inventory has no leading IMG_COMMON; then the size word, most significant byte first
        assertArrayEquals(bytes(new byte[] {0x58, 0x31, 0x31, 0x16}, new byte[] {0, 0, 0, (byte) message.length},
                message), out);
    }

    @Test
    void aBadBigEndianImageNamesTheOffset() {
        var be = ByteOrder.BIG_ENDIAN;
        var e = assertThrows(ImageFormatException.class, () -> ImageReader.parse(bytes(u32(Magic.IMG_COMMON, be),
                u32(PSTREE_MAGIC, be), u32(1000, be), ENTRY), "pstree.img"));
        assertEquals("pstree.img:8: entry 0: size 1000 is larger than the " + ENTRY.length + " bytes left",
                e.getMessage());
    }

    @Test
    void encodeTakesTheByteOrderDecodeCannotPrint() throws Exception {
        Path images = Fixtures.ROOT.resolve("checkpoints-guests/s390x-threads/images");
        Path decoded = Fixtures.ROOT.resolve("checkpoints-guests/s390x-threads/decoded");
        for (String name : List.of("inventory", "core-132", "pagemap-132")) {
            Path out = tmp.resolve(name + ".img");
            var run = KernelCores.cli("encode", "--byte-order", "big", "-i", decoded.resolve(name + ".json").toString(),
                    "-o", out.toString());
            assertEquals(0, run.status(), run.err());
            assertArrayEquals(Files.readAllBytes(images.resolve(name + ".img")), Files.readAllBytes(out), name);
        }
        var run = KernelCores.cli("encode", "--byte-order", "middle", "-i",
                decoded.resolve("inventory.json").toString(), "-o", tmp.resolve("x.img").toString());
        assertEquals(2, run.status(), "a usage error");
    }
}
