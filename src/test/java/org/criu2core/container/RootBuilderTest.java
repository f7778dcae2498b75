package org.criu2core.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.criu2core.image.CheckpointException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each OCI layer rule, and each way a hostile layer could lead out of the root, on layers written here. */
class RootBuilderTest {
    @TempDir
    Path tmp;
    Path root;
    /** Beside the root: what a layer that escaped would write or remove. */
    Path outside;

    @BeforeEach
    void setUp() throws IOException {
        root = Files.createDirectory(tmp.resolve("root"));
        outside = Files.createDirectory(tmp.resolve("outside"));
        Files.writeString(outside.resolve("secret"), "host file");
    }

    private RootBuilder builder() throws IOException {
        return new RootBuilder(root, RootBuilder.Limits.DEFAULTS);
    }

    private static void apply(RootBuilder b, Layer layer, String name) throws IOException {
        b.applyLayer(new ByteArrayInputStream(layer.bytes()), name, null);
    }

    private List<String> tree() throws IOException {
        try (Stream<Path> all = Files.walk(root)) {
            return all.filter(p -> !p.equals(root)).map(p -> root.relativize(p).toString()).sorted().toList();
        }
    }

    @Test
    void layersApplyInOrderAndLaterOnesReplace() throws IOException {
        var b = builder();
        apply(b, new Layer().dir("etc").file("etc/os-release", "one").file("etc/keep", "kept")
                .file("bin/tool", "tool v1"), "layer 1");
        apply(b, new Layer().file("etc/os-release", "two").dir("etc/os-release.d"), "layer 2");
        apply(b, new Layer().file("etc/os-release.d", "a file where a folder was"), "layer 3");
        b.finish();
        assertEquals("two", Files.readString(root.resolve("etc/os-release")));
        assertEquals("kept", Files.readString(root.resolve("etc/keep")));
        assertEquals("a file where a folder was", Files.readString(root.resolve("etc/os-release.d")));
        // bin/ had no entry of its own: made for its file
        assertEquals(List.of("bin", "bin/tool", "etc", "etc/keep", "etc/os-release", "etc/os-release.d"), tree());
    }

    @Test
    void aWhiteoutRemovesFromLowerLayersOnly() throws IOException {
        var b = builder();
        apply(b, new Layer().file("etc/removed", "x").file("etc/readded", "old").dir("var/cache")
                .file("var/cache/a", "a"), "layer 1");
        // the whiteout of etc/readded comes after this layer's own etc/readded: that one stays; the
        // whiteout of var/cache comes before this layer's var/cache/b: the folder goes, b is made anew
        apply(b, new Layer().whiteout("etc", "removed").file("etc/readded", "new").whiteout("etc", "readded")
                .whiteout("var", "cache").file("var/cache/b", "b"), "layer 2");
        b.finish();
        assertFalse(Files.exists(root.resolve("etc/removed"), LinkOption.NOFOLLOW_LINKS));
        assertEquals("new", Files.readString(root.resolve("etc/readded")));
        assertEquals(List.of("etc", "etc/readded", "var", "var/cache", "var/cache/b"), tree());
    }

    @Test
    void anOpaqueFolderKeepsOnlyItsOwnLayersFiles() throws IOException {
        var b = builder();
        apply(b, new Layer().file("opt/app/old-1", "1").file("opt/app/old-2", "2").file("opt/other", "o"), "layer 1");
        apply(b, new Layer().file("opt/app/new-before", "b").opaque("opt/app").file("opt/app/new-after", "a"),
                "layer 2");
        b.finish();
        assertEquals(List.of("opt", "opt/app", "opt/app/new-after", "opt/app/new-before", "opt/other"), tree());
    }

