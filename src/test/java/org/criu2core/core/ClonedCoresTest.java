package org.criu2core.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.criu2core.LoopMount;
import org.criu2core.bench.BenchCheckpoint;
import org.criu2core.sys.BlockSharing;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * On XFS and btrfs a conversion clones: the core's page runs share the pages files' blocks and
 * take no new space, and its bytes are those of a conversion on an ordinary filesystem (the
 * temporary folder). Runs on loop mounts made for the test (root only; skipped elsewhere, saying
 * why); the cores are compared with FIEMAP's view and with the free space of the filesystem.
 */
class ClonedCoresTest {
    /** Enough for the largest of the minimum sizes (XFS: 300 MiB); the file is sparse. */
    private static final long FILESYSTEM_SIZE = 512L << 20;

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"xfs", "btrfs"})
    void pageRunsAreClonedAndTheBytesAreTheSame(String type) throws Exception {
        try (var fs = LoopMount.make(type, FILESYSTEM_SIZE, tmp.resolve(type))) {
            // FIEMAP's view, checked on what cp --reflink=always makes: a file of nothing but shared blocks
            byte[] bytes = new byte[1 << 20];
            new Random(3).nextBytes(bytes);
            Path original = Files.write(fs.path().resolve("original"), bytes);
            Path copy = fs.path().resolve("copy");
            var cp = new ProcessBuilder("cp", "--reflink=always", original.toString(), copy.toString())
                    .redirectErrorStream(true).start();
            assertEquals(0, cp.waitFor(), new String(cp.getInputStream().readAllBytes()));
            assertEquals(new BlockSharing(bytes.length, 0), BlockSharing.of(copy).orElseThrow());

            // a dump on top of a pre-dump: pages from two pages files, holes, 24 VMAs
            long saved = BenchCheckpoint.write(fs.path().resolve("synthetic"), 8, 24, 1, 2);
            BenchCheckpoint.write(tmp.resolve("synthetic"), 8, 24, 1, 2);
            long free = fs.unallocated();
            var run = KernelCores.cli("convert", "-v", "-D", fs.path().resolve("synthetic/images").toString(),
                    "-o", fs.path().resolve("out").toString());
            assertEquals(0, run.status(), run.err());
            long used = free - fs.unallocated();
            assertEquals(0, KernelCores.cli("convert", "-q", "-D", tmp.resolve("synthetic/images").toString(),
                    "-o", tmp.resolve("out").toString()).status());

            Path core = fs.path().resolve("out/core.1000");
            assertEquals(-1, Files.mismatch(core, tmp.resolve("out/core.1000")), "the same bytes as on " + tmp);
            BlockSharing blocks = BlockSharing.of(core).orElseThrow();
            assertEquals(saved, blocks.shared(), "every saved page is a clone");
            // the program headers and notes are written, as is the last byte when the core ends in a hole
            assertTrue(blocks.own() > 0 && blocks.own() <= 64 << 10, "written: " + blocks.own());
            assertTrue(used < saved / 4, "the conversion took " + used + " bytes of disk for " + saved
                    + " bytes of pages");
            assertTrue(run.err().contains(": " + saved + " bytes cloned (blocks shared with the checkpoint's files), "
                    + blocks.own() + " written, "), run.err());

            // a real checkpoint with its mapped files under --root on the same filesystem
            Path threads = Fixtures.copyTree(Fixtures.checkpoint("threads"), fs.path().resolve("threads"));
            var onFs = KernelCores.cli("convert", "-q", "-D", threads.resolve("images").toString(),
                    "--root", threads.resolve("root").toString(), "-o", fs.path().resolve("threads-out").toString());
            assertEquals(0, onFs.status(), onFs.err());
            Path fixture = Fixtures.checkpoint("threads");
            var onTmp = KernelCores.cli("convert", "-q", "-D", fixture.resolve("images").toString(),
                    "--root", fixture.resolve("root").toString(), "-o", tmp.resolve("threads-out").toString());
            assertEquals(0, onTmp.status(), onTmp.err());
            Path threadsCore = fs.path().resolve("threads-out/core.8229");
            assertEquals(-1, Files.mismatch(threadsCore, tmp.resolve("threads-out/core.8229")));
            long pages = Files.size(threads.resolve("images/pages-1.img"));
            assertTrue(BlockSharing.of(threadsCore).orElseThrow().shared() >= pages,
                    "the saved pages and the mapped files' pages are clones");

            // a core whose pages are more than the free space converts when they are clones
            long keep = 4 << 20;
            var fill = new ProcessBuilder("fallocate", "-l", Long.toString(fs.usable() - keep),
                    fs.path().resolve("fill").toString()).redirectErrorStream(true).start();
            assertEquals(0, fill.waitFor(), new String(fill.getInputStream().readAllBytes()));
            assertTrue(fs.usable() < saved, fs.usable() + " bytes free");
            var full = KernelCores.cli("convert", "-q", "-D", fs.path().resolve("synthetic/images").toString(),
                    "-o", fs.path().resolve("full").toString());
            assertEquals(0, full.status(), full.err());
            assertEquals(saved, BlockSharing.of(fs.path().resolve("full/core.1000")).orElseThrow().shared());
        }
    }
}
