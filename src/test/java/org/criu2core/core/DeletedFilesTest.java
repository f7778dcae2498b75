package org.criu2core.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.criu2core.KernelCores;
import org.criu2core.SyntheticCheckpoint;
import org.criu2core.elf.CoreFile;
import org.criu2core.elf.Elf;
import org.criu2core.image.Image;
import org.criu2core.image.ImageEntry;
import org.criu2core.image.ImageJson;
import org.criu2core.image.ImageReader;
import org.criu2core.image.ImageWriter;
import org.criu2core.image.Magic;
import org.criu2core.image.PythonJson;
import org.criu2core.image.proto.Fdinfo.fd_types;
import org.criu2core.image.proto.Fdinfo.file_entry;
import org.criu2core.image.proto.GhostFile.ghost_chunk_entry;
import org.criu2core.image.proto.GhostFile.ghost_file_entry;
import org.criu2core.image.proto.RemapFilePath.remap_file_path_entry;
import org.criu2core.image.proto.RemapFilePath.remap_type;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files deleted while mapped (a library replaced by an upgrade): their bytes come from where
 * CRIU kept them, never from what has their name now, and NT_FILE says "(deleted)".
 */
class DeletedFilesTest {
    private static final long PAGE = SyntheticCheckpoint.PAGE;
    private static final long LIB = 0x7f00_0000_0000L;
    private static final String PATH = "/usr/lib/libgone.so";

    @TempDir
    Path tmp;

    private static byte[] page(String text) {
        return Arrays.copyOf(text.getBytes(StandardCharsets.US_ASCII), (int) PAGE);
    }

    private Path images() throws Exception {
        Path images = new SyntheticCheckpoint(700).anon(0x7ffd_0000_0000L, 0x7ffd_0000_2000L, 3)
                .args(0x7ffd_0000_0100L, "app").file(LIB, LIB + 3 * PAGE, 0, 5, PATH, 0100755, 3 * PAGE)
                .write(tmp.resolve("images"));
        // what is at the path now: the new version, which must not be read
        Path decoy = tmp.resolve("root" + PATH);
        Files.createDirectories(decoy.getParent());
        Files.write(decoy, page("DECOY-NEW-VERSION"));
        return images;
    }

    private static void write(Path image, String magic, List<? extends Message> messages) throws Exception {
        List<ImageEntry> entries = new ArrayList<>();
        for (Message m : messages) {
            entries.add(new ImageEntry(m));
        }
        Files.write(image, ImageWriter.toBytes(new Image(magic, entries)));
    }

    private static ghost_file_entry.Builder ghost() {
        return ghost_file_entry.newBuilder().setUid(0).setGid(0).setMode(0100755);
    }

