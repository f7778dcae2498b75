package org.criu2core.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.criu2core.elf.CoreFile;
import org.criu2core.elf.Elf;
import org.criu2core.image.proto.Vma.vma_entry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NT_FILE is capped as the kernel caps it (kernel.core_file_note_size_limit, 4 MiB): one 1 MiB
 * file name mapped by 20 000 VMAs would make a 20 GiB note; it is left out with a warning, and
 * never built.
 */
class FileNoteCapTest {
    @TempDir
    Path tmp;

    @Test
    void aHugeNoteIsLeftOutBeforeItIsBuilt() throws Exception {
        var images = CaseImages.copy(Fixtures.checkpoint("threads").resolve("images"), tmp.resolve("images"), 8229);
        int id = images.addFile("/" + "n".repeat((1 << 20) - 1), 0100644, 4096);
        long[] gap = images.largestGap();
        List<vma_entry> vmas = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            long start = gap[0] + (1L << 30) + i * 2 * CaseImages.PAGE;
            vmas.add(CaseImages.fileVma(start, start + CaseImages.PAGE, id));
        }
        assertTrue(gap[0] + (1L << 30) + 40_000 * CaseImages.PAGE < gap[1]);
        int before = org.criu2core.model.Checkpoint.load(images.dir()).process(8229).orElseThrow().vmas().size();
        images.addVmas(vmas);
        Path out = tmp.resolve("out");
        // 128 MiB of heap: the note alone would have been 20 GiB
        var run = Subprocess.criu2core(128, Duration.ofSeconds(120), "convert", "-D", images.dir().toString(), "-o",
                out.toString(), "--root", Fixtures.checkpoint("threads").resolve("root").toString());
        assertEquals(0, run.status(), run.err());
        assertTrue(run.time().compareTo(Duration.ofSeconds(60)) < 0, "took " + run.time());
        var warnings = run.err().lines().filter(l -> l.contains("NT_FILE")).toList();
        assertEquals(1, warnings.size(), run.err());
        assertTrue(warnings.get(0).matches("warning: " + java.util.regex.Pattern.quote(out.resolve("core.8229")
                .toString()) + ": NT_FILE left out: it would be \\d{11} bytes, and the limit is 4194304 \\(the "
                + "kernel's core_file_note_size_limit; --file-note-limit\\)"), warnings.get(0));
        try (var core = CoreFile.open(out.resolve("core.8229"))) {
            assertNull(core.note(Elf.NT_FILE));
            assertNotNull(core.note(Elf.NT_AUXV));
            assertEquals(20_000 + before, core.loads().size());
        }
        assertEquals(List.of("core.8229"), Subprocess.tree(out));
    }

    /** The limit on the real case, at the note's size: left out at it, as the kernel's ">=", kept above it. */
    @Test
    void theLimitIsTheKernels() throws Exception {
        Path images = Fixtures.checkpoint("threads").resolve("images");
        Path root = Fixtures.checkpoint("threads").resolve("root");
        var plain = KernelCores.cli("convert", "-q", "-D", images.toString(), "-o", tmp.resolve("plain").toString(),
                "--root", root.toString());
        assertEquals(0, plain.status(), plain.err());
        int size;
        try (var core = CoreFile.open(tmp.resolve("plain/core.8229"))) {
            size = core.note(Elf.NT_FILE).length;
        }
        var above = KernelCores.cli("convert", "-q", "-D", images.toString(), "-o", tmp.resolve("above").toString(),
                "--root", root.toString(), "--file-note-limit", Integer.toString(size + 1));
        assertEquals(0, above.status(), above.err());
        assertEquals(-1, Files.mismatch(tmp.resolve("plain/core.8229"), tmp.resolve("above/core.8229")));
        var at = KernelCores.cli("convert", "-D", images.toString(), "-o", tmp.resolve("at").toString(), "--root",
                root.toString(), "--file-note-limit", Integer.toString(size));
        assertEquals(0, at.status(), at.err());
        assertTrue(at.err().contains("NT_FILE left out: it would be " + size + " bytes, and the limit is " + size),
                at.err());
        try (var core = CoreFile.open(tmp.resolve("at/core.8229"))) {
            assertNull(core.note(Elf.NT_FILE));
        }
    }
}
