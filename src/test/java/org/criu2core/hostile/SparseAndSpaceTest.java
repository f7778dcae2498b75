package org.criu2core.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.criu2core.Fixtures;
import org.criu2core.elf.CoreFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Disk: a sparse file under --root mapped by one area with a saved page makes a core of a GiB
 * whose holes stay holes; a core that needs more than the output filesystem has free is refused
 * before it is written, with the file named; "No space left on device" names the file too.
 */
class SparseAndSpaceTest {
    private static final long GIB = 1L << 30;
    private static final byte[] MARKER = "DATA-IN-THE-MIDDLE-OF-A-SPARSE-FILE".getBytes(StandardCharsets.US_ASCII);
    private static final Duration TIME = Duration.ofSeconds(120);

    @TempDir
    Path tmp;

    private Path root() {
        return Fixtures.checkpoint("threads").resolve("root");
    }

    /** The real threads case and a copy of its root with a 1 GiB sparse file, one page of data at 512 MiB. */
    private Path[] sparseCase() throws IOException {
        Path root = tmp.resolve("root");
        Fixtures.copyTree(root(), root);
        Path sparse = root.resolve("srv/sparse.dat");
        try (var f = new RandomAccessFile(sparse.toFile(), "rw")) {
            f.setLength(GIB);
            f.seek(GIB / 2);
            f.write(MARKER);
        }
        var images = CaseImages.copy(Fixtures.checkpoint("threads").resolve("images"), tmp.resolve("images"), 8229);
        int id = images.addFile("/srv/sparse.dat", 0100644, GIB);
        long[] gap = images.largestGap();
        long start = (gap[0] + GIB) & -GIB;
        assertTrue(start + 2 * GIB < gap[1]);
        images.addVmas(List.of(CaseImages.fileVma(start, start + GIB, id)));
        // one page written by the process: the whole area is dumped, the rest read from the file
        images.savePage(start, "THE-ONE-SAVED-PAGE".getBytes(StandardCharsets.US_ASCII));
        return new Path[] {images.dir(), root, Path.of(Long.toUnsignedString(start))};
    }


    private static long allocated(Path file) throws Exception {
        var stat = new ProcessBuilder("stat", "-c", "%b %B", file.toString()).start();
        String[] f = new String(stat.getInputStream().readAllBytes()).trim().split(" ");
        assertEquals(0, stat.waitFor());
        return Long.parseLong(f[0]) * Long.parseLong(f[1]);
    }

    @Test
    void aSparseMappedFileStaysSparse() throws Exception {
        Path[] c = sparseCase();
        Path out = tmp.resolve("out");
        var run = Subprocess.criu2core(128, TIME, "convert", "-D", c[0].toString(), "-o", out.toString(), "--root",
                c[1].toString());
        assertEquals(0, run.status(), run.err());
        Path core = out.resolve("core.8229");
        assertTrue(Files.size(core) > GIB, "a core of more than a GiB");
        assertTrue(allocated(core) < 16 << 20, allocated(core) + " bytes allocated");
        long start = Long.parseUnsignedLong(c[2].toString());
        try (var f = CoreFile.open(core)) {
            assertEquals("THE-ONE-SAVED-PAGE", new String(f.bytesAt(start, 18), StandardCharsets.US_ASCII));
            assertEquals(new String(MARKER, StandardCharsets.US_ASCII),
                    new String(f.bytesAt(start + GIB / 2, MARKER.length), StandardCharsets.US_ASCII));
        }
        assertTrue(run.time().compareTo(Duration.ofSeconds(60)) < 0, "took " + run.time());
    }

    /** Into a tmpfs of 16 MiB: the 1 GiB core needs a few KiB of it, and is written. */
    @Test
    void theFreeSpaceCheckCountsOnlyWhatIsWritten() throws Exception {
        Path[] c = sparseCase();
        Path out = Files.createDirectories(tmp.resolve("small"));
        var result = Subprocess.inTmpfs(out, "size=16m", convert(c[0], out, c[1]), TIME);
        assertEquals(0, result.run().status(), result.run().err());
        assertEquals(List.of("core.8229"), result.left());
    }

    private static List<String> convert(Path images, Path out, Path root, String... more) {
        List<String> command = new ArrayList<>(Subprocess.java(128));
        command.addAll(List.of("convert", "-D", images.toString(), "-o", out.toString(), "--root", root.toString()));
        command.addAll(List.of(more));
        return command;
    }

    /** The real threads core needs some 540 KiB of its 18 MiB: into 256 KiB it is refused before writing. */
    @Test
    void aCoreThatDoesNotFitIsRefusedBeforeItIsWritten() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("tiny"));
        var result = Subprocess.inTmpfs(out, "size=256k", convert(Fixtures.checkpoint("threads").resolve("images"),
                out, root()), TIME);
        var run = result.run();
        assertEquals(1, run.status(), run.err());
        assertEquals(1, run.errors().size(), run.err());
        assertTrue(run.errors().get(0).matches("criu2core: " + java.util.regex.Pattern.quote(out.resolve("core.8229")
                .toString()) + ": needs \\d+ bytes on disk \\(of 18354176, the rest holes\\), and "
                + java.util.regex.Pattern.quote(out.toString()) + " has \\d+ bytes free"), run.errors().get(0));
        assertEquals(List.of(), result.left(), "not even a temporary file");
    }

    /** A filesystem out of inodes says "No space left on device": of which file, now. */
    @Test
    void noSpaceLeftNamesTheFile() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("noinodes"));
        var result = Subprocess.inTmpfs(out, "size=64m,nr_inodes=1", convert(Fixtures.checkpoint("threads")
                .resolve("images"), out, root()), TIME);
        assertEquals(1, result.run().status(), result.run().err());
        assertEquals(List.of("criu2core: " + out.resolve("core.8229") + ": cannot be written: No space left on device"),
                result.run().errors());
        assertEquals(List.of(), result.left());
        // unpacking: the folder and checkpoint/ take the two inodes there are
        byte[] tar = new Tars.Tar().images(Fixtures.checkpoint("compat32").resolve("images")).end().bytes();
        Path archive = Files.write(tmp.resolve("checkpoint.tar"), tar);
        Path unpack = Files.createDirectories(tmp.resolve("unpack"));
        List<String> command = new ArrayList<>(Subprocess.java(128));
        command.addAll(List.of("convert", "-D", archive.toString(), "-o", tmp.resolve("o").toString(), "--tmp-dir",
                unpack.toString()));
        var unpacking = Subprocess.inTmpfs(unpack, "size=64m,nr_inodes=3", command, TIME);
        assertEquals(1, unpacking.run().status(), unpacking.run().err());
        assertEquals(1, unpacking.run().errors().size(), unpacking.run().err());
        String first;
        try (var s = Files.list(Fixtures.checkpoint("compat32").resolve("images"))) {
            first = s.map(p -> p.getFileName().toString()).sorted().findFirst().orElseThrow();
        }
        assertTrue(unpacking.run().errors().get(0).matches("criu2core: " + java.util.regex.Pattern.quote(
                unpack.toString()) + "/criu2core-[0-9a-z]+/checkpoint/" + java.util.regex.Pattern.quote(first)
                + ": cannot be unpacked: No space left on device"), unpacking.run().err());
        assertEquals(List.of(), unpacking.left(), "the unpacked folder is removed");
    }
}
