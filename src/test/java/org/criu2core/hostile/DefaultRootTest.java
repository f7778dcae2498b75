package org.criu2core.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.criu2core.Bytes;
import org.criu2core.KernelCores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Images that name a host file as the executable (so its first page goes into the core, as
 * /etc/shadow would): an archive, which comes from elsewhere, gets no default root and reads no
 * mapped file without --root; a directory keeps / (a checkpoint of this host's processes) and
 * says so.
 */
class DefaultRootTest {
    private static final byte[] MARKER = "HOST-SECRET-MARKER-READ-WITHOUT-A-ROOT".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path tmp;

    /** The real threads case, its executable renamed to a host file of ours, ELF magic and then the marker. */
    private Path images() throws IOException {
        return CaseImages.threadsMappingAHostFile(tmp.resolve("images"), tmp.resolve("host/secret-app"), MARKER).dir();
    }

    private static boolean holdsMarker(Path core) throws IOException {
        return Bytes.indexOf(Files.readAllBytes(core), MARKER) >= 0;
    }

    @Test
    void anArchiveWithoutRootReadsNoMappedFile() throws Exception {
        Path images = images();
        Path archive = Files.write(tmp.resolve("checkpoint.tar"), new Tars.Tar().images(images).end().bytes());
        Path unpack = Files.createDirectories(tmp.resolve("unpack"));
        Path out = tmp.resolve("out");
        var run = KernelCores.cli("convert", "-D", archive.toString(), "-o", out.toString(), "--tmp-dir",
                unpack.toString());
        assertEquals(0, run.status(), run.err());
        assertFalse(holdsMarker(out.resolve("core.8229")), "the host file is not in the core");
        List<String> lines = run.err().lines().toList();
        assertEquals(List.of("warning: " + archive + " is a container checkpoint with no files of its own, and neither "
                + "--root nor --image was given: mapped files are not read, their pages are zeros in the cores (give "
                + "the container's image with --image, or its root filesystem with --root)"),
                lines.stream().filter(l -> l.startsWith("warning")).toList());
        assertEquals("1 core written (" + Files.size(out.resolve("core.8229")) + " bytes), 0 skipped, 0 failed, "
                + "1 warning; mapped files not read (a container checkpoint: give its image with --image, or its root "
                + "filesystem with --root)",
                lines.get(lines.size() - 1));
        assertEquals(List.of("core.8229"), Subprocess.tree(out));
        assertEquals(List.of(), Subprocess.tree(unpack));
        // info and grep read it the same way: the host file is not searched
        var grep = KernelCores.cli("grep", new String(MARKER, StandardCharsets.US_ASCII), archive.toString(),
                "--tmp-dir", unpack.toString());
        assertEquals(1, grep.status(), grep.out());
        assertEquals("", grep.out());
        // debug and stacks hand the root to the debugger too: a container checkpoint without files of its
        // own needs --image or --root
        for (String command : List.of("stacks", "debug")) {
            var refused = KernelCores.cli(command, archive.toString());
            assertEquals(1, refused.status(), refused.err());
            assertEquals(List.of("criu2core: " + archive + ": a container checkpoint without the files the container "
                    + "wrote: give its image with --image, or its root filesystem with --root (the debugger's sysroot, "
                    + "and where mapped files are read)"), refused.err().lines().filter(l -> l.startsWith("criu2core:")).toList());
        }
        // with the container's root, the file is looked up there, where it is not
        var rooted = KernelCores.cli("convert", "-D", archive.toString(), "-o", tmp.resolve("rooted").toString(),
                "--tmp-dir", unpack.toString(), "--root", Files.createDirectories(tmp.resolve("rootfs")).toString());
        assertEquals(0, rooted.status(), rooted.err());
        assertFalse(holdsMarker(tmp.resolve("rooted/core.8229")));
        assertTrue(rooted.err().contains("warning: " + tmp.resolve("host/secret-app").toAbsolutePath() + " is not under "
                + tmp.resolve("rootfs").toRealPath()), rooted.err());
    }

    /** The trust model: a directory is a checkpoint of this host, read under / unless told otherwise. */
    @Test
    void aDirectoryKeepsTheHostsRootAndSaysSo() throws Exception {
        Path images = images();
        Path out = tmp.resolve("out");
        var run = KernelCores.cli("convert", "-D", images.toString(), "-o", out.toString());
        assertEquals(0, run.status(), run.err());
        assertTrue(holdsMarker(out.resolve("core.8229")), "the executable's first page, read under /");
        // which is why a core is for its owner's eyes only, as the kernel makes it
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(out.resolve("core.8229"))));
        assertTrue(run.err().lines().reduce((a, b) -> b).orElseThrow().endsWith("; mapped files read under /"),
                run.err());
    }
}
