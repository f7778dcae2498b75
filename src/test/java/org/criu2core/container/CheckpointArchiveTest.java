package org.criu2core.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The forms a container checkpoint comes in besides podman's plain archive. */
class CheckpointArchiveTest {
    @TempDir
    Path tmp;

    /**
     * `podman container checkpoint --with-previous --export`: the parent snapshot under
     * pre-checkpoint/, and checkpoint/parent a link to it, as CRIU's --prev-images-dir made it.
     */
    @Test
    void anArchiveWithItsParentSnapshot() throws Exception {
        Path incremental = Fixtures.checkpoint("incremental");
        Path archive = tmp.resolve("with-previous.tar");
        try (var tar = new TarArchiveOutputStream(Files.newOutputStream(archive))) {
            add(tar, incremental.resolve("images"), "./checkpoint/");
            add(tar, incremental.resolve("pre"), "./pre-checkpoint/");
            var link = new TarArchiveEntry("./checkpoint/parent", TarConstants.LF_SYMLINK);
            link.setLinkName("../pre-checkpoint");
            tar.putArchiveEntry(link);
            tar.closeArchiveEntry();
        }
        // the same root for both: a directory of images has the host's by default, an archive none
        String root = Files.createDirectories(tmp.resolve("root")).toString();
        var fromDirectory = KernelCores.cli("convert", "-q", "-D", incremental.resolve("images").toString(), "-o",
                tmp.resolve("dir").toString(), "--root", root);
        assertEquals(0, fromDirectory.status(), fromDirectory.err());
        var fromArchive = KernelCores.cli("convert", "-q", "-D", archive.toString(), "-o", tmp.resolve("tar").toString(),
                "--root", root);
        assertEquals(0, fromArchive.status(), fromArchive.err());
        assertEquals(-1, Files.mismatch(tmp.resolve("dir/core.205"), tmp.resolve("tar/core.205")),
                "469 pages come from the parent snapshot");
    }

    private static void add(TarArchiveOutputStream tar, Path dir, String prefix) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                if (f.getFileName().toString().equals("parent")) {
                    continue;
                }
                var e = new TarArchiveEntry(prefix + f.getFileName());
                e.setSize(Files.size(f));
                tar.putArchiveEntry(e);
                Files.copy(f, tar);
                tar.closeArchiveEntry();
            }
        }
    }

    /** An archive someone unpacked with tar: its folder is read where it is, its files too. */
    @Test
    void anArchiveUnpackedIntoAFolder() throws Exception {
        Path shared = Fixtures.sharedCase("archives", "podman-image");
        Path folder = Files.createDirectories(tmp.resolve("unpacked"));
        var tar = new ProcessBuilder("tar", "--zstd", "-xf", shared.resolve("podman-export.tar.zst").toAbsolutePath()
                .toString(), "-C", folder.toString()).redirectErrorStream(true).start();
        assertEquals(0, tar.waitFor(), new String(tar.getInputStream().readAllBytes()));
        var info = KernelCores.cli("info", folder.toString(), "--cache-dir", tmp.resolve("cache").toString());
        assertEquals(0, info.status(), info.err());
        assertTrue(info.out().contains("container   c2c-imgapp-a, made by podman"), info.out());
        var grep = KernelCores.cli("grep", "C2C-PLUGIN-MARKER-A", folder.toString(), "--pid", "9", "--cache-dir",
                tmp.resolve("cache").toString());
        assertEquals(0, grep.status(), grep.err());
        assertTrue(grep.out().contains("/var/lib/app/plugin-live.so"), "the container's own file, from its diff");
        try (Stream<Path> left = Files.list(folder)) {
            assertEquals(List.of("artifacts", "checkpoint", "config.dump", "ctr.log", "deleted.files",
                    "devshm-checkpoint.tar", "network.status", "rootfs-diff.tar", "spec.dump", "stats-dump"),
                    left.map(p -> p.getFileName().toString()).sorted().toList(), "read, not changed");
        }
    }
}
