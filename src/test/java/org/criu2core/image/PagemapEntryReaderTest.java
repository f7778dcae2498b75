package org.criu2core.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.criu2core.Fixtures;
import org.criu2core.image.proto.Pagemap.pagemap_entry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The wire-form reader of pagemap entries against protobuf's parser, which is the reference. */
class PagemapEntryReaderTest {
    private final PagemapEntryReader reader = new PagemapEntryReader();

    @Test
    void readsEveryEntryOfTheRealCheckpointsAsProtobufDoes() throws IOException {
        int entries = 0;
        for (Path pagemap : pagemaps()) {
            List<Integer> read = new ArrayList<>();
            ImageReader.forEach(pagemap, pagemap.toString(), "PAGEMAP", (index, offset, image, at, length) -> {
                if (index > 0) {
                    assertTrue(reader.read(image, at, length), pagemap + " entry " + index + " is in CRIU's form");
                    assertSame(pagemap_entry.parser().parseFrom(image, at, length), pagemap + " entry " + index);
                    read.add(index);
                }
            });
            entries += read.size();
        }
        assertTrue(entries > 100, "only " + entries + " entries in the fixtures' pagemaps");
    }

    @Test
    void readsEveryCombinationOfFieldsAsProtobufDoes() throws InvalidProtocolBufferException {
        var random = new Random(42);
        long[] longs = {0, 1, 0x7f, 0x80, 0x7fff_f000L, 0xffff_ffffL, 1L << 47, Long.MAX_VALUE, -1, -4096};
        for (int i = 0; i < 5000; i++) {
            var b = pagemap_entry.newBuilder();
            int fields = random.nextInt(32);
            if ((fields & 1) != 0) {
                b.setVaddr(random.nextBoolean() ? longs[random.nextInt(longs.length)] : random.nextLong());
            }
            if ((fields & 2) != 0) {
                b.setCompatNrPages((int) longs[random.nextInt(longs.length)]);
            }
            if ((fields & 4) != 0) {
                b.setInParent(random.nextBoolean());
            }
            if ((fields & 8) != 0) {
                b.setFlags(random.nextInt());
            }
            if ((fields & 16) != 0) {
                b.setNrPages(longs[random.nextInt(longs.length)]);
            }
            byte[] bytes = b.buildPartial().toByteArray();
            boolean complete = (fields & 3) == 3;
            assertEquals(complete, reader.read(bytes, 0, bytes.length), HexFormat.of().formatHex(bytes));
            if (complete) {
                assertSame(pagemap_entry.parseFrom(bytes), HexFormat.of().formatHex(bytes));
            }
        }
    }

    @Test
    void takesTheLastOfRepeatedFieldsAsProtobufDoes() throws InvalidProtocolBufferException {
        byte[] bytes = HexFormat.of().parseHex("0801" + "1002" + "0803" + "2004" + "2005");
        assertTrue(reader.read(bytes, 0, bytes.length));
        assertSame(pagemap_entry.parseFrom(bytes), "repeated fields");
        assertEquals(3, reader.getVaddr());
        assertEquals(5, reader.getFlags());
    }

    @Test
    void keepsTheLow32BitsOfALongVarintInA32BitField() throws InvalidProtocolBufferException {
        // compat_nr_pages as a ten-byte varint whose low 32 bits are 7
        byte[] bytes = HexFormat.of().parseHex("0800" + "10" + "87808080f0ffffffff01");
        assertTrue(reader.read(bytes, 0, bytes.length));
        assertSame(pagemap_entry.parseFrom(bytes), "long varint");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",                          // no field: vaddr and compat_nr_pages are required
        "0801",                      // compat_nr_pages missing
        "1001",                      // vaddr missing
        "0801100130ff01",            // field 6: a field this schema does not have
        "09" + "0100000000000000" + "1001", // vaddr as a fixed64: another wire type
        "880001" + "1001",           // vaddr's tag in two bytes
        "08" + "8180808080808080808001" + "1001", // an eleven-byte varint
        "0801" + "1081",             // a varint cut short by the end of the entry
        "0801100100",                // tag 0
    })
    void leavesAnythingButCriusFormToProtobuf(String hex) {
        byte[] bytes = HexFormat.of().parseHex(hex);
        assertFalse(reader.read(bytes, 0, bytes.length), hex);
    }

    @Test
    void whereItReadsRandomEntriesProtobufReadsTheSame() {
        var random = new Random(7);
        // the five tags, and now and then one this schema lacks, another wire type, a two-byte tag
        int[] tags = {8, 16, 24, 32, 40, 8, 16, 24, 32, 40, 48, 9, 21, 0, 0x88};
        int read = 0;
        for (int i = 0; i < 200_000; i++) {
            var out = new java.io.ByteArrayOutputStream();
            for (int f = random.nextInt(7); f > 0; f--) {
                out.write(tags[random.nextInt(tags.length)]);
                // a varint of 1 to 11 bytes, now and then without its last
                int length = 1 + random.nextInt(random.nextInt(4) == 0 ? 11 : 3);
                for (int k = 0; k < length; k++) {
                    int group = random.nextInt(128);
                    out.write(k < length - 1 || random.nextInt(50) == 0 ? group | 0x80 : group);
                }
            }
            byte[] bytes = out.toByteArray();
            if (reader.read(bytes, 0, bytes.length)) {
                read++;
                try {
                    assertSame(pagemap_entry.parseFrom(bytes), HexFormat.of().formatHex(bytes));
                } catch (InvalidProtocolBufferException e) {
                    throw new AssertionError(HexFormat.of().formatHex(bytes) + " read, but protobuf: " + e, e);
                }
            }
        }
        assertTrue(read > 3_000, "only " + read + " random entries read");
    }

    /** What the reader holds is what protobuf parsed, with no field left unknown. */
    private void assertSame(pagemap_entry expected, String what) {
        assertTrue(expected.getUnknownFields().asMap().isEmpty(), what + ": fields unknown to protobuf");
        assertEquals(expected.getVaddr(), reader.getVaddr(), what);
        assertEquals(expected.getCompatNrPages(), reader.getCompatNrPages(), what);
        assertEquals(expected.hasInParent(), reader.hasInParent(), what);
        assertEquals(expected.getInParent(), reader.getInParent(), what);
        assertEquals(expected.hasFlags(), reader.hasFlags(), what);
        assertEquals(expected.getFlags(), reader.getFlags(), what);
        assertEquals(expected.hasNrPages(), reader.hasNrPages(), what);
        assertEquals(expected.getNrPages(), reader.getNrPages(), what);
    }

    /** Every pagemap of the fixtures' real checkpoints, the parent snapshots' included. */
    private static List<Path> pagemaps() throws IOException {
        List<Path> found = new ArrayList<>();
        for (Path c : Fixtures.cases()) {
            try (Stream<Path> files = Files.walk(c)) {
                files.filter(p -> p.getFileName().toString().matches("pagemap-.*\\.img")).sorted().forEach(found::add);
            }
        }
        return found;
    }
}
