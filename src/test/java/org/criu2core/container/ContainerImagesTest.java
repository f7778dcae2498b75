package org.criu2core.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.ZstdInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.criu2core.elf.CoreFile;
import org.criu2core.inspect.CoreDiff;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The real podman checkpoint of a container made from a three-layer image
 * (../shared/archives/podman-image), converted with the container's root built from the image in
 * each form podman and skopeo save it, and repacked as CRI-O and containerd write their archives.
 * The cores are compared with the kernel's own, and gdb must show the frames the case's README
 * names, one of them in a library that exists only in the container's rootfs-diff.tar.
 */
class ContainerImagesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Thread, function and source line gdb shows for each thread of pid 9 (the case's README). */
    private static final Map<Integer, String> FRAMES = Map.of(9, "main app.c:65", 10, "worker_alpha app.c:26",
            11, "worker_beta app.c:35", 12, "plugin_wait plugin.c:15");
    private static final String IMAGE_ID = "sha256:d14ffbfa917829597ebe797bd55b36dc26684fbb00ad9ecbecfa30e396eeded8";
    private static final String MANIFEST = "sha256:15e8c3de0010160198e7b0b93783c70a1e3d5433ad3d0690eea3d32897961d3c";

    @TempDir
    Path tmp;
    Path shared;
    Path archive;
    Path cache;

    @BeforeEach
    void setUp() {
        shared = Fixtures.sharedCase("archives", "podman-image");
        archive = shared.resolve("podman-export.tar.zst");
        cache = tmp.resolve("cache");
    }

    @ParameterizedTest
    @ValueSource(strings = {"image.oci.tar", "image.docker.tar", "image-oci-dir"})
    void eachFormOfTheImageGivesTheContainersRoot(String form) throws Exception {
        Path out = tmp.resolve("out");
        var run = KernelCores.cli("convert", "-D", archive.toString(), "-o", out.toString(), "--pid", "9",
                "--image", shared.resolve(form).toString(), "--cache-dir", cache.toString());
        assertEquals(0, run.status(), run.err());
        Path root = onlyRoot(cache);
        assertTrue(run.err().contains("mapped files read under " + root), run.err());
        assertMatchesTheKernelsCore(out.resolve("core.9"), archive);
        assertRootIsTheContainers(root);
        assertStacks(KernelCores.cli("stacks", archive.toString(), "--image", shared.resolve(form).toString(),
                "--pid", "9", "--json", "--cache-dir", cache.toString()));
    }

    /**
     * A second command on the same archive and image finds the root by their files' names, sizes
     * and times, without reading the archive again; a changed archive is read again.
     */
    @Test
    void theRootIsFoundAgainWithoutReadingTheArchive() throws Exception {
        Path copy = Files.copy(archive, tmp.resolve("podman-export.tar.zst"));
        Path image = shared.resolve("image.oci.tar");
        var settings = new ContainerRoots.Settings(cache, ContainerRoots.DEFAULT_CACHE_LIMIT,
                CheckpointArchive.Limits.DEFAULTS);
        assertTrue(ContainerRoots.reuse(copy, image, settings).isEmpty());
        var run = KernelCores.cli("debug", copy.toString(), "--image", image.toString(), "--pid", "9", "--cache-dir",
                cache.toString(), "--debugger-args", "-batch -ex bt");
        assertEquals(0, run.status(), run.err());
        try (var root = ContainerRoots.reuse(copy, image, settings).orElseThrow()) {
            assertEquals(onlyRoot(cache), root.path().toRealPath());
            assertEquals(List.of(), root.notes());
        }
        Files.setLastModifiedTime(copy, java.nio.file.attribute.FileTime.fromMillis(0));
        assertTrue(ContainerRoots.reuse(copy, image, settings).isEmpty(), "a changed archive is read again");
    }

    /** Every form names the same layers by their uncompressed digests: one root for all. */
    @Test
    void theRootIsBuiltOnceForEveryFormOfTheImage() throws Exception {
        for (String form : List.of("image.oci.tar", "image.docker.tar", "image-oci-dir")) {
            var run = KernelCores.cli("info", archive.toString(), "--image", shared.resolve(form).toString(),
                    "--cache-dir", cache.toString());
            assertEquals(0, run.status(), run.err());
        }
        onlyRoot(cache);
    }

    private Path onlyRoot(Path cacheFolder) throws IOException {
        try (Stream<Path> roots = Files.list(cacheFolder.resolve("roots"))) {
            List<Path> all = roots.filter(p -> !p.getFileName().toString().equals(ContainerRoots.MEMOS)).toList();
            assertEquals(1, all.size(), all.toString());
            return all.get(0).resolve(RootCache.ROOT).toRealPath();
        }
    }

    private void assertMatchesTheKernelsCore(Path core, Path checkpoint) throws IOException {
        Path kernel = KernelCores.unpack(shared, 9, Files.createDirectories(tmp.resolve("kernel-" + System.nanoTime())));
        try (var k = CoreFile.open(kernel); var o = CoreFile.open(core);
             var unpacked = CheckpointArchive.open(checkpoint)) {
            List<CoreDiff.Range> unknown = new ArrayList<>(KernelCores.unknownContents(shared, unpacked.images(), 9));
            // the errno and a local of the sleeping thread, rewritten after the dump (the case's README)
            for (String line : Files.readAllLines(shared.resolve("expected/ignore.9"))) {
                String[] f = line.split("[:\\s]+");
                long at = Long.parseUnsignedLong(f[0].substring(2), 16);
                unknown.add(new CoreDiff.Range(at, at + Long.parseLong(f[1])));
            }
            assertEquals(List.of(), CoreDiff.compare(k, o, CoreDiff.Options.kernel(unknown)));
        }
    }

    private static void assertRootIsTheContainers(Path root) throws IOException {
        assertFalse(Files.exists(root.resolve("etc/removed-later"), LinkOption.NOFOLLOW_LINKS), "the image's whiteout");
        assertFalse(Files.exists(root.resolve("etc/removed-later-2"), LinkOption.NOFOLLOW_LINKS),
                "deleted by the container");
        assertTrue(Files.isRegularFile(root.resolve("var/lib/app/plugin-live.so")), "written by the container");
        assertEquals("../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                Files.readSymbolicLink(root.resolve("usr/lib64/ld-linux-x86-64.so.2")).toString(),
                "the image's absolute link, inside the root");
    }

    private static void assertStacks(KernelCores.Run run) throws IOException {
        assertEquals(0, run.status(), run.err());
        JsonNode process = JSON.readTree(run.out()).get("processes").get(0);
        Map<Integer, String> found = new LinkedHashMap<>();
        for (JsonNode thread : process.get("threads")) {
            for (JsonNode frame : thread.get("frames")) {
                String file = frame.path("file").asText("");
                if (file.endsWith("app.c") || file.endsWith("plugin.c")) {
                    found.put(thread.get("tid").asInt(), frame.get("function").asText() + " "
                            + file.substring(file.lastIndexOf('/') + 1) + ":" + frame.get("line").asInt());
                    break;
                }
            }
        }
        assertEquals(FRAMES, found, run.out());
    }

    @Test
    void withoutTheImageTheContainersOwnFilesAreStillFound() throws Exception {
        var run = KernelCores.cli("grep", "C2C-PLUGIN-MARKER-A", archive.toString(), "--pid", "9", "--cache-dir",
                cache.toString());
        assertEquals(0, run.status(), run.err());
        assertEquals(List.of("note: the root holds only the files the container wrote (rootfs-diff.tar); the image's "
                + "files are missing: give the container's image with --image"), run.err().lines().toList());
        assertTrue(run.out().contains("/var/lib/app/plugin-live.so"), run.out());
    }

    @Test
    void infoNamesTheEngineTheContainerAndTheImage() throws Exception {
        var run = KernelCores.cli("info", archive.toString(), "--json", "--cache-dir", cache.toString());
        assertEquals(0, run.status(), run.err());
        JsonNode container = JSON.readTree(run.out()).get("container");
        assertEquals("podman", container.get("engine").asText());
        assertEquals("c2c-imgapp-a", container.get("name").asText());
        assertEquals("616f60be135aeaf09133f7fe992be37d92d63a76e7d2d8aa76e18fa3edd6ffa9", container.get("id").asText());
        assertEquals("localhost/c2c-imgapp-a:1", container.get("image").asText());
        assertEquals(IMAGE_ID.substring(7), container.get("imageRef").asText());
        assertTrue(container.get("pod").isNull());
    }

    // --- the same checkpoint as CRI-O and containerd write their archives ---

    /**
     * CRI-O (internal/lib/checkpoint.go): an uncompressed tar of checkpoint/, config.dump
     * (checkpointctl's ContainerConfig: rootfsImageRef is the image id), spec.dump with the pod's
     * annotations and io.container.manager=cri-o, rootfs-diff.tar and deleted.files as podman's.
     */
    @Test
    void aCriOArchive() throws Exception {
        var podman = Entries.of(archive);
        var crio = new Entries();
        crio.addImages(podman);
        crio.add("config.dump", json(Map.of("id", "3c1b7d5e9a", "name", "k8s_app_c2c-pod_default_0",
                "rootfsImage", "localhost/c2c-imgapp-a:1", "rootfsImageRef", IMAGE_ID.substring(7),
                "rootfsImageName", "localhost/c2c-imgapp-a:1", "runtime", "runc",
                "checkpointedTime", "2026-12-07T05:01:28.123456789Z", "createdTime", "2026-12-07T05:01:26Z")));
        crio.add("spec.dump", json(Map.of("ociVersion", "1.0.2", "annotations", Map.of(
                "io.container.manager", "cri-o", "io.kubernetes.pod.name", "c2c-pod",
                "io.kubernetes.pod.namespace", "forensics", "io.kubernetes.cri-o.ImageName", "localhost/c2c-imgapp-a:1",
                "io.kubernetes.cri-o.Metadata", "{\"name\":\"app\",\"attempt\":0}"))));
        crio.add("rootfs-diff.tar", podman.get("rootfs-diff.tar"));
        crio.add("deleted.files", podman.get("deleted.files"));
        crio.add("dump.log", "(CRIU's log)".getBytes(StandardCharsets.UTF_8));
        Path tar = crio.write(tmp.resolve("checkpoint-c2c-pod_forensics-app-2026-12-07T05:01:28Z.tar"));
        JsonNode container = info(tar);
        assertEquals("CRI-O", container.get("engine").asText());
        assertEquals("app", container.get("name").asText());
        assertEquals("c2c-pod", container.get("pod").asText());
        assertEquals("forensics", container.get("namespace").asText());
        assertEquals("localhost/c2c-imgapp-a:1", container.get("image").asText());
        assertEquals("2026-12-07T05:01:28.123456789Z", container.get("checkpointed").asText());
        convertAndUnwind(tar, "image.oci.tar");
    }

    /**
     * containerd (internal/cri/server/container_checkpoint_linux.go): an uncompressed tar of
     * checkpoint/, config.dump (rootfsImageRef the repo digest), status.dump (the CRI status),
     * spec.dump with the io.kubernetes.cri annotations, and rootfs-diff.tar as the container's
     * read-write layer: a gzip OCI layer whose deletions are whiteouts, no deleted.files.
     */
    @Test
    void aContainerdArchive() throws Exception {
        var podman = Entries.of(archive);
        var containerd = new Entries();
        containerd.addImages(podman);
        containerd.add("config.dump", json(Map.of("id", "9f2e", "name", "app",
                "rootfsImageName", "localhost/c2c-imgapp-a:1", "rootfsImageRef", "localhost/c2c-imgapp-a@" + MANIFEST,
                "runtime", "io.containerd.runc.v2", "checkpointedTime", "2026-12-07T05:01:29Z")));
        containerd.add("status.dump", json(Map.of("id", "9f2e", "metadata", Map.of("name", "app"),
                "image", Map.of("image", "localhost/c2c-imgapp-a:1"))));
        containerd.add("spec.dump", json(Map.of("annotations", Map.of("io.kubernetes.cri.container-name", "app",
                "io.kubernetes.cri.sandbox-name", "c2c-pod", "io.kubernetes.cri.sandbox-namespace", "forensics",
                "io.kubernetes.cri.image-name", "localhost/c2c-imgapp-a:1"))));
        containerd.add("rootfs-diff.tar", readWriteLayer(podman.get("rootfs-diff.tar")));
        Path tar = containerd.write(tmp.resolve("containerd.tar"));
        JsonNode container = info(tar);
        assertEquals("containerd", container.get("engine").asText());
        assertEquals("app", container.get("name").asText());
        assertEquals("c2c-pod", container.get("pod").asText());
        assertEquals("forensics", container.get("namespace").asText());
        assertEquals("localhost/c2c-imgapp-a@" + MANIFEST, container.get("imageRef").asText());
        convertAndUnwind(tar, "image-oci-dir");
        // the repo digest names another image than the one given: said, not fatal
        containerd.add("config.dump", json(Map.of("id", "9f2e", "rootfsImageName", "docker.io/library/nginx:1.27",
                "rootfsImageRef", "docker.io/library/nginx@sha256:" + "ab".repeat(32))));
        Path other = containerd.write(tmp.resolve("other-image.tar"));
        var run = KernelCores.cli("convert", "-D", other.toString(), "-o", tmp.resolve("other").toString(), "--image",
                shared.resolve("image.oci.tar").toString(), "--cache-dir", cache.toString());
        assertEquals(0, run.status(), run.err());
        assertTrue(run.err().contains("warning: the container ran the image docker.io/library/nginx:1.27 "
                + "(docker.io/library/nginx@sha256:" + "ab".repeat(32) + "), and --image " + shared.resolve("image.oci.tar")
                + " is localhost/c2c-imgapp-a:1 (image id " + IMAGE_ID + "): its files may not be those the processes "
                + "mapped"), run.err());
    }

    /** podman's plain diff and deleted.files as containerd's gzip layer: the deletions as whiteouts. */
    private static byte[] readWriteLayer(byte[] plainDiff) throws IOException {
        var out = new ByteArrayOutputStream();
        try (var gz = new GZIPOutputStream(out); var tar = new TarArchiveOutputStream(gz);
             var in = new TarArchiveInputStream(new java.io.ByteArrayInputStream(plainDiff))) {
            TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                tar.putArchiveEntry(e);
                in.transferTo(tar);
                tar.closeArchiveEntry();
            }
            var whiteout = new TarArchiveEntry("etc/.wh.removed-later-2");
            tar.putArchiveEntry(whiteout);
            tar.closeArchiveEntry();
        }
        return out.toByteArray();
    }

    /** A checkpoint image (podman container checkpoint --create-image): an OCI image of one layer, the archive. */
    @Test
    void aCheckpointImage() throws Exception {
        byte[] layer;
        try (InputStream in = new ZstdInputStream(Files.newInputStream(archive))) {
            var gz = new ByteArrayOutputStream();
            try (var out = new GZIPOutputStream(gz)) {
                in.transferTo(out);
            }
            layer = gz.toByteArray();
        }
        Path dir = Files.createDirectories(tmp.resolve("checkpoint-image/blobs/sha256"));
        String layerDigest = blob(dir, layer);
        String config = blob(dir, json(Map.of("architecture", "amd64", "os", "linux", "rootfs",
                Map.of("type", "layers", "diff_ids", List.of()))));
        String manifest = blob(dir, json(Map.of("schemaVersion", 2, "mediaType",
                "application/vnd.oci.image.manifest.v1+json", "config", Map.of("mediaType",
                "application/vnd.oci.image.config.v1+json", "digest", config), "layers", List.of(Map.of("mediaType",
                "application/vnd.oci.image.layer.v1.tar+gzip", "digest", layerDigest, "size", layer.length)),
                "annotations", Map.of("io.podman.annotations.checkpoint.name", "c2c-imgapp-a"))));
        Path image = dir.getParent().getParent();
        Files.writeString(image.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        Files.write(image.resolve("index.json"), json(Map.of("schemaVersion", 2, "manifests",
                List.of(Map.of("mediaType", "application/vnd.oci.image.manifest.v1+json", "digest", manifest)))));
        Path out = tmp.resolve("out");
        var run = KernelCores.cli("convert", "-D", image.toString(), "-o", out.toString(), "--pid", "9", "--image",
                shared.resolve("image.docker.tar").toString(), "--cache-dir", cache.toString());
        assertEquals(0, run.status(), run.err());
        assertMatchesTheKernelsCore(out.resolve("core.9"), image);
    }

    private static String blob(Path dir, byte[] bytes) throws Exception {
        String hex = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        Files.write(dir.resolve(hex), bytes);
        return "sha256:" + hex;
    }

    private JsonNode info(Path tar) throws IOException {
        var run = KernelCores.cli("info", tar.toString(), "--json", "--cache-dir", cache.toString());
        assertEquals(0, run.status(), run.err());
        return JSON.readTree(run.out()).get("container");
    }

    private void convertAndUnwind(Path tar, String form) throws IOException {
        Path out = tmp.resolve("out-" + tar.getFileName());
        var run = KernelCores.cli("convert", "-D", tar.toString(), "-o", out.toString(), "--pid", "9", "--image",
                shared.resolve(form).toString(), "--cache-dir", cache.toString());
        assertEquals(0, run.status(), run.err());
        assertTrue(run.err().lines().noneMatch(l -> l.startsWith("warning:") || l.startsWith("note:")), run.err());
        assertMatchesTheKernelsCore(out.resolve("core.9"), tar);
        assertStacks(KernelCores.cli("stacks", tar.toString(), "--image", shared.resolve(form).toString(), "--pid",
                "9", "--json", "--cache-dir", cache.toString()));
    }

    private static byte[] json(Object value) throws IOException {
        return JSON.writeValueAsBytes(value);
    }

    /** An archive's entries by name, in order. */
    private static final class Entries {
        private final Map<String, byte[]> files = new LinkedHashMap<>();

        static Entries of(Path archive) throws IOException {
            var entries = new Entries();
            try (var in = new TarArchiveInputStream(new ZstdInputStream(Files.newInputStream(archive)))) {
                TarArchiveEntry e;
                while ((e = in.getNextEntry()) != null) {
                    if (e.isFile()) {
                        entries.files.put(e.getName(), in.readAllBytes());
                    }
                }
            }
            return entries;
        }

        void addImages(Entries from) {
            from.files.forEach((name, bytes) -> {
                if (name.startsWith("checkpoint/")) {
                    files.put(name, bytes);
                }
            });
        }

        byte[] get(String name) {
            return files.get(name);
        }

        void add(String name, byte[] bytes) {
            files.put(name, bytes);
        }

        Path write(Path tar) throws IOException {
            try (var out = new TarArchiveOutputStream(Files.newOutputStream(tar))) {
                out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
                for (var e : files.entrySet()) {
                    var entry = new TarArchiveEntry(e.getKey());
                    entry.setSize(e.getValue().length);
                    out.putArchiveEntry(entry);
                    out.write(e.getValue());
                    out.closeArchiveEntry();
                }
            }
            return tar;
        }
    }
}
