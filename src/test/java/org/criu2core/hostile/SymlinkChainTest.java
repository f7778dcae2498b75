package org.criu2core.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.criu2core.Fixtures;
import org.criu2core.image.proto.Vma.vma_entry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A root whose links make every lookup expensive: 40 links, each 800 "x/.." pairs long (the
 * kernel walks 64 000 components for one name, 1 to 4 ms), and 10 000 memory areas each mapping
 * another name that leads through them: 10 to 40 s of lookups. All lookups together stop at
 * --lookup-time, and the conversion ends.
 */
class SymlinkChainTest {
    static final int LINKS = 40;
    static final int PAIRS = 800;

    @TempDir
    Path tmp;

    /** The chain in {@code root}: /l0 -> x/../x/../.../l1 -> ... -> /l40, a file. */
    static void chain(Path root) throws IOException {
        Files.createDirectories(root.resolve("x"));
        String pairs = "x/../".repeat(PAIRS);
        for (int i = 0; i < LINKS; i++) {
            Files.createSymbolicLink(root.resolve("l" + i), Path.of(pairs + "l" + (i + 1)));
        }
        Files.write(root.resolve("l" + LINKS), new byte[4096]);
    }

    @Test
    void lookupsThroughACraftedChainStopInTime() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("root"));
        chain(root);
        var images = CaseImages.copy(Fixtures.checkpoint("threads").resolve("images"), tmp.resolve("images"), 8229);
        long[] gap = images.largestGap();
        int n = 10_000;
        List<String> names = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // another name for each: slashes before and after x/.. differ
            names.add("/" + "/".repeat(i / 100) + "x/" + "/".repeat(i % 100) + "../l0");
        }
        int[] ids = images.addFiles(names, 0100644, 4096);
        List<vma_entry> vmas = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long start = gap[0] + (1L << 30) + 2L * i * CaseImages.PAGE;
            vmas.add(CaseImages.fileVma(start, start + CaseImages.PAGE, ids[i]));
        }
        images.addVmas(vmas);
        Path out = tmp.resolve("out");
        var run = Subprocess.criu2core(192, Duration.ofSeconds(120), "convert", "-D", images.dir().toString(), "-o",
                out.toString(), "--root", root.toString(), "--lookup-time", "1");
        assertEquals(0, run.status(), run.err());
        var budget = run.err().lines().filter(l -> l.contains("--lookup-time")).toList();
        assertEquals(1, budget.size(), run.err());
        assertTrue(budget.get(0).matches("warning: looking mapped files up under " + java.util.regex.Pattern.quote(
                root.toRealPath().toString()) + " took all of its 1.0 s \\(--lookup-time\\): \\d+ more were not "
                + "looked up, their pages are zeros in the core"), budget.get(0));
        // 10 000 lookups of 1 to 4 ms each would be 10 to 40 s
        assertTrue(run.time().compareTo(Duration.ofSeconds(15)) < 0, "took " + run.time());
        assertEquals(List.of("core.8229"), Subprocess.tree(out));
    }
}