    @Test
    void linksAreRewrittenToLeadWhereTheyLeadInsideTheRoot() throws IOException {
        var b = builder();
        apply(b, new Layer().symlink("lib", "usr/lib").symlink("lib64", "usr/lib64")
                .file("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "ld.so")
                .symlink("usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
                .symlink("etc/escape", "../../../../" + outside.getFileName() + "/secret")
                .symlink("etc/absolute-out", outside.resolve("secret").toString())
                .symlink("etc/dangling", "/nonexistent/../../x"), "layer");
        b.finish();
        // Debian's absolute interpreter link: relative now, to the container's ld.so
        Path interp = root.resolve("lib64/ld-linux-x86-64.so.2");
        assertEquals("../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", Files.readSymbolicLink(
                root.resolve("usr/lib64/ld-linux-x86-64.so.2")).toString());
        assertEquals("ld.so", Files.readString(interp));
        assertEquals(root.resolve("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2").toRealPath(), interp.toRealPath());
        // ".." stops at the root, as inside the container: none of these reaches the host's file
        for (String link : List.of("etc/escape", "etc/absolute-out", "etc/dangling")) {
            Path target = root.resolve(link);
            Path real = target.getParent().resolve(Files.readSymbolicLink(target)).normalize();
            assertTrue(real.startsWith(root), link + " leads to " + real);
        }
        assertEquals("../" + outside.getFileName() + "/secret", Files.readSymbolicLink(root.resolve("etc/escape"))
                .toString());
    }

    @Test
    void writesThroughLinksStayInsideTheRoot() throws IOException {
        var b = builder();
        // a link to the host's folder, then files written "through" it
        apply(b, new Layer().symlink("out", outside.toString()).symlink("up", "../../../..")
                .symlink("secret-link", outside.resolve("secret").toString()), "layer 1");
        apply(b, new Layer().file("up/escaped", "escaped?").whiteout("out", "secret")
                .file("secret-link", "replaced link"), "layer 2");
        // out/ leads to a folder the root does not have: no rule of the format makes it
        var e = assertThrows(CheckpointException.class, () -> apply(b, new Layer().file("out/secret", "overwritten?"),
                "layer 3"));
        assertEquals("layer 3: entry \"out/secret\": out is a link to nothing in the root", e.getMessage());
        b.finish();
        assertEquals("host file", Files.readString(outside.resolve("secret")), "the host's file is untouched");
        assertEquals(List.of("secret"), names(outside));
        assertEquals("escaped?", Files.readString(root.resolve("escaped")), "up/ is the root itself");
        assertEquals("replaced link", Files.readString(root.resolve("secret-link")));
        assertFalse(Files.isSymbolicLink(root.resolve("secret-link")), "the entry replaced the link, not its target");
    }

    @Test
    void escapingNamesAreOneLineEach() throws IOException {
        assertRefused(new Layer().file("../escaped", "x"), "layer: entry \"../escaped\" leads outside the root (\"..\")");
        assertRefused(new Layer().file("etc/../../escaped", "x"),
                "layer: entry \"etc/../../escaped\" leads outside the root (\"..\")");
        assertRefused(new Layer().file("etc/.wh...", new byte[0], 0),
                "layer: entry \"etc/.wh...\" is a whiteout of \"..\", which names no file");
        assertRefused(new Layer().hardLink("passwd", "../../" + outside.getFileName() + "/secret"),
                "layer: hard link target \"../../" + outside.getFileName() + "/secret\" leads outside the root (\"..\")");
        assertRefused(new Layer().hardLink("passwd", outside.resolve("secret").toString()),
                "layer: entry \"passwd\" is a hard link to \"" + outside.resolve("secret") + "\", which is no file in "
                        + "the root");
        assertRefused(new Layer().symlink("out", outside.toString()).hardLink("passwd", "out/secret"),
                "layer: entry \"passwd\" is a hard link to \"out/secret\", which is no file in the root");
        assertEquals("host file", Files.readString(outside.resolve("secret")));
        assertEquals(1, Files.getAttribute(outside.resolve("secret"), "unix:nlink"), "no hard link to the host file");
    }

    private void assertRefused(Layer layer, String message) throws IOException {
        var b = builder();
        var e = assertThrows(CheckpointException.class, () -> apply(b, layer, "layer"));
        assertEquals(message, e.getMessage());
        assertEquals(List.of("secret"), names(outside));
    }

    @Test
    void hardLinksInsideTheRootAreLinks() throws IOException {
        var b = builder();
        apply(b, new Layer().file("usr/bin/busybox", "busybox"), "layer 1");
        apply(b, new Layer().symlink("bin", "usr/bin").hardLink("usr/bin/sh", "usr/bin/busybox")
                .hardLink("usr/bin/ls", "/bin/busybox"), "layer 2");
        b.finish();
        assertEquals(3, Files.getAttribute(root.resolve("usr/bin/busybox"), "unix:nlink"));
        assertEquals("busybox", Files.readString(root.resolve("usr/bin/ls")));
    }

    @Test
    void devicesAndFifosAreNotMadeAndModesLoseTheirSetIdBits() throws IOException {
        var b = builder();
        apply(b, new Layer().device("dev/null").fifo("run/fifo").file("usr/bin/su", new byte[] {1}, 04755)
                .file("etc/shadow", new byte[] {2}, 0), "layer");
        b.finish();
        assertEquals(2, b.skippedSpecialFiles());
        assertFalse(Files.exists(root.resolve("dev/null"), LinkOption.NOFOLLOW_LINKS));
        assertFalse(Files.exists(root.resolve("run/fifo"), LinkOption.NOFOLLOW_LINKS));
        assertEquals(0755, mode(root.resolve("usr/bin/su")), "no setuid bit");
        assertEquals(0400, mode(root.resolve("etc/shadow")), "readable by its owner: a debugger reads it");
    }

    @Test
    void theLimitsStopABomb() throws IOException {
        var small = new RootBuilder(root, new RootBuilder.Limits(1000, 100, 8));
        var big = assertThrows(CheckpointException.class, () -> apply(small,
                new Layer().file("a", new byte[600], 0644).file("b", new byte[600], 0644), "bomb"));
        assertEquals("bomb: entry \"b\": the root would pass 1000 bytes (--max-unpack allows more)", big.getMessage());
        var many = new Layer();
        for (int i = 0; i < 101; i++) {
            many.file("f" + i, "");
        }
        var entries = assertThrows(CheckpointException.class, () -> apply(new RootBuilder(root,
                new RootBuilder.Limits(1000, 100, 8)), many, "many"));
        assertEquals("many: entry \"f100\": the root would hold more than 100 files and folders", entries.getMessage());
        var deep = assertThrows(CheckpointException.class, () -> apply(new RootBuilder(root,
                new RootBuilder.Limits(1000, 100, 8)), new Layer().file("1/2/3/4/5/6/7/8/9", ""), "deep"));
        assertEquals("deep: entry \"1/2/3/4/5/6/7/8/9\" is 9 folders deep, more than the 8 criu2core unpacks",
                deep.getMessage());
    }

    @Test
    void deletedFilesAndTheDiffIdAreChecked() throws Exception {
        var b = builder();
        byte[] tar = new Layer().file("etc/removed-later-2", "x").file("etc/kept", "y").bytes();
        String diffId = "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(tar));
        b.applyLayer(new ByteArrayInputStream(tar), "layer", diffId);
        b.delete(List.of("/etc/removed-later-2", "/not/there"), "deleted.files");
        b.finish();
        assertEquals(List.of("etc", "etc/kept"), tree());
        var wrong = assertThrows(CheckpointException.class, () -> builder().applyLayer(new ByteArrayInputStream(tar),
                "layer", "sha256:" + "0".repeat(64)));
        assertEquals("layer: does not match its diff_id sha256:" + "0".repeat(64) + ": its tar hashes to " + diffId,
                wrong.getMessage());
    }

    private static int mode(Path p) throws IOException {
        int mode = 0;
        for (PosixFilePermission bit : Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS)) {
            mode |= 1 << (8 - bit.ordinal());
        }
        return mode;
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
