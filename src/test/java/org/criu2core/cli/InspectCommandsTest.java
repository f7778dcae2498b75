package org.criu2core.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores.Run;
import org.criu2core.KernelCores;
import org.criu2core.api.Criu2Core;
import org.criu2core.elf.CoreFile;
import org.criu2core.inspect.CoreDiff;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** info, grep, diff and archives from the command line, and the same through the library. */
class InspectCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void infoDescribesTreeMemoryAndFiles() throws Exception {
        Path images = Fixtures.checkpoint("tree").resolve("images");
        Run run = KernelCores.cli("info", images.toString(), "--json");
        assertEquals(0, run.status(), run.err());
        var info = JSON.readTree(run.out());
        var processes = info.get("processes");
        assertEquals(3, processes.size());
        var parent = processes.get(0);
        assertEquals(8714, parent.get("pid").asInt());
        assertEquals("alive", parent.get("state").asText());
        assertEquals("x86_64", parent.get("arch").asText());
        assertEquals("/opt/criu2core/bin/tree", parent.get("commandLine").asText());
        var memory = parent.get("memory");
        assertEquals(26, memory.get("vmas").asInt());
        assertEquals(1, memory.get("byKind").get("memfd").get("vmas").asInt());
        // the pagemap of 8714 lists 35 pages; none in a parent snapshot, none lazy
        assertEquals(35, memory.get("presentPages").asInt());
        assertEquals(0, memory.get("parentPages").asInt());
        assertTrue(parent.get("mappedFiles").toString().contains("/memfd:fixture-memfd (deleted)"));
        assertEquals("dead", processes.get(2).get("state").asText());

