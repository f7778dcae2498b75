package org.criu2core.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.criu2core.SyntheticCheckpoint;
import org.criu2core.image.Image;
import org.criu2core.image.ImageEntry;
import org.criu2core.image.ImageReader;
import org.criu2core.image.ImageWriter;
import org.criu2core.image.proto.Core.core_entry;
import org.criu2core.image.proto.Mm.mm_entry;
import org.criu2core.image.proto.Pagemap.pagemap_entry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Images that parse but say impossible things: each is one clear error, and no core is left. */
class AbsurdImagesTest {
    private static final long PAGE = SyntheticCheckpoint.PAGE;
    private static final long HEAP = 0x5555_0000_0000L;
    private static final long STACK = 0x7ffd_0000_0000L;

    @TempDir
    Path tmp;

    private Path images() throws IOException {
        var cp = new SyntheticCheckpoint(900).anon(STACK, STACK + 2 * PAGE, 3).args(STACK + 0x100, "absurd")
                .anon(HEAP, HEAP + 4 * PAGE, 3);
        for (int i = 0; i < 4; i++) {
            cp.page(HEAP + i * PAGE, "page " + i);
        }
        return cp.write(tmp.resolve("images"));
    }

    /** Rewrites entry {@code index} of an image. */
    private static void rewrite(Path image, int index, UnaryOperator<Message> change) throws IOException {
        Image read = ImageReader.read(image);
        List<ImageEntry> entries = new ArrayList<>(read.entries());
        entries.set(index, new ImageEntry(change.apply(entries.get(index).message())));
        Files.write(image, ImageWriter.toBytes(new Image(read.magic(), entries)));
    }

    /** Converts; expects exit 1 with {@code message} as the error line and no file in the output. */
    private void fails(Path images, String message) throws IOException {
        Path out = tmp.resolve("out");
        var run = KernelCores.cli("convert", "-D", images.toString(), "-o", out.toString(), "--root", tmp.toString());
        assertEquals(1, run.status(), run.err());
        assertEquals("criu2core: " + message, run.err().lines().findFirst().orElse(""));
        if (Files.isDirectory(out)) {
            try (Stream<Path> left = Files.list(out)) {
                assertEquals(List.of(), left.toList());
            }
        }
    }

    @Test
    void pagesThatRunPastTheEndOfTheAddressSpace() throws IOException {
        Path images = images();
        Path pagemap = images.resolve("pagemap-900.img");
        rewrite(pagemap, 1, m -> ((pagemap_entry) m).toBuilder().setVaddr(-PAGE).setNrPages(2).build());
        long at = ImageReader.read(pagemap).entries().get(1).offset();
        fails(images, pagemap + ":" + at + ": entry 1: 2 pages at 0xfffffffffffff000 do not fit in the address space");
    }

    @Test
    void aPageCountThatOverflows() throws IOException {
        Path images = images();
        Path pagemap = images.resolve("pagemap-900.img");
        rewrite(pagemap, 1, m -> ((pagemap_entry) m).toBuilder().setNrPages(1L << 60).build());
        long at = ImageReader.read(pagemap).entries().get(1).offset();
        fails(images, pagemap + ":" + at + ": entry 1: 1152921504606846976 pages at 0x555500000000 do not fit in the "
                + "address space");
    }

    @Test
    void pagemapEntriesOutOfOrder() throws IOException {
        Path images = images();
        Path pagemap = images.resolve("pagemap-900.img");
        rewrite(pagemap, 2, m -> ((pagemap_entry) m).toBuilder().setVaddr(HEAP - PAGE).build());
        long at = ImageReader.read(pagemap).entries().get(2).offset();
        fails(images, pagemap + ":" + at + ": entry 2: pages at 0x5554fffff000 overlap or come before the previous "
                + "entry's (ending at 0x555500001000)");
    }

    @Test
    void savedPagesOutsideEveryVma() throws IOException {
        Path images = images();
        Path pagemap = images.resolve("pagemap-900.img");
        rewrite(pagemap, 4, m -> ((pagemap_entry) m).toBuilder().setVaddr(HEAP + 100 * PAGE).build());
        long at = ImageReader.read(pagemap).entries().get(4).offset();
        fails(images, pagemap + ":" + at + ": saved page 0x555500064000 is outside every VMA of mm-900.img");
    }

