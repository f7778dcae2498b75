package org.criu2core.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.criu2core.Fixtures;
import org.criu2core.core.Progress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The example of docs/library.md, as a test. */
class Criu2CoreTest {
    @TempDir
    Path tmp;

    @Test
    void theLibraryExample() throws Exception {
        Path checkpoint = Fixtures.checkpoint("threads").resolve("images");
        Path root = Fixtures.checkpoint("threads").resolve("root");

        var info = Criu2Core.inspect(checkpoint, root);
        var p = info.processes().get(0);
        assertEquals(8229, p.pid());
        assertEquals("x86_64", p.arch());
        assertEquals(3, p.threads().size());
        assertEquals("/opt/criu2core/bin/threads", p.commandLine());

        List<Criu2Core.Outcome> seen = new ArrayList<>();
        var report = Criu2Core.convert(checkpoint, tmp.resolve("out"), Criu2Core.Options.DEFAULTS.withRoot(root), seen::add);
        assertTrue(report.allWritten());
        assertEquals(report.outcomes(), seen);
        var written = assertInstanceOf(Criu2Core.Written.class, seen.get(0));
        assertEquals(tmp.resolve("out").resolve("core.8229"), written.result().core());
        assertEquals(Files.size(written.result().core()), written.result().size());
        assertEquals(List.of(), report.missingFiles());

        var json = Criu2Core.decode(checkpoint.resolve("pstree.img"), true);
        assertEquals("PSTREE", json.get("magic").asText());
        Criu2Core.encode(json, tmp.resolve("pstree.img"));
        assertEquals(-1, Files.mismatch(checkpoint.resolve("pstree.img"), tmp.resolve("pstree.img")));
    }

    /** Several cores at once: the same bytes, outcomes in tree order, every byte told to progress. */
    @Test
    void concurrentConversionWritesTheSameCores() throws Exception {
        Path images = Fixtures.checkpoint("tree").resolve("images");
        var one = Criu2Core.convert(images, tmp.resolve("one"), Criu2Core.Options.DEFAULTS.withRoot(tmp).withJobs(1));
        var progress = new CountingProgress();
        List<Criu2Core.Outcome> seen = new ArrayList<>();
        var three = Criu2Core.convert(images, tmp.resolve("three"),
                Criu2Core.Options.DEFAULTS.withRoot(tmp).withJobs(3).withProgress(progress), seen::add);
        assertEquals(List.of(8714, 8716, 8717), seen.stream().map(Criu2Core.Outcome::pid).toList());
        assertEquals(three.outcomes(), seen);
        long bytes = 0;
        for (int i = 0; i < 3; i++) {
            assertEquals(one.outcomes().get(i).getClass(), three.outcomes().get(i).getClass());
            if (three.outcomes().get(i) instanceof Criu2Core.Written w) {
                Path core = w.result().core();
                assertEquals(-1, Files.mismatch(tmp.resolve("one").resolve(core.getFileName()), core), core.toString());
                bytes += w.result().size();
            }
        }
        assertEquals(2, progress.cores.get());
        assertEquals(bytes, progress.planned.get());
        assertEquals(bytes, progress.done.get());
        assertTrue(progress.closed);
    }

    private static final class CountingProgress implements Progress {
        final AtomicInteger cores = new AtomicInteger();
        final AtomicLong planned = new AtomicLong();
        final AtomicLong done = new AtomicLong();
        volatile boolean closed;

        @Override
        public void start(String core, long totalBytes) {
            cores.incrementAndGet();
            planned.addAndGet(totalBytes);
        }

        @Override
        public void advance(long bytes) {
            done.addAndGet(bytes);
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    @Test
    void skippedAndFailedProcessesAreOutcomesToo() throws Exception {
        Path images = Fixtures.copyImages("tree", tmp.resolve("images"));
        Files.write(images.resolve("core-8716.img"), new byte[] {1, 2, 3});
        var report = Criu2Core.convert(images, tmp.resolve("out"), Criu2Core.Options.DEFAULTS.withRoot(tmp));
        assertTrue(!report.allWritten());
        assertInstanceOf(Criu2Core.Written.class, report.outcomes().get(0));
        var failed = assertInstanceOf(Criu2Core.Failed.class, report.outcomes().get(1));
        assertTrue(failed.error().getMessage().startsWith(images.resolve("core-8716.img") + ":0: "), failed.error().getMessage());
        var skipped = assertInstanceOf(Criu2Core.Skipped.class, report.outcomes().get(2));
        assertEquals(8717, skipped.pid());
    }
}
