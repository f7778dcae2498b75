package org.criu2core.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConvertCommandTest {
    @TempDir
    Path tmp;

    private static List<String> files(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void oneCorePerLivingProcessAndTheDeadOneSaysWhy() throws Exception {
        Path images = Fixtures.checkpoint("tree").resolve("images");
        var run = KernelCores.cli("convert", "-i", images.toString(), "--out", tmp.toString());
        assertEquals(0, run.status(), run.err());
        assertEquals(List.of("core.8714", "core.8716"), files(tmp), "no temporary files are left");
        assertTrue(run.err().contains("process 8717 (tree): dead, no memory image; no core"), run.err());
        assertTrue(run.err().contains("core.8714: x86_64, 1 thread, 26 segments, 847872 bytes"), run.err());
        // the files the processes mapped are not on this machine: one warning each
        assertTrue(run.err().matches("(?s).*\n2 cores written \\(1695744 bytes\\), 1 skipped, 0 failed, \\d+ warnings?; "
                + "mapped files read under /\n"), run.err());
    }

    @Test
    void onlyTheNamedProcesses() throws Exception {
        Path images = Fixtures.checkpoint("tree").resolve("images");
        var run = KernelCores.cli("convert", "-D", images.toString(), "-o", tmp.toString(), "--pid", "8716", "-q");
        assertEquals(0, run.status(), run.err());
        assertEquals("", run.err());
        assertEquals(List.of("core.8716"), files(tmp));
    }

    /** Lines come in tree order whatever order the cores finish in; -j 0 is a usage error. */
    @Test
    void jobsKeepTheLinesInTreeOrder() throws Exception {
        Path images = Fixtures.checkpoint("tree").resolve("images");
        var one = KernelCores.cli("convert", "-D", images.toString(), "-o", tmp.resolve("one").toString(), "-j", "1");
        var three = KernelCores.cli("convert", "-D", images.toString(), "-o", tmp.resolve("three").toString(), "--jobs", "3");
        assertEquals(0, three.status(), three.err());
        assertEquals(one.err().replace("/one/", "/three/"), three.err());
        var zero = KernelCores.cli("convert", "-D", images.toString(), "-o", tmp.toString(), "-j", "0");
        assertEquals(2, zero.status());
        assertTrue(zero.err().startsWith("--jobs must be at least 1, not 0"), zero.err());
        assertEquals(List.of("one", "three"), files(tmp));
    }

    @Test
    void anUnknownPidIsAnError() {
        Path images = Fixtures.checkpoint("tree").resolve("images");
        var run = KernelCores.cli("convert", "-D", images.toString(), "-o", tmp.toString(), "--pid", "9999");
        assertEquals(1, run.status());
        assertEquals("criu2core: " + images.resolve("pstree.img") + ": no process 9999 in the checkpoint\n", run.err());
    }

    @Test
    void aMissingDirectoryIsAnError() {
        var run = KernelCores.cli("convert", "-D", tmp.resolve("nope").toString(), "-o", tmp.toString());
        assertEquals(1, run.status());
        assertEquals("criu2core: " + tmp.resolve("nope") + ": no such directory or archive\n", run.err());
    }

    @Test
    void aFailedConversionLeavesTheOldCoreAndNoPartialFile() throws Exception {
        Path images = Fixtures.copyImages("threads", tmp.resolve("images"));
        Path pages = images.resolve("pages-1.img");
        byte[] all = Files.readAllBytes(pages);
        Files.write(pages, java.util.Arrays.copyOf(all, all.length / 2));
        Path out = tmp.resolve("out");
        Files.createDirectories(out);
        byte[] old = "an older core".getBytes();
        Files.write(out.resolve("core.8229"), old);
        var run = KernelCores.cli("convert", "-D", images.toString(), "-o", out.toString());
        assertEquals(1, run.status());
        assertTrue(run.err().startsWith("criu2core: " + images.resolve("pagemap-8229.img") + ":"), run.err());
        assertTrue(run.err().endsWith("0 cores written (0 bytes), 0 skipped, 1 failed, 0 warnings; mapped files read "
                + "under /\n"), run.err());
        assertTrue(run.err().contains("pages-1.img, which has " + all.length / 2 + " bytes"), run.err());
        assertArrayEquals(old, Files.readAllBytes(out.resolve("core.8229")));
        assertEquals(List.of("core.8229"), files(out));
    }

    @Test
    void oneBrokenProcessDoesNotLoseTheOthers() throws Exception {
        Path images = Fixtures.copyImages("tree", tmp.resolve("images"));
        byte[] mm = Files.readAllBytes(images.resolve("mm-8714.img"));
        Files.write(images.resolve("mm-8714.img"), java.util.Arrays.copyOf(mm, 40));
        Path out = tmp.resolve("out");
        var run = KernelCores.cli("convert", "-D", images.toString(), "-o", out.toString());
        assertEquals(1, run.status());
        assertTrue(run.err().startsWith("criu2core: " + images.resolve("mm-8714.img") + ":8: entry 0: size "), run.err());
        assertTrue(run.err().contains("core.8716: x86_64"), run.err());
        assertTrue(run.err().matches("(?s).*\n1 core written \\(847872 bytes\\), 1 skipped, 1 failed, \\d+ warnings?; "
                + "mapped files read under /\n"), run.err());
        assertEquals(List.of("core.8716"), files(out));
    }
}
