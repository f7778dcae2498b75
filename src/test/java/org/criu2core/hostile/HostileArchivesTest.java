package org.criu2core.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.ZstdInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.criu2core.container.CheckpointArchive;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Container checkpoint archives crafted to exhaust disk, inodes, memory or time, each made at run
 * time around the real images of a case: every one ends in one line naming the archive, exit
 * status 1, nothing in the output folder and nothing left in the temporary folder, in bounded
 * time and a small heap.
 */
class HostileArchivesTest {
    /** Far more than any of these runs needs, and far less than what the attacks took. */
    private static final Duration TIME = Duration.ofSeconds(60);
    private static final int HEAP_MIB = 96;

    @TempDir
    Path tmp;
    private Path tmpDir;
    private Path out;
    private Path images;

    @BeforeEach
    void setUp() throws IOException {
        tmpDir = Files.createDirectories(tmp.resolve("unpack"));
        out = tmp.resolve("out");
        images = Fixtures.checkpoint("compat32").resolve("images");
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(tmp.resolve(name), bytes);
    }

    private Subprocess.Run convert(Path archive, String... more) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of("convert", "-D", archive.toString(), "-o", out.toString(),
                "--tmp-dir", tmpDir.toString()));
        args.addAll(List.of(more));
        return Subprocess.criu2core(HEAP_MIB, TIME, args.toArray(String[]::new));
    }

    /** Exit 1, exactly {@code line}, no core, nothing left unpacked, well inside the time bound. */
    private void refused(Subprocess.Run run, String line) throws IOException {
        assertEquals(1, run.status(), run.err());
        assertEquals(List.of("criu2core: " + line), run.errors(), run.err());
        assertEquals(List.of(), Subprocess.tree(out), "no core, no temporary core");
        assertEquals(List.of(), Subprocess.tree(tmpDir), "nothing left unpacked");
        assertTrue(run.time().compareTo(Duration.ofSeconds(30)) < 0, "took " + run.time());
    }

    @Test
    void aZstdBombStopsAtTheLimitBeforeWritingIt() throws Exception {
        long huge = 16L << 30;
        byte[] tar = new Tars.Tar().images(images).header("checkpoint/pages-9.img", '0', huge, null).bytes();
        var frame = new Tars.ZstdFrame(20).raw(tar).repeat((byte) 0, huge).raw(new byte[2 * Tars.BLOCK]);
        Path archive = write("bomb.tar.zst", frame.bytes());
        assertTrue(Files.size(archive) < 1 << 20, "16 GiB in " + Files.size(archive) + " bytes");
        refused(convert(archive, "--max-unpack", "256M"), archive + ": archive entry \"checkpoint/pages-9.img\": "
                + "unpacking it would pass 268435456 bytes (--max-unpack allows more)");
    }

    @Test
    void anEntryLargerThanTheFreeSpaceIsRefused() throws Exception {
        long free = Files.getFileStore(tmpDir).getUsableSpace();
        byte[] tar = new Tars.Tar().images(images).header("checkpoint/pages-9.img", '0', free + 1, null)
                .data(new byte[4096]).bytes();
        Path archive = write("big.tar", tar);
        var run = convert(archive, "--max-unpack", Long.toString(Long.MAX_VALUE));
        assertEquals(1, run.status(), run.err());
        assertEquals(1, run.errors().size(), run.err());
        String prefix = "criu2core: " + archive + ": archive entry \"checkpoint/pages-9.img\" of " + (free + 1)
                + " bytes does not fit in " + tmpDir + ", which has ";
        assertTrue(run.errors().get(0).startsWith(prefix) && run.errors().get(0).endsWith(
                " bytes free beyond its reserve (--tmp-dir chooses another folder)"), run.err());
        refused(run, run.errors().get(0).substring("criu2core: ".length()));
    }

    /** GNU's old sparse format and pax 1.0 (named both ways GNU tar names it): 8 GiB from one stored byte. */
    @Test
    void sparseEntriesAreRefused() throws Exception {
        long real = 8L << 30;
        long at = tarSize(images, "pages-1.img");
        String line = ": archive entry \"checkpoint/pages-1.img\" (at byte %d of the tar) is a sparse file, which "
                + "criu2core does not unpack: make the archive without tar's --sparse";
        byte[] gnu = new Tars.Tar().images(images, "pages-1.img").header("checkpoint/pages-1.img", 'S', 1, h -> {
            System.arraycopy("ustar  \0".getBytes(StandardCharsets.US_ASCII), 0, h, 257, 8);
            Tars.octal(h, 386, 12, real - 1); // one piece: 1 byte at the end
            Tars.octal(h, 398, 12, 1);
            Tars.octal(h, 483, 12, real);
        }).data(new byte[] {1}).end().bytes();
        Path archive = write("gnu-sparse.tar", gnu);
        refused(convert(archive), archive + String.format(line, at));
        byte[] map = "1\n8589934591\n1\n".getBytes(StandardCharsets.US_ASCII);
        byte[] data = java.util.Arrays.copyOf(map, Tars.BLOCK + 1);
        data[Tars.BLOCK] = 1;
        for (String naming : List.of("GNU.sparse.name=checkpoint/pages-1.img", "path=checkpoint/pages-1.img")) {
            byte[] pax = new Tars.Tar().images(images, "pages-1.img").pax("GNU.sparse.major=1", "GNU.sparse.minor=0",
                    naming, "GNU.sparse.realsize=" + real)
                    .header("checkpoint/GNUSparseFile.0/pages-1.img", '0', data.length, null).data(data).end().bytes();
            Path paxArchive = write("pax-sparse.tar", pax);
            refused(convert(paxArchive), paxArchive + String.format(line, at));
        }
    }

    /** Where the entry after the real images starts: each image a header and its padded data. */
    private static long tarSize(Path images, String... except) throws IOException {
        return new Tars.Tar().images(images, except).bytes().length;
    }

    /**
     * 20 files 1000 folders deep (pax names), links, a device and a FIFO named like images: only
     * the flat images are unpacked, no folder is made, and the conversion is the directory's.
     */
    @Test
    void onlyRegularFilesDirectlyUnderCheckpointAreUnpacked() throws Exception {
        var tar = new Tars.Tar().images(images);
        for (int i = 0; i < 20; i++) {
            String deep = "checkpoint/" + "d/".repeat(1000) + "f" + i;
            tar.pax("path=" + deep).file("checkpoint/placeholder", ("deep " + i).getBytes(StandardCharsets.UTF_8));
        }
        tar.header("checkpoint/link.img", '2', 0, h -> h[157] = '/')
                .header("checkpoint/hard.img", '1', 0, h -> System.arraycopy("etc/passwd".getBytes(
                        StandardCharsets.US_ASCII), 0, h, 157, 10))
                .header("checkpoint/device.img", '3', 0, null)
                .header("checkpoint/fifo.img", '6', 0, null)
                .header("checkpoint/dir/", '5', 0, null)
                .file("rootfs-diff.tar", new byte[1000])
                .end();
        Path archive = write("deep.tar", tar.bytes());
        try (var unpacked = CheckpointArchive.open(archive, new CheckpointArchive.Limits(tmpDir, 1L << 30))) {
            List<String> expected;
            try (var s = Files.list(images)) {
                expected = s.map(p -> p.getFileName().toString()).sorted().toList();
            }
            String folder = Subprocess.tree(tmpDir).get(0);
            assertEquals(expected.stream().map(n -> folder + "/checkpoint/" + n).toList(),
                    Subprocess.tree(tmpDir).stream().filter(p -> p.contains("/checkpoint/")).toList());
            assertEquals(List.of(folder, folder + "/checkpoint"), Subprocess.tree(tmpDir).stream()
                    .filter(p -> Files.isDirectory(tmpDir.resolve(p))).toList(), "no folder but checkpoint/");
            for (String name : expected) {
                assertEquals(-1, Files.mismatch(images.resolve(name), unpacked.images().resolve(name)), name);
            }
        }
        assertEquals(List.of(), Subprocess.tree(tmpDir));
        var run = KernelCores.cli("convert", "-q", "-D", archive.toString(), "-o", out.toString(), "--tmp-dir",
                tmpDir.toString());
        assertEquals(0, run.status(), run.err());
        var direct = KernelCores.cli("convert", "-q", "-D", images.toString(), "-o", tmp.resolve("direct").toString());
        assertEquals(0, direct.status(), direct.err());
        assertEquals(-1, Files.mismatch(tmp.resolve("direct/core.7090"), out.resolve("core.7090")));
        assertEquals(List.of(), Subprocess.tree(tmpDir));
    }

    @Test
    void everyEntryCounts() throws Exception {
        var bytes = new ByteArrayOutputStream();
        try (var gz = new GZIPOutputStream(bytes) { { def.setLevel(Deflater.BEST_SPEED); } }) {
            gz.write(new Tars.Tar().images(images).bytes());
            // one header, renamed: "junk/" and 6 digits, the checksum moved by what the digits add
            byte[] header = Tars.headerBlock("junk/000000", '0', 0, null);
            long sum = Long.parseLong(new String(header, 148, 6, StandardCharsets.US_ASCII), 8) - 6 * '0';
            for (int i = 0; i <= CheckpointArchive.MAX_ENTRIES; i++) {
                long digits = 0;
                for (int d = 0, n = i; d < 6; d++, n /= 10) {
                    header[10 - d] = (byte) ('0' + n % 10);
                    digits += header[10 - d];
                }
                byte[] checksum = String.format("%06o", sum + digits).getBytes(StandardCharsets.US_ASCII);
                System.arraycopy(checksum, 0, header, 148, 6);
                gz.write(header);
            }
        }
        Path archive = write("many.tar.gz", bytes.toByteArray());
        refused(convert(archive), archive + ": more than 100000 entries: not a container checkpoint archive");
    }

    @Test
    void paxAndLongNameHeadersAreCappedBeforeTheyAreRead() throws Exception {
        for (char type : new char[] {'x', 'L'}) {
            long gib = 1L << 30;
            byte[] tar = new Tars.Tar().images(images).header("././@LongLink", type, gib, null).bytes();
            byte[] frame = new Tars.ZstdFrame(20).raw(tar).raw("1073741824 path=".getBytes(StandardCharsets.US_ASCII))
                    .repeat((byte) 'a', gib - 17).raw("\n".getBytes(StandardCharsets.US_ASCII))
                    .raw(new Tars.Tar().file("checkpoint/x", new byte[1]).end().bytes()).bytes();
            Path archive = write("header-" + type + ".tar.zst", frame);
            assertTrue(Files.size(archive) < 1 << 20, "1 GiB in " + Files.size(archive) + " bytes");
            refused(convert(archive), archive + ": " + (type == 'x' ? "pax header" : "GNU long name") + " at byte "
                    + tarSize(images) + " of the tar is 1073741824 bytes long, more than the 1048576 bytes criu2core "
                    + "reads");
        }
    }

    /** zstd --long=31: valid zstd whose window passes the bound on memory for it, said plainly. */
    @Test
    void aZstdStreamWithALargeWindowIsOneClearLine() throws Exception {
        byte[] tar = new Tars.Tar().images(images).end().bytes();
        Path tooLarge = write("long-31.tar.zst", Tars.zstdWithWindow(tar, 31));
        assertValidZstd(tooLarge, tar, 31);
        refused(convert(tooLarge), tooLarge + ": not a readable archive: its zstd stream needs a window of "
                + (1L << 31) + " bytes (zstd --long or --ultra made it), and criu2core decodes windows up to "
                + "134217728 bytes: compress it again with a smaller --long");
        // the largest window decoded, zstd --long=27's: converted
        Path archive = write("long-27.tar.zst", Tars.zstdWithWindow(tar, 27));
        assertValidZstd(archive, tar, 27);
        var run = KernelCores.cli("convert", "-q", "-D", archive.toString(), "-o", out.toString(), "--tmp-dir",
                tmpDir.toString());
        assertEquals(0, run.status(), run.err());
        assertEquals(List.of("core.7090"), Subprocess.tree(out));
        assertEquals(List.of(), Subprocess.tree(tmpDir));
    }

    /** zstd's own decoder, where the machine has it, reads the frame back: it is valid zstd. */
    private static void assertValidZstd(Path archive, byte[] content, int log) throws Exception {
        Path zstd = Path.of("/usr/bin/zstd");
        if (!Files.isExecutable(zstd)) {
            return; // the check above is what matters; this one only shows the frame is not broken
        }
        var decoded = new ProcessBuilder(zstd.toString(), "-d", "-c", "--long=" + log, archive.toString()).start();
        byte[] bytes = decoded.getInputStream().readAllBytes();
        assertEquals(0, decoded.waitFor(), new String(decoded.getErrorStream().readAllBytes()));
        assertEquals(-1, java.util.Arrays.mismatch(content, bytes), "zstd decodes the frame to the tar");
    }

    @Test
    void aTarCutShortSaysTruncated() throws Exception {
        byte[] tar = new Tars.Tar().images(images).end().bytes();
        long firstSize = Long.parseLong(new String(tar, 124, 11, StandardCharsets.US_ASCII), 8);
        int header = (int) (Tars.BLOCK + (firstSize + Tars.BLOCK - 1) / Tars.BLOCK * Tars.BLOCK); // the second entry's
        assertTrue(new String(tar, header + 257, 5, StandardCharsets.US_ASCII).equals("ustar"));
        Path cutInHeader = write("cut-header.tar", java.util.Arrays.copyOf(tar, header + 300));
        refused(convert(cutInHeader), cutInHeader + ": truncated: the archive ends at byte " + (header + 300)
                + " of the tar, inside a header");
        Path cutInData = write("cut-data.tar", java.util.Arrays.copyOf(tar, header + Tars.BLOCK + 10));
        String name = new String(tar, header, 100, StandardCharsets.US_ASCII).replace("\0", "");
        long size = Long.parseLong(new String(tar, header + 124, 11, StandardCharsets.US_ASCII), 8);
        refused(convert(cutInData), cutInData + ": archive entry \"" + name + "\" is truncated: the archive ends at "
                + "byte " + (header + Tars.BLOCK + 10) + " of the tar, 10 bytes into its " + size + " bytes of data");
        var gz = new ByteArrayOutputStream();
        try (var out = new GZIPOutputStream(gz)) {
            out.write(tar);
        }
        Path cutGzip = write("cut.tar.gz", java.util.Arrays.copyOf(gz.toByteArray(), gz.size() / 2));
        refused(convert(cutGzip), cutGzip + ": truncated: its compressed stream ends early");
    }

    /** The real podman archive, cut inside the header of its checkpoint/ folder: truncated, not "no images". */
    @Test
    void theRealPodmanArchiveCutInAHeader() throws Exception {
        Path podman = Fixtures.sharedCase("archives", "podman");
        byte[] tar;
        try (var in = new ZstdInputStream(Files.newInputStream(podman.resolve("podman-export.tar.gz")))) {
            tar = in.readAllBytes();
        }
        int at = indexOf(tar, "checkpoint/core-1.img");
        Path cut = write("podman-cut.tar", java.util.Arrays.copyOf(tar, at + 200));
        refused(convert(cut), cut + ": truncated: the archive ends at byte " + (at + 200) + " of the tar, inside a "
                + "header");
    }

    private static int indexOf(byte[] bytes, String text) {
        byte[] t = text.getBytes(StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i + t.length <= bytes.length; i += Tars.BLOCK) {
            for (int j = 0; j < t.length; j++) {
                if (bytes[i + j] != t[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError(text + " is not a header's name");
    }

    /**
     * Out of memory, on purpose: heaps of 3 to 6 MiB run out at one point or another of reading
     * the command line, unpacking the real threads archive, converting and reporting. Whatever
     * the point, the error is one line, the unpack folder is gone, and a core is whole or absent.
     */
    @Test
    void outOfMemoryLeavesNothingBehind() throws Exception {
        Path archive = write("threads.tar", new Tars.Tar().images(Fixtures.checkpoint("threads").resolve("images"))
                .end().bytes());
        var whole = KernelCores.cli("convert", "-q", "-D", archive.toString(), "-o", tmp.resolve("whole").toString(),
                "--tmp-dir", tmpDir.toString());
        assertEquals(0, whole.status(), whole.err());
        long size = Files.size(tmp.resolve("whole/core.8229"));
        int outOfMemory = 0;
        for (int heap = 3; heap <= 6; heap++) {
            Path into = tmp.resolve("out-" + heap);
            var run = Subprocess.criu2core(heap, TIME, "convert", "-q", "-D", archive.toString(), "-o",
                    into.toString(), "--tmp-dir", tmpDir.toString());
            assertEquals(List.of(), Subprocess.tree(tmpDir), heap + " MiB: " + run.err());
            for (String name : Subprocess.tree(into)) {
                assertEquals("core.8229", name, heap + " MiB");
                assertEquals(size, Files.size(into.resolve(name)), heap + " MiB: a whole core");
            }
            if (run.status() != 0) {
                assertEquals(List.of("criu2core: out of memory: run the JVM with more heap (JAVA_OPTS=-Xmx1g "
                        + "src/bin/criu2core ...)"), run.errors(), run.err());
                assertEquals(1, run.err().lines().count(), run.err());
                outOfMemory++;
            }
        }
        assertTrue(outOfMemory > 0, "no run ran out of memory: this JVM needs smaller heaps to test this");
    }

    @Test
    void aMissingTemporaryFolderIsOneLine() throws Exception {
        Path archive = write("ok.tar", new Tars.Tar().images(images).end().bytes());
        Path none = tmp.resolve("no-such-folder");
        var run = KernelCores.cli("convert", "-D", archive.toString(), "-o", out.toString(), "--tmp-dir",
                none.toString());
        assertEquals(1, run.status());
        assertEquals("criu2core: " + none + ": no such directory (to unpack " + archive + " into; --tmp-dir chooses "
                + "another)\n", run.err());
        assertEquals(List.of(), Subprocess.tree(out));
    }

    @Test
    void theLimitsAreInTheHelp() {
        var help = KernelCores.cli("convert", "--help");
        for (String option : List.of("--tmp-dir", "--max-unpack", "--file-note-limit", "--lookup-time", "--root")) {
            assertTrue(help.out().contains(option), option);
        }
    }
}