    @Test
    void aPagesFileShorterThanThePagemapSays() throws IOException {
        Path images = images();
        Path pages = images.resolve("pages-1.img");
        byte[] bytes = Files.readAllBytes(pages);
        Files.write(pages, java.util.Arrays.copyOf(bytes, (int) (2 * PAGE)));
        long at = ImageReader.read(images.resolve("pagemap-900.img")).entries().get(3).offset();
        fails(images, images.resolve("pagemap-900.img") + ":" + at + ": entry 3: pages up to byte 12288 of pages-1.img, "
                + "which has 8192 bytes");
    }

    @Test
    void aVmaThatEndsBeforeItStarts() throws IOException {
        Path images = images();
        Path mm = images.resolve("mm-900.img");
        rewrite(mm, 0, m -> {
            var b = ((mm_entry) m).toBuilder();
            b.setVmas(1, b.getVmas(1).toBuilder().setEnd(b.getVmas(1).getStart() - PAGE));
            return b.build();
        });
        fails(images, mm + ":8: VMA 1 (0x7ffd00000000-0x7ffcfffff000) ends before it starts");
    }

    @Test
    void overlappingVmas() throws IOException {
        Path images = images();
        Path mm = images.resolve("mm-900.img");
        rewrite(mm, 0, m -> {
            var b = ((mm_entry) m).toBuilder();
            b.setVmas(1, b.getVmas(1).toBuilder().setStart(HEAP + PAGE).setEnd(HEAP + 2 * PAGE));
            return b.build();
        });
        fails(images, mm + ":8: VMA 1 (0x555500001000-0x555500002000) overlaps or comes before the previous VMA");
    }

    @Test
    void aVmaMappingAFileTheImagesDoNotHave() throws IOException {
        Path images = images();
        Path mm = images.resolve("mm-900.img");
        rewrite(mm, 0, m -> {
            var b = ((mm_entry) m).toBuilder();
            b.setVmas(0, b.getVmas(0).toBuilder().setStatus(1 | 1 << 6).setShmid(77));
            return b.build();
        });
        fails(images, mm + ":8: VMA 0 (0x555500000000-0x555500004000) maps file id 77, which files.img does not have");
    }

    @Test
    void aPageSizeThatIsNone() throws IOException {
        Path images = images();
        Path mm = images.resolve("mm-900.img");
        rewrite(mm, 0, m -> ((mm_entry) m).toBuilder().setMmSavedAuxv(1, 12345).build());
        fails(images, mm + ": AT_PAGESZ in mm_saved_auxv is not a page size");
    }

    @Test
    void aThreadWithoutRegisters() throws IOException {
        Path images = images();
        Path core = images.resolve("core-900.img");
        rewrite(core, 0, m -> ((core_entry) m).toBuilder().clearThreadInfo().build());
        fails(images, core + ": thread 900 has no x86_64 registers");
    }

    @Test
    void anImageOfTheWrongKind() throws IOException {
        Path images = images();
        Files.copy(images.resolve("core-900.img"), images.resolve("pstree.img"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        fails(images, images.resolve("pstree.img") + ":0: a CORE image where a PSTREE image belongs");
    }

    @Test
    void a32BitTaskWithMemoryAbove4GiB() throws IOException {
        Path images = Fixtures.copyImages("compat32", tmp.resolve("compat32"));
        Path mm = images.resolve("mm-7090.img");
        rewrite(mm, 0, m -> {
            var b = ((mm_entry) m).toBuilder();
            int last = b.getVmasCount() - 1;
            b.setVmas(last, b.getVmas(last).toBuilder().setStart(0x1_0000_0000L).setEnd(0x1_0000_1000L));
            return b.build();
        });
        var run = KernelCores.cli("convert", "-D", images.toString(), "-o", tmp.resolve("out").toString());
        assertEquals(1, run.status());
        assertTrue(run.err().startsWith("criu2core: " + mm + ": VMA 0x100000000-0x100001000 is beyond the 4 GiB of a "
                + "32-bit i386 task\n"), run.err());
    }

    @Test
    void mappedFileNamesNeverLeaveTheRoot() throws IOException {
        Path root = Files.createDirectories(tmp.resolve("root"));
        Files.writeString(tmp.resolve("secret"), "\u007fELF-outside-the-root");
        Files.createSymbolicLink(root.resolve("link"), Path.of("../secret"));
        var rootFs = new org.criu2core.container.RootFs(root);
        for (String name : List.of("/../secret", "../secret", "/link", "/a/../../secret", "/./../../secret")) {
            var opened = rootFs.open(name);
            assertTrue(opened.isEmpty(), name + " must not open " + tmp.resolve("secret"));
        }
        assertEquals(5, rootFs.missing().size());
    }
}
