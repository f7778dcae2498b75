package org.criu2core.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Container images made to do harm, given with --image to a real checkpoint: each is one line
 * naming the image, the layer's digest and the entry, exit status 1, no core, and nothing written
 * outside the cache (no root left half built in it either).
 */
class HostileLayersTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    Path checkpoint;
    Path cache;
    Path out;
    Path outside;

    @BeforeEach
    void setUp() throws IOException {
        checkpoint = Fixtures.checkpoint("threads").resolve("images");
        cache = tmp.resolve("cache");
        out = tmp.resolve("out");
        outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("secret"), "host file");
    }

    /** An OCI image layout of {@code layers} (tars), gzip-compressed as podman saves them. */
    private Path image(String name, List<byte[]> layers) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name).resolve("blobs/sha256"));
        List<Object> descriptors = new ArrayList<>();
        List<String> diffIds = new ArrayList<>();
        for (byte[] tar : layers) {
            diffIds.add(digest(tar));
            byte[] gz = gzip(tar);
            descriptors.add(Map.of("mediaType", "application/vnd.oci.image.layer.v1.tar+gzip", "digest", blob(dir, gz),
                    "size", gz.length));
        }
        String config = blob(dir, JSON.writeValueAsBytes(Map.of("architecture", "amd64", "os", "linux",
                "rootfs", Map.of("type", "layers", "diff_ids", diffIds))));
        String manifest = blob(dir, JSON.writeValueAsBytes(Map.of("schemaVersion", 2, "config",
                Map.of("mediaType", "application/vnd.oci.image.config.v1+json", "digest", config), "layers", descriptors)));
        Path image = tmp.resolve(name);
        Files.writeString(image.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        Files.write(image.resolve("index.json"), JSON.writeValueAsBytes(Map.of("schemaVersion", 2, "manifests",
                List.of(Map.of("mediaType", "application/vnd.oci.image.manifest.v1+json", "digest", manifest)))));
        return image;
    }

    private static String blob(Path dir, byte[] bytes) throws Exception {
        String d = digest(bytes);
        Files.write(dir.resolve(d.substring(7)), bytes);
        return d;
    }

    private static String digest(byte[] bytes) throws Exception {
        return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    private static byte[] gzip(byte[] bytes) throws IOException {
        var out = new java.io.ByteArrayOutputStream();
        try (var gz = new java.util.zip.GZIPOutputStream(out)) {
            gz.write(bytes);
        }
        return out.toByteArray();
    }

    /** The image given to convert: refused with {@code line}, and nothing left anywhere. */
    private void refused(Path image, String line, String... more) throws IOException {
        List<String> args = new ArrayList<>(List.of("convert", "-D", checkpoint.toString(), "-o", out.toString(),
                "--image", image.toString(), "--cache-dir", cache.toString()));
        args.addAll(List.of(more));
        var run = KernelCores.cli(args.toArray(String[]::new));
        assertEquals(1, run.status(), run.err());
        assertEquals(List.of("criu2core: " + line), run.err().lines().toList());
        assertTrue(!Files.exists(out) || files(out).isEmpty(), "no core");
        assertEquals(List.of(outside.resolve("secret")), files(outside), "the host's files untouched");
        assertEquals("host file", Files.readString(outside.resolve("secret")));
        for (Path p : files(cache)) {
            assertTrue(p.getFileName().toString().equals(".lock"), "nothing built is left in the cache: " + p);
        }
    }

    private static List<Path> files(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> all = Files.walk(dir)) {
            return all.filter(p -> !Files.isDirectory(p)).sorted().toList();
        }
    }

    private String layerName(Path image, byte[] tar, int index, int of) throws Exception {
        return image + " (layer " + index + " of " + of + ", " + digest(gzip(tar)) + ")";
    }

    @Test
    void anEntryThatLeadsOut() throws Exception {
        byte[] evil = new Layer().dir("etc").file("etc/../../outside/secret", "overwritten").bytes();
        Path image = image("escape", List.of(evil));
        refused(image, layerName(image, evil, 1, 1) + ": entry \"etc/../../outside/secret\" leads outside the root "
                + "(\"..\")");
    }

    @Test
    void aWhiteoutOfDotDot() throws Exception {
        byte[] base = new Layer().file("etc/hostname", "c2c").bytes();
        byte[] evil = new Layer().file("etc/.wh...", new byte[0], 0).bytes();
        Path image = image("whiteout", List.of(base, evil));
        refused(image, layerName(image, evil, 2, 2) + ": entry \"etc/.wh...\" is a whiteout of \"..\", which names no "
                + "file");
    }

    @Test
    void aHardLinkOutOfTheRoot() throws Exception {
        byte[] evil = new Layer().symlink("host", outside.toString()).hardLink("stolen", "host/secret").bytes();
        Path image = image("hardlink", List.of(evil));
        refused(image, layerName(image, evil, 1, 1) + ": entry \"stolen\" is a hard link to \"host/secret\", which is "
                + "no file in the root");
        assertEquals(1, Files.getAttribute(outside.resolve("secret"), "unix:nlink"));
    }

    @Test
    void aLayerBomb() throws Exception {
        // 64 MiB of zeros in a layer of 64 KiB; the root may hold 16 MiB
        var bomb = new Layer();
        for (int i = 0; i < 4; i++) {
            bomb.file("zeros-" + i, new byte[16 << 20], 0644);
        }
        byte[] tar = bomb.bytes();
        Path image = image("bomb", List.of(tar));
        assertTrue(Files.size(image.resolve("blobs/sha256").resolve(digest(gzip(tar)).substring(7))) < 1 << 20);
        refused(image, layerName(image, tar, 1, 1) + ": entry \"zeros-1\": the root would pass 16777216 bytes "
                + "(--max-unpack allows more)", "--max-unpack", "16M");
    }

    @Test
    void aMissingBlob() throws Exception {
        byte[] layer = new Layer().file("etc/hostname", "c2c").bytes();
        Path image = image("missing", List.of(layer));
        String d = digest(gzip(layer));
        Files.delete(image.resolve("blobs/sha256").resolve(d.substring(7)));
        refused(image, image + ": blob " + d + " is not in the image");
    }

    @Test
    void aBlobThatIsNotWhatItsDigestSays() throws Exception {
        byte[] layer = new Layer().file("etc/hostname", "c2c").bytes();
        Path image = image("tampered", List.of(layer));
        String d = digest(gzip(layer));
        byte[] other = gzip(new Layer().file("etc/hostname", "not c2c").bytes());
        Files.write(image.resolve("blobs/sha256").resolve(d.substring(7)), other);
        refused(image, image + ": blob " + d + " does not match its digest: its bytes hash to " + digest(other));
    }

    @Test
    void aManifestThatIsNotWhatItsDigestSays() throws Exception {
        Path image = image("index", List.of(new Layer().file("a", "b").bytes()));
        var index = JSON.readTree(image.resolve("index.json").toFile());
        String manifest = index.get("manifests").get(0).get("digest").asText();
        Path file = image.resolve("blobs/sha256").resolve(manifest.substring(7));
        byte[] changed = Files.readString(file).replace("\"schemaVersion\":2", "\"schemaVersion\":2 ")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Files.write(file, changed);
        refused(image, image + ": blob " + manifest + " does not match its digest: its bytes hash to "
                + digest(changed));
    }
}
