package org.criu2core.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.criu2core.Fixtures;
import org.criu2core.Gdb;
import org.criu2core.KernelCores;
import org.criu2core.SyntheticCheckpoint;
import org.criu2core.elf.CoreFile;
import org.criu2core.elf.Elf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Conversions of checkpoints written by the tests, for the cases the real ones do not cover. */
class SyntheticConversionTest {
    private static final long PAGE = SyntheticCheckpoint.PAGE;
    private static final long STACK = 0x7ffd_0000_0000L;
    /** pagemap_entry flags: the page was left to a page server (criu/include/pagemap.h). */
    private static final int PE_LAZY = 2;

    @TempDir
    Path tmp;

    private static SyntheticCheckpoint withStack(int pid) {
        return new SyntheticCheckpoint(pid).anon(STACK, STACK + 2 * PAGE, 3).args(STACK + 0x100, "synthetic", "run");
    }

    private Path convert(Path images, String outName) {
        Path out = tmp.resolve(outName);
        var run = KernelCores.cli("convert", "-D", images.toString(), "-o", out.toString(),
                "--root", tmp.toString());
        assertEquals(0, run.status(), run.err());
        return out;
    }

    @Test
    void seventyThousandVmasUseExtendedNumberingAndGdbReadsTheLastOne() throws Exception {
        int count = 70_000;
        long base = 0x1000_0000L;
        var cp = withStack(77);
        for (int i = 0; i < count; i++) {
            long start = base + 2 * PAGE * i;
            cp.anon(start, start + PAGE, i % 2 == 0 ? 3 : 1);
            if (i % 100 == 0 || i == count - 1) {
                cp.page(start, SyntheticCheckpoint.le64(0xC0DE_0000_0000L | i));
            }
        }
        Path core = convert(cp.write(tmp.resolve("images")), "out").resolve("core.77");
        try (FileChannel c = FileChannel.open(core)) {
            ByteBuffer ehdr = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
            c.read(ehdr, 0);
            assertEquals(Elf.PN_XNUM, ehdr.getShort(56) & 0xffff, "e_phnum");
            assertEquals(1, ehdr.getShort(60), "e_shnum");
            ByteBuffer shdr = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
            c.read(shdr, ehdr.getLong(40));
            assertEquals(count + 2, shdr.getInt(44), "sh_info: the notes, the stack and every VMA");
        }
        try (CoreFile read = CoreFile.open(core)) {
            assertEquals(count + 1, read.loads().size());
        }
        int[] sample = {0, 100, 35_000, 69_900, count - 1};
        String[] commands = new String[sample.length];
        for (int i = 0; i < sample.length; i++) {
            commands[i] = String.format("p/x *(long *)0x%x", base + 2 * PAGE * sample[i]);
        }
        List<String> values = Gdb.values(Gdb.run(Elf.EM_X86_64, null, null, core, commands));
        assertEquals(sample.length, values.size());
        for (int i = 0; i < sample.length; i++) {
            assertEquals(String.format("0xc0de%08x", sample[i]), values.get(i), "VMA " + sample[i]);
        }
    }

    private static SyntheticCheckpoint program() {
        var cp = withStack(4242).thread(4243);
        long heap = 0x5555_0000_0000L;
        cp.anon(heap, heap + 16 * PAGE, 3);
        for (int i = 0; i < 16; i++) {
            cp.page(heap + i * PAGE, "HEAP-MARKER-" + i);
        }
        return cp;
    }

    @Test
    void aParentSnapshotGivesTheSameCoreAsTheFullCheckpoint() throws Exception {
        Path full = convert(program().write(tmp.resolve("full")), "out-full").resolve("core.4242");
        Path incremental = program().writeIncremental(tmp.resolve("pre"), tmp.resolve("dump"),
                address -> (address / PAGE) % 3 != 0);
        Path fromParent = convert(incremental, "out-incremental").resolve("core.4242");
        assertEquals(-1, Files.mismatch(full, fromParent), "the cores differ");
        String[] view = {"info threads", "x/s 0x555500003000", "x/s 0x55550000f000", "info registers rip"};
        String a = Gdb.run(Elf.EM_X86_64, null, null, full, view).replace(full.toString(), "CORE");
        String b = Gdb.run(Elf.EM_X86_64, null, null, fromParent, view).replace(fromParent.toString(), "CORE");
        assertTrue(a.contains("HEAP-MARKER-15"), a);
        assertEquals(a, b);
    }

    @Test
    void aMissingMappedFileIsWarnedAboutAndGdbStillLoadsTheCore() throws Exception {
        Path images = withStack(5150)
                .file(0x40_0000, 0x40_4000, 0, 5, "/opt/gone/libgone.so", 0100755, 0x4000)
                .write(tmp.resolve("images"));
        Path out = tmp.resolve("out");
        var run = KernelCores.cli("convert", "-D", images.toString(), "-o", out.toString(), "--root", tmp.toString());
        assertEquals(0, run.status(), run.err());
        assertTrue(run.err().contains("warning: /opt/gone/libgone.so is not under " + tmp
                + ": its pages are zeros in the core"), run.err());
        String gdb = Gdb.run(Elf.EM_X86_64, null, null, out.resolve("core.5150"), "info threads", "x/s 0x7ffd00000100");
        assertTrue(gdb.contains("LWP 5150"), gdb);
        assertTrue(gdb.contains("\"synthetic\""), gdb);
    }

    @Test
    void theSameCheckpointGivesTheSameBytes() throws Exception {
        Path images = Fixtures.checkpoint("threads").resolve("images");
        Path root = Fixtures.checkpoint("threads").resolve("root");
        for (String name : List.of("a", "b")) {
            var run = KernelCores.cli("convert", "-D", images.toString(), "-o", tmp.resolve(name).toString(),
                    "--root", root.toString());
            assertEquals(0, run.status(), run.err());
        }
        assertEquals(-1, Files.mismatch(tmp.resolve("a/core.8229"), tmp.resolve("b/core.8229")));
    }

    /**
     * Lazy pages (left to a page server) read as zeros and are counted once each, as the core has
     * them, one of them the page of the command line that the notes read.
     */
    @Test
    void lazyPagesAreCountedOnceAsTheCoreHasThem() throws Exception {
        Path images = withStack(31).page(STACK + PAGE, "second page").write(tmp.resolve("images"));
        Path pagemap = images.resolve("pagemap-31.img");
        var read = org.criu2core.image.ImageReader.read(pagemap);
        var entries = new java.util.ArrayList<org.criu2core.image.ImageEntry>();
        entries.add(read.entries().get(0));
        for (var e : read.entries().subList(1, read.entries().size())) {
            var pe = (org.criu2core.image.proto.Pagemap.pagemap_entry) e.message();
            entries.add(new org.criu2core.image.ImageEntry(pe.toBuilder().setFlags(PE_LAZY).build()));
        }
        assertEquals(3, entries.size(), "the head and the stack's two pages");
        Files.write(pagemap, org.criu2core.image.ImageWriter.toBytes(
                new org.criu2core.image.Image(read.magic(), entries)));
        var run = KernelCores.cli("convert", "-D", images.toString(), "-o", tmp.resolve("out").toString(),
                "--root", tmp.toString());
        assertEquals(0, run.status(), run.err());
        assertTrue(run.err().contains("core.31: x86_64, 1 thread, 1 segments, "), run.err());
        assertTrue(run.err().contains(" bytes, 2 lazy pages left as zeros\n"), run.err());
    }
}
