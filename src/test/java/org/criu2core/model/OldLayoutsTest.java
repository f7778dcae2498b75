package org.criu2core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.criu2core.KernelCores;
import org.criu2core.SyntheticCheckpoint;
import org.criu2core.image.Image;
import org.criu2core.image.ImageEntry;
import org.criu2core.image.ImageReader;
import org.criu2core.image.ImageWriter;
import org.criu2core.image.proto.Fdinfo.file_entry;
import org.criu2core.image.proto.Pagemap.pagemap_entry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Images as CRIU before 3.x and before 4 wrote them give the same core as today's. */
class OldLayoutsTest {
    private static final long PAGE = SyntheticCheckpoint.PAGE;
    private static final long HEAP = 0x5555_0000_0000L;

    @TempDir
    Path tmp;

    private static SyntheticCheckpoint program() {
        var cp = new SyntheticCheckpoint(600).anon(0x7ffd_0000_0000L, 0x7ffd_0000_2000L, 3)
                .args(0x7ffd_0000_0100L, "old").anon(HEAP, HEAP + 8 * PAGE, 3)
                .file(0x40_0000, 0x40_2000, 0, 5, "/bin/old", 0100755, 0x2000);
        for (int i = 0; i < 8; i++) {
            cp.page(HEAP + i * PAGE, "old page " + i);
        }
        return cp;
    }

    private Path convert(Path images, String name) {
        Path out = tmp.resolve(name);
        var run = KernelCores.cli("convert", "-D", images.toString(), "-o", out.toString(), "--root", tmp.toString(), "-q");
        assertEquals(0, run.status(), run.err());
        return out.resolve("core.600");
    }

    private static void rewriteEntries(Path image, String magic, java.util.function.UnaryOperator<com.google.protobuf.Message> f)
            throws Exception {
        Image read = ImageReader.read(image);
        List<ImageEntry> entries = new ArrayList<>();
        for (ImageEntry e : read.entries()) {
            entries.add(new ImageEntry(f.apply(e.message())));
        }
        Files.write(image, ImageWriter.toBytes(new Image(magic, entries)));
    }

    @Test
    void regFilesImgInsteadOfFilesImg() throws Exception {
        Path today = convert(program().write(tmp.resolve("today")), "out-today");
        Path old = program().write(tmp.resolve("old"));
        Image files = ImageReader.read(old.resolve("files.img"));
        List<ImageEntry> regs = new ArrayList<>();
        for (ImageEntry e : files.entries()) {
            regs.add(new ImageEntry(((file_entry) e.message()).getReg()));
        }
        Files.write(old.resolve("reg-files.img"), ImageWriter.toBytes(new Image("REG_FILES", regs)));
        Files.delete(old.resolve("files.img"));
        assertEquals(-1, Files.mismatch(today, convert(old, "out-old")));
    }

    @Test
    void pagemapsWithInParentAndCompatCountsInsteadOfFlags() throws Exception {
        Path today = convert(program().writeIncremental(tmp.resolve("pre"), tmp.resolve("dump"),
                a -> (a / PAGE) % 2 == 0), "out-today");
        // as CRIU before 3.x: no flags and no nr_pages, in_parent for pages of the parent snapshot
        for (Path pagemap : List.of(tmp.resolve("pre/pagemap-600.img"), tmp.resolve("dump/pagemap-600.img"))) {
            rewriteEntries(pagemap, "PAGEMAP", m -> {
                if (!(m instanceof pagemap_entry pe)) {
                    return m;
                }
                var b = pe.toBuilder().clearFlags().clearNrPages().setCompatNrPages((int) pe.getNrPages());
                return (pe.getFlags() & 1) != 0 ? b.setInParent(true).build() : b.build();
            });
        }
        assertEquals(-1, Files.mismatch(today, convert(tmp.resolve("dump"), "out-old")));
    }
}
