package org.criu2core.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.criu2core.Fixtures;
import org.criu2core.image.CheckpointException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which image of an archive a checkpoint's root is built from, and the real image in its three forms. */
class OciImageTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** The real image saved by podman (oci-archive, docker-archive) and skopeo (OCI layout). */
    @Test
    void theRealImageInEachFormHasTheSameLayers() throws Exception {
        Path shared = Fixtures.sharedCase("archives", "podman-image");
        List<String> diffIds = null;
        for (String form : List.of("image.oci.tar", "image.docker.tar", "image-oci-dir")) {
            try (var image = OciImage.open(shared.resolve(form), CheckpointArchive.Limits.DEFAULTS)) {
                var chosen = image.select("linux/amd64", "localhost/c2c-imgapp-a:1");
                assertEquals("sha256:d14ffbfa917829597ebe797bd55b36dc26684fbb00ad9ecbecfa30e396eeded8",
                        chosen.configDigest(), form);
                assertEquals("linux/amd64", chosen.platform(), form);
                List<String> ids = chosen.layers().stream().map(OciImage.Layer::diffId).toList();
                assertEquals(3, ids.size(), form);
                if (diffIds != null) {
                    assertEquals(diffIds, ids, form);
                }
                diffIds = ids;
                if (!form.equals("image.docker.tar")) {
                    assertTrue(chosen.digests().contains(
                            "sha256:15e8c3de0010160198e7b0b93783c70a1e3d5433ad3d0690eea3d32897961d3c"), form);
                }
            }
        }
        assertEquals("sha256:c451a5ed71d81bb4e742bd63fd376a9c983869d785169e44e2b2cdfc2fb22c01", diffIds.get(0));
    }

    /** A multi-platform image: an index of an index, one manifest per architecture, and an attestation. */
    @Test
    void theCheckpointsArchitectureChoosesTheManifest() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("multi/blobs/sha256"));
        Map<String, String> manifests = new LinkedHashMap<>();
        for (String platform : List.of("amd64", "arm64", "arm/v7", "s390x")) {
            String[] p = platform.split("/");
            var config = new LinkedHashMap<String, Object>(Map.of("architecture", p[0], "os", "linux", "rootfs",
                    Map.of("type", "layers", "diff_ids", List.of())));
            if (p.length > 1) {
                config.put("variant", p[1]);
            }
            manifests.put(platform, blob(dir, Map.of("schemaVersion", 2, "config", Map.of("digest", blob(dir, config)),
                    "layers", List.of())));
        }
        String attestation = blob(dir, Map.of("schemaVersion", 2, "config", Map.of("digest", blob(dir,
                Map.of("architecture", "unknown", "os", "unknown"))), "layers", List.of()));
        var list = new java.util.ArrayList<Object>();
        manifests.forEach((platform, digest) -> {
            String[] p = platform.split("/");
            var plat = new LinkedHashMap<String, String>(Map.of("architecture", p[0], "os", "linux"));
            if (p.length > 1) {
                plat.put("variant", p[1]);
            }
            list.add(Map.of("mediaType", "application/vnd.oci.image.manifest.v1+json", "digest", digest, "platform", plat));
        });
        list.add(Map.of("mediaType", "application/vnd.oci.image.manifest.v1+json", "digest", attestation,
                "platform", Map.of("architecture", "unknown", "os", "unknown")));
        String inner = blob(dir, Map.of("schemaVersion", 2, "mediaType", "application/vnd.oci.image.index.v1+json",
                "manifests", list));
        Path image = dir.getParent().getParent();
        Files.writeString(image.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        Files.write(image.resolve("index.json"), JSON.writeValueAsBytes(Map.of("schemaVersion", 2, "manifests",
                List.of(Map.of("mediaType", "application/vnd.oci.image.index.v1+json", "digest", inner,
                        "annotations", Map.of("org.opencontainers.image.ref.name", "docker.io/library/app:2"))))));
        try (var oci = OciImage.open(image, CheckpointArchive.Limits.DEFAULTS)) {
            assertEquals(4, oci.images().size(), "the attestation is no image");
            assertEquals(List.of(inner, manifests.get("arm64")), oci.select("linux/arm64", null).digests().subList(1, 3));
            assertEquals("linux/arm/v7", oci.select("linux/arm/v7", null).platform());
            assertEquals(List.of("docker.io/library/app:2"), oci.select("linux/s390x", null).names());
            var none = assertThrows(CheckpointException.class, () -> oci.select("linux/riscv64", null));
            assertEquals(image + ": has no image for linux/riscv64, the checkpoint's architecture (it has linux/amd64, "
                    + "linux/arm64, linux/arm/v7, linux/s390x)", none.getMessage());
        }
    }

    @Test
    void namesAreComparedAsRegistriesNormaliseThem() {
        assertTrue(ImageNames.same("nginx", "docker.io/library/nginx:latest"));
        assertTrue(ImageNames.same("library/nginx:1.27", "docker.io/library/nginx:1.27"));
        assertTrue(ImageNames.same("localhost/c2c-imgapp-a:1", "LOCALHOST/c2c-imgapp-a:1"));
        assertTrue(!ImageNames.same("localhost/app:1", "docker.io/library/app:1"));
        assertTrue(!ImageNames.same("quay.io/x/app:1", "quay.io/x/app:2"));
        assertEquals("sha256:" + "ab".repeat(32), ImageNames.digest("quay.io/x/app@sha256:" + "ab".repeat(32)).orElseThrow());
        assertEquals("sha256:" + "cd".repeat(32), ImageNames.digest("cd".repeat(32)).orElseThrow());
        assertTrue(ImageNames.digest("nginx:1.27").isEmpty());
    }

    private static String blob(Path dir, Object json) throws Exception {
        byte[] bytes = JSON.writeValueAsBytes(json);
        String hex = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        Files.write(dir.resolve(hex), bytes);
        return "sha256:" + hex;
    }
}