        Run table = KernelCores.cli("info", images.toString());
        assertTrue(table.out().contains("8716     8714     alive    x86_64      1        tree             /opt/criu2core/bin/tree"),
                table.out());
    }

    @Test
    void infoCountsPagesInTheParentSnapshot() throws Exception {
        var info = Criu2Core.inspect(Fixtures.checkpoint("incremental").resolve("images"), tmp);
        var memory = info.processes().get(0).memory();
        assertEquals(469, memory.parentPages(), "as ../shared/checkpoints/README.md says");
        assertEquals(648, memory.presentPages());
        assertTrue(info.images().incremental());
    }

    @Test
    void grepFindsTextAndBytesWithTheirVma() {
        Path images = Fixtures.checkpoint("threads").resolve("images");
        Run run = KernelCores.cli("grep", "CRIU2CORE-HEAP-MARKER", images.toString(), "--root", tmp.toString());
        assertEquals(0, run.status(), run.err());
        assertTrue(run.out().lines().anyMatch(l -> l.startsWith("8229 0x559efcd8b2a0  0x559efcd8b000-0x559efcdac000 rw-p [heap]  "
                + "CRIU2CORE-HEAP-MARKER")), run.out());
        Run hex = KernelCores.cli("grep", "--hex", "43 52 49 55 32 43 4f 52 45 2d 48 45 41 50", images.toString(),
                "--root", tmp.toString(), "--max", "1");
        assertEquals(0, hex.status(), hex.err());
        assertEquals(1, hex.out().lines().count(), hex.out());
        Run none = KernelCores.cli("grep", "NOT-IN-THIS-PROCESS-AT-ALL", images.toString(), "--root", tmp.toString());
        assertEquals(1, none.status());
        assertEquals("", none.out());
    }

    @Test
    void diffSaysWhatDiffersAndExitsOneOrZero() throws Exception {
        Path images = Fixtures.checkpoint("tree").resolve("images");
        assertEquals(0, KernelCores.cli("convert", "-D", images.toString(), "-o", tmp.toString(), "-q").status());
        Path a = tmp.resolve("core.8714");
        Run same = KernelCores.cli("diff", a.toString(), a.toString());
        assertEquals(0, same.status());
        assertEquals("match\n", same.out());
        Run other = KernelCores.cli("diff", a.toString(), tmp.resolve("core.8716").toString(), "--json");
        assertEquals(1, other.status());
        var json = JSON.readTree(other.out());
        assertTrue(!json.get("match").asBoolean());
        assertTrue(json.get("differences").toString().contains("threads [8716], expected [8714]"), other.out());
        try (var x = CoreFile.open(a); var y = CoreFile.open(tmp.resolve("core.8716"))) {
            assertEquals(List.of(), CoreDiff.compare(x, x, CoreDiff.Options.EXACT));
            assertTrue(CoreDiff.compare(x, y, CoreDiff.Options.EXACT).contains("NT_PRPSINFO differs"));
        }
    }

    /** A tar.gz (really gzip) and a tar.zst-free plain tar, as podman and Kubernetes write them. */
    private Path archive(String name, boolean gzip, String... extraEntries) throws Exception {
        Path file = tmp.resolve(name);
        try (OutputStream raw = Files.newOutputStream(file);
             OutputStream maybeGz = gzip ? new GZIPOutputStream(raw) : raw;
             var tar = new TarArchiveOutputStream(maybeGz)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            try (Stream<Path> s = Files.list(Fixtures.checkpoint("compat32").resolve("images"))) {
                for (Path p : s.sorted().toList()) {
                    var e = new TarArchiveEntry(p.toFile(), "checkpoint/" + p.getFileName());
                    tar.putArchiveEntry(e);
                    Files.copy(p, tar);
                    tar.closeArchiveEntry();
                }
            }
            for (String extra : extraEntries) {
                var e = new TarArchiveEntry(extra);
                e.setSize(1);
                tar.putArchiveEntry(e);
                tar.write('x');
                tar.closeArchiveEntry();
            }
        }
        return file;
    }

    private List<String> leftovers() throws Exception {
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("criu2core-")).toList();
        }
    }

    @Test
    void archivesConvertLikeTheirDirectoryAndAreCleanedUp() throws Exception {
        List<String> before = leftovers();
        Path dirOut = tmp.resolve("dir");
        assertEquals(0, KernelCores.cli("convert", "-D", Fixtures.checkpoint("compat32").resolve("images").toString(),
                "-o", dirOut.toString(), "-q").status());
        for (boolean gzip : new boolean[] {true, false}) {
            // podman's name says .tar.gz whatever the compression: it is read from the bytes
            Path archive = archive(gzip ? "plain-named.tar" : "gzip-named.tar.gz", gzip, "network.status");
            Path out = tmp.resolve("archive-" + gzip);
            Run run = KernelCores.cli("convert", "-D", archive.toString(), "-o", out.toString(), "-q");
            assertEquals(0, run.status(), run.err());
            assertEquals(-1, Files.mismatch(dirOut.resolve("core.7090"), out.resolve("core.7090")));
            Run info = KernelCores.cli("info", archive.toString(), "--json");
            assertEquals(7090, JSON.readTree(info.out()).get("processes").get(0).get("pid").asInt());
        }
        assertEquals(before, leftovers(), "unpacked archives are removed");
    }

    @Test
    void archiveEntriesThatLeaveTheArchiveAreRefused() throws Exception {
        Path archive = archive("evil.tar", false, "checkpoint/../../escaped");
        Run run = KernelCores.cli("info", archive.toString());
        assertEquals(1, run.status());
        assertEquals("criu2core: " + archive + ": archive entry \"checkpoint/../../escaped\" leads outside the archive\n",
                run.err());
        Path notTar = tmp.resolve("not.tar.zst");
        Files.writeString(notTar, "hello");
        Run bad = KernelCores.cli("convert", "-D", notTar.toString(), "-o", tmp.resolve("o").toString());
        assertEquals(1, bad.status());
        assertEquals("criu2core: " + notTar + ": neither a directory of CRIU images nor a tar archive (plain, gzip or zstd)\n",
                bad.err());
    }

    @Test
    void theRealPodmanArchive() throws Exception {
        Path podman = Fixtures.sharedCase("archives", "podman");
        Path out = tmp.resolve("out");
        var report = Criu2Core.convert(podman.resolve("podman-export.tar.gz"), out,
                Criu2Core.Options.DEFAULTS.withRoot(podman.resolve("root")));
        assertTrue(report.allWritten(), report.toString());
        assertEquals(2, report.outcomes().size(), "sh and sleep");
        Path kernel = KernelCores.unpack(podman, 6, tmp);
        try (var k = CoreFile.open(kernel); var o = CoreFile.open(out.resolve("core.6"));
             var unpacked = org.criu2core.container.CheckpointArchive.open(podman.resolve("podman-export.tar.gz"))) {
            var unknown = KernelCores.unknownContents(podman, unpacked.images(), 6);
            var differences = CoreDiff.compare(k, o, CoreDiff.Options.kernel(unknown));
            // the one difference: clock_nanosleep's `rem` (r10 + 8), which the kernel rewrote when
            // the kill that made its core interrupted the sleep, after CRIU had saved the stack
            assertEquals(List.of("page 0x7fff37fc8000 differs first at byte 2976"), differences);
        }
    }

    @Test
    void completionAndHelpWithExamples() {
        Run completion = KernelCores.cli("generate-completion");
        assertEquals(0, completion.status());
        assertTrue(completion.out().contains("complete -F _complete_criu2core"), completion.out());
        for (String command : List.of("convert", "info", "grep", "diff", "decode", "encode")) {
            Run help = KernelCores.cli(command, "--help");
            assertEquals(0, help.status(), command);
            assertTrue(help.out().contains("Example"), command + " --help has examples");
        }
        assertTrue(KernelCores.cli("--version").out().startsWith("criu2core "));
    }

    /** Main registers only the subcommand named; everything else must still see all of them. */
    @Test
    void helpAndMistakesStillKnowEverySubcommand() {
        List<String> all = List.of("convert", "info", "grep", "diff", "decode", "encode", "generate-completion", "help");
        Run top = KernelCores.cli("--help");
        assertEquals(0, top.status());
        for (String command : all) {
            assertTrue(top.out().contains("  " + command + " "), command + " in --help:\n" + top.out());
        }
        Run help = KernelCores.cli("help", "convert");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("--images-dir"), help.out());
        Run unknown = KernelCores.cli("conver", "-D", "x");
        assertEquals(2, unknown.status());
        assertTrue(unknown.err().contains("Did you mean: criu2core convert"), unknown.err());
        Run none = KernelCores.cli();
        assertEquals(2, none.status());
        assertTrue(none.err().contains("Missing required subcommand"), none.err());
    }
}
