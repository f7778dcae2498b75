package org.criu2core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.criu2core.image.Image;
import org.criu2core.image.ImageEntry;
import org.criu2core.image.ImageFormatException;
import org.criu2core.image.ImageWriter;
import org.criu2core.image.proto.Pagemap.pagemap_entry;
import org.criu2core.image.proto.Pagemap.pagemap_head;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pagemap entries in forms CRIU does not write, which the page index leaves to protobuf's parser
 * (PagemapEntryReader reads only CRIU's): valid ones give the index their canonical form gives,
 * the others fail naming the entry and its offset.
 */
class PagemapFormsTest {
    private static final long PAGE = 4096;
    /** Two magic words, then the head entry: a size word and pages_id = 1 (08 01). */
    private static final int FIRST_ENTRY = 8 + 4 + 2;

    @TempDir
    Path dir;

    @Test
    void anEntryInALongerFormGivesTheIndexOfItsCanonicalForm() throws IOException {
        byte[] canonical = pagemap_entry.newBuilder().setVaddr(0x10000).setCompatNrPages(0).setNrPages(2)
                .setFlags(PageIndex.PE_PRESENT).build().toByteArray();
        // vaddr 0x10000 as a six-byte varint (its shortest form has three bytes), the rest as CRIU writes it
        byte[] padded = concat(HexFormat.of().parseHex("08808084808000"), java.util.Arrays.copyOfRange(canonical, 4,
                canonical.length));
        PageIndex plain = index("plain", canonical);
        PageIndex longer = index("longer", padded);
        assertEquals(1, longer.runs());
        assertEquals(plain.start(0), longer.start(0));
        assertEquals(plain.end(0), longer.end(0));
        assertEquals(plain.fileOffset(0), longer.fileOffset(0));
    }

    @Test
    void fieldsThisSchemaLacksAreNamedWithTheEntrysOffset() throws IOException {
        byte[] entry = concat(pagemap_entry.newBuilder().setVaddr(0x10000).setCompatNrPages(1).build().toByteArray(),
                HexFormat.of().parseHex("3001" + "3a0100")); // fields 6 and 7, as a newer CRIU's --compress might add
        var e = assertThrows(ImageFormatException.class, () -> index("compressed", entry));
        assertTrue(e.getMessage().contains("entry 1 has pagemap_entry fields [6, 7] this tool does not know"),
                e.getMessage());
        assertEquals(FIRST_ENTRY, e.offset(), e.getMessage());
    }

    @Test
    void aBrokenEntryIsNamedWithTheOffsetOfItsMessage() {
        byte[] entry = HexFormat.of().parseHex("0880"); // vaddr's varint cut short
        var e = assertThrows(ImageFormatException.class, () -> index("broken", entry));
        assertTrue(e.getMessage().contains("entry 1 is not a valid pagemap_entry"), e.getMessage());
        assertEquals(FIRST_ENTRY + 4, e.offset(), e.getMessage());
    }

    /** The index of a checkpoint whose pagemap has the head and one entry of these bytes. */
    private PageIndex index(String name, byte[] entry) throws IOException {
        Path images = Files.createDirectories(dir.resolve(name));
        var head = new ImageEntry(pagemap_head.newBuilder().setPagesId(1).build());
        byte[] start = ImageWriter.toBytes(new Image("PAGEMAP", List.of(head)));
        assertEquals(FIRST_ENTRY, start.length);
        byte[] size = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(entry.length).array();
        Files.write(images.resolve("pagemap-1.img"), concat(concat(start, size), entry));
        Files.write(images.resolve("pages-1.img"), new byte[(int) (4 * PAGE)]);
        return PageIndex.load(new CheckpointDir(images), "pagemap-1.img", PAGE);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        var out = new ByteArrayOutputStream();
        out.writeBytes(a);
        out.writeBytes(b);
        return out.toByteArray();
    }
}
