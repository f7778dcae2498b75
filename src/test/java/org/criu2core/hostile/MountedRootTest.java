package org.criu2core.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.criu2core.Bytes;
import org.criu2core.KernelCores;
import org.criu2core.container.CheckpointArchive;
import org.criu2core.container.RootFs;
import org.criu2core.core.ProcessNotes;
import org.criu2core.mount.CheckpointCores;
import org.criu2core.mount.CheckpointMount;
import org.criu2core.sys.FuseMount;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads through a mount look files up as convert does (the trust model of docs/robustness.md):
 * images that name a host file as the executable, and a root whose copy of it is an absolute link
 * out of the root, get none of the host file into the mounted core, which is convert's byte for
 * byte.
 */
class MountedRootTest {
    private static final byte[] MARKER = "HOST-SECRET-MARKER-READ-THROUGH-A-MOUNT".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path tmp;

    @Test
    void aLinkOutOfTheRootReadsAsHolesThroughTheMount() throws Exception {
        Assumptions.assumeTrue(FuseMount.unavailable().isEmpty(),
                () -> "skipped: FUSE is not available here: " + FuseMount.unavailable().orElse(""));
        Path secret = tmp.resolve("host/secret-app");
        // the executable is named by the host file's path; inside the root that path is a link to it
        var images = CaseImages.threadsMappingAHostFile(tmp.resolve("images"), secret, MARKER);
        Path root = Files.createDirectories(tmp.resolve("rootfs"));
        Path inRoot = root.resolve(secret.toAbsolutePath().toString().substring(1));
        Files.createDirectories(inRoot.getParent());
        Files.createSymbolicLink(inRoot, secret.toAbsolutePath());

        Path out = tmp.resolve("out");
        var run = KernelCores.cli("convert", "-q", "-D", images.dir().toString(), "-o", out.toString(), "--root",
                root.toString());
        assertEquals(0, run.status(), run.err());
        Path dir = Files.createDirectory(tmp.resolve("mnt"));
        var cores = CheckpointCores.open(images.dir(), new CheckpointCores.Options(root, 0x33, List.of(),
                CheckpointArchive.Limits.DEFAULTS, ProcessNotes.DEFAULT_FILE_NOTE_LIMIT, RootFs.DEFAULT_LOOKUP_TIME));
        try (var mount = CheckpointMount.mount(cores, dir, (f, o, e) -> {
            throw new AssertionError(f + " at " + o, e);
        })) {
            Path core = dir.resolve("core.8229");
            assertEquals(-1, Files.mismatch(out.resolve("core.8229"), core));
            assertFalse(Bytes.indexOf(Files.readAllBytes(core), MARKER) >= 0, "the host file is not in the core");
            assertTrue(cores.rootFs().missing().contains(secret.toAbsolutePath().toString()),
                    cores.rootFs().missing().toString());
        }
    }
}
