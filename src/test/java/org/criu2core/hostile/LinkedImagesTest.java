package org.criu2core.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint folder whose images are symbolic links to host files (as `tar x` of a crafted
 * archive leaves them) or FIFOs: no image is read through a link, none blocks, and nothing of
 * the host file reaches a core. Each image of the real threads case in turn.
 */
class LinkedImagesTest {
    private static final byte[] MARKER = "HOST-FILE-MARKER-NOT-IN-ANY-CHECKPOINT".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path tmp;
    private Path images;
    private Path out;
    private Path host;

    @BeforeEach
    void setUp() throws IOException {
        images = CaseImages.copy(Fixtures.checkpoint("threads").resolve("images"), tmp.resolve("images"), 8229).dir();
        out = tmp.resolve("out");
        host = Files.createDirectories(tmp.resolve("host"));
    }

    /** A host file as large as the image it replaces, full of the marker, and the image made a link to it. */
    private Path linkToHostFile(String image) throws IOException {
        long size = Files.size(images.resolve(image));
        byte[] bytes = new byte[(int) size];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = MARKER[i % MARKER.length];
        }
        // the host file begins as the real image does, so that only a link check stops it
        byte[] real = Files.readAllBytes(images.resolve(image));
        System.arraycopy(real, 0, bytes, 0, Math.min(real.length, 64));
        Path file = Files.write(host.resolve(image), bytes);
        Files.delete(images.resolve(image));
        return Files.createSymbolicLink(images.resolve(image), file);
    }

    private KernelCores.Run convert(Path checkpoint) {
        return assertTimeoutPreemptively(Duration.ofSeconds(60), () -> KernelCores.cli("convert", "-D",
                checkpoint.toString(), "-o", out.toString(), "--root", Fixtures.checkpoint("threads").resolve("root")
                        .toString()));
    }

    private void refused(KernelCores.Run run, String line) throws IOException {
        assertEquals(1, run.status(), run.err());
        assertEquals(List.of("criu2core: " + line), run.err().lines().filter(l -> l.startsWith("criu2core: ")).toList(),
                run.err());
        assertEquals(List.of(), Subprocess.tree(out), "no core");
    }

    @Test
    void aPagesFileLinkedToAHostFile() throws IOException {
        linkToHostFile("pages-1.img");
        refused(convert(images), images.resolve("pages-1.img") + ": is a symbolic link, not a file");
    }

    @Test
    void everyOtherImageLinkedToAHostFile() throws IOException {
        for (String image : List.of("inventory.img", "pstree.img", "files.img", "mm-8229.img", "core-8233.img",
                "pagemap-8229.img")) {
            images = CaseImages.copy(Fixtures.checkpoint("threads").resolve("images"), tmp.resolve(image), 8229).dir();
            host = Files.createDirectories(tmp.resolve("host-" + image));
            linkToHostFile(image);
            var run = convert(images);
            assertEquals(1, run.status(), image + ": " + run.err());
            assertTrue(run.err().startsWith("criu2core: " + images.resolve(image) + ": is a symbolic link, not a file\n"),
                    image + ": " + run.err());
            assertEquals(List.of(), Subprocess.tree(out), "no core");
        }
    }

    @Test
    void aFifoInPlaceOfAnImageDoesNotBlock() throws Exception {
        for (String image : List.of("mm-8229.img", "pages-1.img")) {
            Files.delete(images.resolve(image));
            assertEquals(0, new ProcessBuilder("mkfifo", images.resolve(image).toString()).start().waitFor());
            var run = convert(images);
            assertEquals(1, run.status(), run.err());
            assertTrue(run.err().startsWith("criu2core: " + images.resolve(image) + ": is not a regular file"),
                    run.err());
            Files.delete(images.resolve(image));
            Files.copy(Fixtures.checkpoint("threads").resolve("images").resolve(image), images.resolve(image));
        }
    }

    /** What `tar x` makes of a crafted archive: the link is kept, and refused. */
    @Test
    void aCheckpointUnpackedWithTarKeepsItsLinks() throws Exception {
        Path secret = Files.write(host.resolve("secret"), MARKER);
        Path tar = tmp.resolve("crafted.tar");
        byte[] crafted = new Tars.Tar().images(images, "pages-1.img")
                .header("checkpoint/pages-1.img", '2', 0, h -> {
                    byte[] target = secret.toString().getBytes(StandardCharsets.UTF_8);
                    System.arraycopy(target, 0, h, 157, target.length);
                }).end().bytes();
        Files.write(tar, crafted);
        Path unpacked = Files.createDirectories(tmp.resolve("unpacked"));
        var untar = new ProcessBuilder("tar", "xf", tar.toString(), "-C", unpacked.toString()).inheritIO().start();
        assumeTrue(untar.waitFor() == 0, "no tar to unpack with");
        Path checkpoint = unpacked.resolve("checkpoint");
        assertTrue(Files.isSymbolicLink(checkpoint.resolve("pages-1.img")));
        refused(convert(checkpoint), checkpoint.resolve("pages-1.img") + ": is a symbolic link, not a file");
        // the same archive given to criu2core itself: the link is not unpacked at all
        var run = KernelCores.cli("convert", "-D", tar.toString(), "-o", out.toString(), "--tmp-dir",
                Files.createDirectories(tmp.resolve("t")).toString());
        assertEquals(1, run.status());
        assertTrue(run.err().contains("pages-1.img: missing from the checkpoint"), run.err());
        assertEquals(List.of(), Subprocess.tree(tmp.resolve("t")));
    }

    /** The parent snapshot of an incremental dump is read through its link, but not its images. */
    @Test
    void aParentSnapshotsImagesLinkedToAHostFile() throws Exception {
        Path incremental = Fixtures.checkpoint("incremental");
        Path pre = CaseImages.copy(incremental.resolve("pre"), tmp.resolve("ckpt/pre"), 205).dir();
        Path dump = CaseImages.copy(incremental.resolve("images"), tmp.resolve("ckpt/images"), 205).dir();
        // the fixture's parent link is flattened into a file naming ../pre, which it copied
        var ok = KernelCores.cli("convert", "-q", "-D", dump.toString(), "-o", tmp.resolve("ok").toString());
        assertEquals(0, ok.status(), ok.err());
        images = pre;
        linkToHostFile("pages-1.img");
        var run = KernelCores.cli("convert", "-D", dump.toString(), "-o", out.toString());
        assertEquals(1, run.status());
        assertTrue(run.err().startsWith("criu2core: " + pre.toRealPath().resolve("pages-1.img")
                + ": is a symbolic link, not a file\n"), run.err());
        assertEquals(List.of(), Subprocess.tree(out));
    }

    /** A ghost image (a file deleted while mapped) linked to a host file: the real vmakinds case. */
    @Test
    void aGhostImageLinkedToAHostFile() throws Exception {
        Path vmakinds = Fixtures.sharedCase("checkpoints", "vmakinds");
        images = CaseImages.copy(vmakinds.resolve("images"), tmp.resolve("vmakinds"), 1255).dir();
        assertTrue(Files.exists(images.resolve("ghost-file-1.img")));
        linkToHostFile("ghost-file-1.img");
        var run = KernelCores.cli("info", images.toString());
        assertEquals(1, run.status());
        assertEquals("criu2core: " + images.resolve("ghost-file-1.img") + ": is a symbolic link, not a file\n",
                run.err());
        assertFalse(run.out().contains(new String(MARKER, StandardCharsets.US_ASCII)));
    }
}
