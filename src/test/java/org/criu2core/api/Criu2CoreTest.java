package org.criu2core.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.criu2core.Fixtures;
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