    private static byte[] le32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    /** A ghost image as CRIU frames it: magics, head, then the bytes or chunk entries and bytes. */
    private static byte[] ghostImage(ghost_file_entry head, byte[]... chunksOrContent) {
        var out = new ByteArrayOutputStream();
        out.writeBytes(le32(Magic.IMG_COMMON));
        out.writeBytes(le32(Magic.value("GHOST_FILE").orElseThrow()));
        byte[] h = head.toByteArray();
        out.writeBytes(le32(h.length));
        out.writeBytes(h);
        long off = 0;
        for (byte[] part : chunksOrContent) {
            if (head.getChunks()) {
                byte[] c = ghost_chunk_entry.newBuilder().setLen(part.length).setOff(off).build().toByteArray();
                out.writeBytes(le32(c.length));
                out.writeBytes(c);
                off += 2 * part.length; // every other page of the file is a hole
            }
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    private CoreFile convert(Path images) throws Exception {
        Path out = tmp.resolve("out");
        // 0x37 adds MAPPED_PRIVATE: the whole mapping is written, every page of it from the file
        var run = KernelCores.cli("convert", "-D", images.toString(), "-o", out.toString(), "--root",
                tmp.resolve("root").toString(), "--filter", "0x37");
        assertEquals(0, run.status(), run.err());
        return CoreFile.open(out.resolve("core.700"));
    }

    private static String ntFileNames(CoreFile core) {
        byte[] file = core.note(Elf.NT_FILE);
        return new String(file, 16 + 24, file.length - 16 - 24, StandardCharsets.US_ASCII);
    }

    @Test
    void aGhostFilesBytesComeFromItsImage() throws Exception {
        Path images = images();
        write(images.resolve("remap-fpath.img"), "REMAP_FPATH", List.of(remap_file_path_entry.newBuilder()
                .setOrigId(1).setRemapId(0x20).setRemapType(remap_type.GHOST).build()));
        byte[] content = new byte[(int) (3 * PAGE)];
        System.arraycopy(page("GHOST-PAGE-0"), 0, content, 0, (int) PAGE);
        System.arraycopy(page("GHOST-PAGE-2"), 0, content, (int) (2 * PAGE), (int) PAGE);
        Files.write(images.resolve("ghost-file-20.img"), ghostImage(ghost().setSize(content.length).build(), content));
        try (var core = convert(images)) {
            assertArrayEquals(page("GHOST-PAGE-0"), core.bytesAt(LIB, (int) PAGE));
            assertArrayEquals(page("GHOST-PAGE-2"), core.bytesAt(LIB + 2 * PAGE, (int) PAGE));
            assertEquals(PATH + " (deleted)\0", ntFileNames(core));
        }
    }

    @Test
    void aChunkedGhostLeavesItsHolesEmpty() throws Exception {
        Path images = images();
        write(images.resolve("remap-fpath.img"), "REMAP_FPATH", List.of(remap_file_path_entry.newBuilder()
                .setOrigId(1).setRemapId(0x80000000 | 0x21).build())); // the old form: bit 31 says ghost
        byte[] ghost = ghostImage(ghost().setChunks(true).build(), page("CHUNK-AT-0"), page("CHUNK-AT-2"));
        Files.write(images.resolve("ghost-file-21.img"), ghost);
        try (var core = convert(images)) {
            assertArrayEquals(page("CHUNK-AT-0"), core.bytesAt(LIB, (int) PAGE));
            assertArrayEquals(new byte[(int) PAGE], core.bytesAt(LIB + PAGE, (int) PAGE));
            assertArrayEquals(page("CHUNK-AT-2"), core.bytesAt(LIB + 2 * PAGE, (int) PAGE));
        }
        // and the ghost image decodes and encodes back to its bytes, chunks and all
        Image decoded = ImageReader.read(images.resolve("ghost-file-21.img"));
        assertEquals(3, decoded.entries().size());
        String json = PythonJson.write(ImageJson.toJson(decoded, true), true);
        assertTrue(!json.contains("\"extra\": \"\"") && json.contains("\"extra\""), json);
        assertArrayEquals(ghost, ImageWriter.toBytes(ImageJson.fromJson(
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(json), "ghost.json")));
    }

    @Test
    void aLinkedRemapIsReadUnderItsLinkName() throws Exception {
        Path images = images();
        Path files = images.resolve("files.img");
        List<Message> entries = new ArrayList<>();
        ImageReader.read(files).entries().forEach(e -> entries.add(e.message()));
        String link = "/usr/lib/link_remap.7";
        var first = (file_entry) entries.get(0);
        entries.add(first.toBuilder().setId(2).setReg(first.getReg().toBuilder().setId(2).setName(link)).build());
        write(files, "FILES", entries);
        write(images.resolve("remap-fpath.img"), "REMAP_FPATH", List.of(remap_file_path_entry.newBuilder()
                .setOrigId(1).setRemapId(2).setRemapType(remap_type.LINKED).build()));
        Files.write(tmp.resolve("root" + link), page("LINKED-CONTENT"));
        try (var core = convert(images)) {
            assertArrayEquals(page("LINKED-CONTENT"), core.bytesAt(LIB, (int) PAGE));
            assertEquals(PATH + " (deleted)\0", ntFileNames(core));
        }
        assertEquals(fd_types.REG, first.getType());
    }
}
