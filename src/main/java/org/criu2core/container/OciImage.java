package org.criu2core.container;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Closeable;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.criu2core.image.CheckpointException;
import org.criu2core.sys.Cleanup;
import org.criu2core.sys.OpenFile;
import org.criu2core.sys.RootDirectory;

/**
 * A container image as `podman save`, `docker save`, skopeo and buildah write it: an OCI image
 * layout directory (image-spec image-layout.md: oci-layout, index.json, blobs/ALG/HEX), the same
 * as one tar (oci-archive), or a docker-archive tar (manifest.json naming each image's config and
 * layer files, with or without an index.json beside it). A tar is read where it lies, each blob at
 * its offset; a compressed one (`docker save | gzip`) is first decompressed into a temporary file.
 *
 * <p>Everything read is hostile input: every blob that is named by its digest is checked against
 * it as it is read, JSON documents are read up to {@link #MAX_JSON_BYTES}, indexes are followed at
 * most {@link #MAX_INDEX_DEPTH} deep, and a missing blob or a digest that does not match is one
 * line naming the image and the blob.
 */
public final class OciImage implements Closeable {
    /** index.json, manifests and configs of real images are some kilobytes. */
    static final int MAX_JSON_BYTES = 4 << 20;
    static final int MAX_INDEX_DEPTH = 4;
    /** Links followed to find a file in a tar (docker-archive's legacy {@code ID/layer.tar} links). */
    private static final int MAX_TAR_LINKS = 8;
    private static final Pattern SHA256 = Pattern.compile("sha256:[0-9a-f]{64}");
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
    private static final String INDEX_TYPES = "application/vnd.oci.image.index.v1+json "
            + "application/vnd.docker.distribution.manifest.list.v2+json";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One layer: where its bytes are, the digest they must have, and the digest of their uncompressed tar. */
    public record Layer(String file, String digest, String diffId) {
    }

    /**
     * One image of the archive, as chosen for a checkpoint.
     *
     * @param names   the names it is tagged with (OCI ref.name annotations, docker RepoTags)
     * @param digests every digest that names it: its config's (the image id), its manifest's, and
     *                the indexes' it was found through
     * @param layers  its layers, lowest first
     */
    public record Image(List<String> names, List<String> digests, String configDigest, String platform,
                        List<Layer> layers, Map<String, String> annotations) {
    }

    private final String display;
    private final Blobs blobs;
    private final List<Image> images;

    private OciImage(String display, Blobs blobs) throws IOException {
        this.display = display;
        this.blobs = blobs;
        this.images = List.copyOf(blobs.has("manifest.json") && !blobs.has("index.json") ? dockerImages()
                : blobs.has("index.json") ? ociImages() : List.of());
        if (images.isEmpty()) {
            throw new CheckpointException(display, blobs.has("index.json") || blobs.has("manifest.json")
                    ? "holds no image" : "is not a container image: neither an OCI image layout (oci-layout, "
                    + "index.json) nor a docker-archive (manifest.json)");
        }
    }

    /** Whether {@code dir} is an OCI image layout. */
    public static boolean isLayout(Path dir) {
        return Files.isRegularFile(dir.resolve("oci-layout")) && Files.isRegularFile(dir.resolve("index.json"));
    }

    /** The image at {@code path}: a layout directory, or a tar (plain or compressed). */
    public static OciImage open(Path path, CheckpointArchive.Limits limits) throws IOException {
        String display = path.toString();
        if (Files.isDirectory(path)) {
            return new OciImage(display, new DirectoryBlobs(RootDirectory.open(path), display));
        }
        if (!Files.isRegularFile(path)) {
            throw new CheckpointException(display, "no such image (an OCI layout directory, or an oci-archive or "
                    + "docker-archive tar)");
        }
        byte[] head;
        try (InputStream in = Files.newInputStream(path)) {
            head = in.readNBytes(Compression.HEAD);
        }
        Blobs blobs;
        if (Compression.of(head) == Compression.NONE) {
            if (!Compression.isTar(head)) {
                throw new CheckpointException(display, "is not a container image: neither a directory nor a tar");
            }
            blobs = TarBlobs.index(path, display, null);
        } else {
            blobs = TarBlobs.index(decompressedCopy(path, display, limits), display, limits);
        }
        try {
            return new OciImage(display, blobs);
        } catch (IOException | RuntimeException e) {
            blobs.close();
            throw e;
        }
    }

    /** A compressed image tar, decompressed into a temporary file that goes when the image is closed. */
    private static Path decompressedCopy(Path path, String display, CheckpointArchive.Limits limits)
            throws IOException {
        Path temp = limits.folder().resolve("criu2core-image-"
                + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tar");
        var removal = Cleanup.removeOnShutdown(temp);
        boolean done = false;
        try (InputStream in = Compression.decompressed(Files.newInputStream(path), display);
             var out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] buffer = new byte[1 << 20];
            long total = 0;
            int n;
            while ((n = in.read(buffer)) > 0) {
                total += n;
                if (total > limits.maxBytes()) {
                    throw new CheckpointException(display, "decompressed, it would pass " + limits.maxBytes()
                            + " bytes (--max-unpack allows more)");
                }
                var b = ByteBuffer.wrap(buffer, 0, n);
                while (b.hasRemaining()) {
                    out.write(b);
                }
            }
            done = true;
            return temp;
        } finally {
            if (!done) {
                Files.deleteIfExists(temp);
                removal.close();
            } else {
                TarBlobs.TEMPORARY.put(temp, removal);
            }
        }
    }

    /** Every image the archive holds. */
    public List<Image> images() {
        return images;
    }

    /**
     * The image to build a checkpoint's root from: the one for {@code platform} (an OCI platform,
     * "linux/amd64", "linux/arm/v7"), and among several, the one named {@code preferredName}
     * (the checkpoint's image name), where given.
     */
    public Image select(String platform, String preferredName) throws CheckpointException {
        List<Image> fit = images.stream().filter(i -> i.platform() == null || samePlatform(i.platform(), platform))
                .toList();
        if (fit.isEmpty()) {
            throw new CheckpointException(display, "has no image for " + platform + ", the checkpoint's architecture "
                    + "(it has " + String.join(", ", images.stream().map(Image::platform).distinct().toList()) + ")");
        }
        if (fit.size() > 1 && preferredName != null) {
            var named = fit.stream().filter(i -> i.names().stream().anyMatch(n -> ImageNames.same(n, preferredName)))
                    .toList();
            if (!named.isEmpty()) {
                fit = named;
            }
        }
        if (fit.stream().map(Image::configDigest).distinct().count() > 1) {
            throw new CheckpointException(display, "holds " + fit.size() + " images for " + platform + " ("
                    + String.join(", ", fit.stream().map(i -> i.names().isEmpty() ? i.configDigest()
                    : String.join(" ", i.names())).toList()) + ") and the checkpoint names none of them: "
                    + "save the container's image alone");
        }
        return fit.get(0);
    }

    /** The layer of a checkpoint image (`podman container checkpoint --create-image`): its only one. */
    Layer checkpointLayer() throws CheckpointException {
        Image image = images.get(0);
        if (images.size() > 1 || image.layers().size() != 1) {
            throw new CheckpointException(display, "is an OCI image, but not a checkpoint image (which has "
                    + "one image of one layer): give an image of the container's files with --image");
        }
        return image.layers().get(0);
    }

    /**
     * The bytes of {@code layer}, as stored (maybe compressed); its digest is checked when the
     * stream has been read to its end, and a mismatch is an error then.
     */
    public InputStream open(Layer layer) throws IOException {
        return blobs.open(layer.file(), layer.digest());
    }

    public String display() {
        return display;
    }

    @Override
    public void close() throws IOException {
        blobs.close();
    }

    // --- OCI image layout (image-spec image-layout.md, image-index.md, manifest.md, config.md) ---

    private List<Image> ociImages() throws IOException {
        JsonNode index = json("index.json", null);
        List<Image> found = new ArrayList<>();
        collect(index, List.of(), new ArrayList<>(), 0, found);
        return found;
    }

    /** The images an index names, following nested indexes; {@code names} and {@code via} come from above. */
    private void collect(JsonNode index, List<String> names, List<String> via, int depth, List<Image> found)
            throws IOException {
        if (depth > MAX_INDEX_DEPTH) {
            throw new CheckpointException(display, "nests image indexes more than " + MAX_INDEX_DEPTH + " deep");
        }
        for (JsonNode descriptor : index.path("manifests")) {
            String digest = digest(descriptor);
            List<String> here = new ArrayList<>(names);
            String ref = descriptor.path("annotations").path("org.opencontainers.image.ref.name").asText("");
            if (!ref.isEmpty()) {
                here.add(ref);
            }
            String image = descriptor.path("annotations").path("io.containerd.image.name").asText("");
            if (!image.isEmpty()) {
                here.add(image);
            }
            List<String> path = new ArrayList<>(via);
            path.add(digest);
            JsonNode manifest = json(blobFile(digest), digest);
            String type = manifest.path("mediaType").asText(descriptor.path("mediaType").asText(""));
            if (INDEX_TYPES.contains(type) && !type.isEmpty() || manifest.has("manifests")) {
                collect(manifest, here, path, depth + 1, found);
                continue;
            }
            if (!manifest.has("layers")) {
                continue; // an artifact, not an image
            }
            String configDigest = digest(manifest.path("config"));
            JsonNode config = json(blobFile(configDigest), configDigest);
            String platform = platform(descriptor.path("platform"), config);
            if (platform.startsWith("unknown")) {
                continue; // buildx's attestations are manifests for platform unknown/unknown
            }
            JsonNode diffIds = config.path("rootfs").path("diff_ids");
            List<Layer> layers = new ArrayList<>();
            int i = 0;
            for (JsonNode layer : manifest.path("layers")) {
                String d = digest(layer);
                layers.add(new Layer(blobFile(d), d, diffIds.path(i++).asText(null)));
            }
            List<String> digests = new ArrayList<>(path);
            digests.add(0, configDigest);
            found.add(new Image(List.copyOf(new LinkedHashSet<>(here)), List.copyOf(digests), configDigest, platform,
                    List.copyOf(layers), annotations(manifest)));
        }
    }

    // --- docker-archive (moby image/tarexport: manifest.json, a config file and a tar per layer) ---

    private List<Image> dockerImages() throws IOException {
        JsonNode manifests = json("manifest.json", null);
        if (!manifests.isArray()) {
            throw new CheckpointException(display, "manifest.json is not a list of images");
        }
        List<Image> found = new ArrayList<>();
        for (JsonNode m : manifests) {
            String configFile = m.path("Config").asText("");
            if (configFile.isEmpty()) {
                throw new CheckpointException(display, "manifest.json names an image without a Config file");
            }
            String configDigest = digestOfFileName(configFile);
            JsonNode config = json(configFile, configDigest);
            if (configDigest == null) {
                configDigest = "sha256:" + blobs.sha256(configFile);
            }
            JsonNode diffIds = config.path("rootfs").path("diff_ids");
            List<Layer> layers = new ArrayList<>();
            int i = 0;
            for (JsonNode layer : m.path("Layers")) {
                String file = layer.asText();
                layers.add(new Layer(file, digestOfFileName(file), diffIds.path(i++).asText(null)));
            }
            List<String> names = new ArrayList<>();
            m.path("RepoTags").forEach(t -> names.add(t.asText()));
            found.add(new Image(List.copyOf(names), List.of(configDigest), configDigest, platform(null, config),
                    List.copyOf(layers), Map.of()));
        }
        return found;
    }

    /**
     * The digest a docker-archive's file is named by: {@code blobs/sha256/HEX} (Docker 25 and
     * later), {@code HEX.tar} and {@code HEX.json} (podman), or null ({@code ID/layer.tar}, whose
     * bytes are checked against the config's diff_ids instead).
     */
    private static String digestOfFileName(String file) {
        String name = file.substring(file.lastIndexOf('/') + 1);
        int dot = name.indexOf('.');
        String hex = dot < 0 ? name : name.substring(0, dot);
        return HEX64.matcher(hex).matches() && (file.startsWith("blobs/sha256/") || dot > 0) ? "sha256:" + hex : null;
    }

    // --- shared ---

    /** "os/architecture[/variant]" from a descriptor's platform, else from the image's config. */
    private static String platform(JsonNode descriptor, JsonNode config) {
        JsonNode p = descriptor != null && descriptor.has("architecture") ? descriptor : config;
        String os = p.path("os").asText("linux");
        String arch = p.path("architecture").asText("unknown");
        String variant = p.path("variant").asText("");
        return os + "/" + arch + (variant.isEmpty() ? "" : "/" + variant);
    }

    /**
     * Whether an image's platform serves a checkpoint's: same system and architecture, and the same
     * variant where both name one (arm64 images rarely name v8).
     */
    static boolean samePlatform(String image, String checkpoint) {
        String[] a = image.split("/");
        String[] b = checkpoint.split("/");
        if (a.length < 2 || b.length < 2 || !a[0].equals(b[0]) || !a[1].equals(b[1])) {
            return false;
        }
        return a.length < 3 || b.length < 3 || a[2].equals(b[2]);
    }

    private static Map<String, String> annotations(JsonNode manifest) {
        Map<String, String> a = new LinkedHashMap<>();
        manifest.path("annotations").fields().forEachRemaining(e -> a.put(e.getKey(), e.getValue().asText()));
        return a;
    }

    private String digest(JsonNode descriptor) throws CheckpointException {
        String digest = descriptor.path("digest").asText("");
        if (!SHA256.matcher(digest).matches()) {
            throw new CheckpointException(display, "names a blob by \"" + digest + "\", which is no sha256 digest");
        }
        return digest;
    }

    private static String blobFile(String digest) {
        return "blobs/sha256/" + digest.substring("sha256:".length());
    }

    /** A JSON document of the image, checked against {@code digest} where it is named by one. */
    private JsonNode json(String file, String digest) throws IOException {
        long size = blobs.size(file, digest);
        if (size > MAX_JSON_BYTES) {
            throw new CheckpointException(display, file + " is " + size + " bytes, more than the " + MAX_JSON_BYTES
                    + " bytes criu2core reads of a JSON document");
        }
        byte[] bytes;
        try (InputStream in = blobs.open(file, digest)) {
            bytes = in.readAllBytes();
        }
        try {
            return JSON.readTree(bytes);
        } catch (IOException e) {
            throw new CheckpointException(display, file + " is not JSON: " + e.getMessage().lines().findFirst()
                    .orElse(""));
        }
    }

    /** Where an image's files are: a directory or a tar. Names are relative, "/"-separated. */
    private abstract static class Blobs implements Closeable {
        final String display;

        Blobs(String display) {
            this.display = display;
        }

        abstract boolean has(String file) throws IOException;

        /** The file's size; a missing one is an error naming it (and {@code digest}, a blob's). */
        abstract long size(String file, String digest) throws IOException;

        abstract InputStream raw(String file, String digest) throws IOException;

        /** The file, checked against {@code digest} (when not null) once read to its end. */
        InputStream open(String file, String digest) throws IOException {
            InputStream in = raw(file, digest);
            return digest == null ? in : new Verified(in, digest, display, file);
        }

        String sha256(String file) throws IOException {
            var verified = new Verified(raw(file, null), null, display, file);
            try (verified) {
                verified.transferTo(java.io.OutputStream.nullOutputStream());
            }
            return verified.hex();
        }

        CheckpointException missing(String file, String digest) {
            return new CheckpointException(display, (digest != null ? "blob " + digest : file)
                    + " is not in the image");
        }
    }

    /** An image layout directory, every name looked up inside it as under chroot. */
    private static final class DirectoryBlobs extends Blobs {
        private final RootDirectory dir;

        DirectoryBlobs(RootDirectory dir, String display) {
            super(display);
            this.dir = dir;
        }

        @Override
        boolean has(String file) throws IOException {
            var f = dir.open(file, display + "/" + file);
            f.ifPresent(OciImage::closeQuietly);
            return f.isPresent();
        }

        @Override
        long size(String file, String digest) throws IOException {
            var f = dir.open(file, display + "/" + file).orElseThrow(() -> missing(file, digest));
            try (f) {
                return f.size();
            }
        }

        @Override
        InputStream raw(String file, String digest) throws IOException {
            OpenFile f = dir.open(file, display + "/" + file).orElseThrow(() -> missing(file, digest));
            return java.nio.channels.Channels.newInputStream(f.channel());
        }

        @Override
        public void close() {
            dir.close();
        }
    }

    /** A plain tar file, indexed once: each file's data is read at its offset. */
    private static final class TarBlobs extends Blobs {
        /** Decompressed copies, removed when their image is closed. */
        static final Map<Path, Cleanup.Registration> TEMPORARY = new java.util.concurrent.ConcurrentHashMap<>();

        private record Entry(long offset, long size, TarReader.Type type, String link) {
        }

        private final Path tar;
        private final FileChannel channel;
        private final Map<String, Entry> entries;

        private TarBlobs(Path tar, String display, FileChannel channel, Map<String, Entry> entries) {
            super(display);
            this.tar = tar;
            this.channel = channel;
            this.entries = entries;
        }

        static TarBlobs index(Path tar, String display, CheckpointArchive.Limits limits) throws IOException {
            FileChannel channel = FileChannel.open(tar, StandardOpenOption.READ);
            try {
                Map<String, Entry> entries = new HashMap<>();
                var reader = new TarReader(java.nio.channels.Channels.newInputStream(channel.position(0)), display);
                TarReader.Entry e;
                while ((e = reader.next()) != null) {
                    if (entries.size() >= CheckpointArchive.MAX_ENTRIES) {
                        throw new CheckpointException(display, "more than " + CheckpointArchive.MAX_ENTRIES
                                + " entries: not a container image");
                    }
                    entries.put(normal(e.name()), new Entry(reader.position(), e.size(), e.type(), e.linkName()));
                }
                return new TarBlobs(tar, display, channel, entries);
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        }

        private static String normal(String name) {
            return String.join("/", RootBuilder.lexical(name));
        }

        /** The regular file at {@code file}, following links inside the tar. */
        private Optional<Entry> find(String file) {
            String name = normal(file);
            for (int hops = 0; hops <= MAX_TAR_LINKS; hops++) {
                Entry e = entries.get(name);
                if (e == null) {
                    return Optional.empty();
                }
                if (e.type() == TarReader.Type.FILE) {
                    return Optional.of(e);
                }
                if (e.type() == TarReader.Type.SYMLINK) {
                    int slash = name.lastIndexOf('/');
                    name = normal(e.link().startsWith("/") ? e.link()
                            : (slash < 0 ? "" : name.substring(0, slash + 1)) + e.link());
                } else if (e.type() == TarReader.Type.HARD_LINK) {
                    name = normal(e.link());
                } else {
                    return Optional.empty();
                }
            }
            return Optional.empty();
        }

        @Override
        boolean has(String file) {
            return find(file).isPresent();
        }

        @Override
        long size(String file, String digest) throws CheckpointException {
            return find(file).orElseThrow(() -> missing(file, digest)).size();
        }

        @Override
        InputStream raw(String file, String digest) throws CheckpointException {
            Entry e = find(file).orElseThrow(() -> missing(file, digest));
            return new InputStream() {
                private long position = e.offset();
                private final long end = e.offset() + e.size();

                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (position >= end) {
                        return -1;
                    }
                    int n = channel.read(ByteBuffer.wrap(b, off, (int) Math.min(len, end - position)), position);
                    if (n < 0) {
                        throw new CheckpointException(display, "truncated: " + file + " ends at byte " + position);
                    }
                    position += n;
                    return n;
                }
            };
        }

        @Override
        public void close() throws IOException {
            channel.close();
            var removal = TEMPORARY.remove(tar);
            if (removal != null) {
                try {
                    Files.deleteIfExists(tar);
                } finally {
                    removal.close();
                }
            }
        }
    }

    /** A stream whose sha256 must be {@code digest} when it ends. */
    private static final class Verified extends FilterInputStream {
        private final MessageDigest sha;
        private final String digest;
        private final String display;
        private final String file;
        private String hex;

        Verified(InputStream in, String digest, String display, String file) {
            super(in);
            this.sha = sha256();
            this.digest = digest;
            this.display = display;
            this.file = file;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                sha.update(b, off, n);
            } else if (n < 0 && hex == null) {
                hex = HexFormat.of().formatHex(sha.digest());
                if (digest != null && !digest.equals("sha256:" + hex)) {
                    throw new CheckpointException(display, (file.startsWith("blobs/") ? "blob " + digest : file)
                            + " does not match its digest: its bytes hash to sha256:" + hex);
                }
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            byte[] sink = new byte[(int) Math.min(n, 1 << 16)];
            int got = read(sink, 0, sink.length);
            return Math.max(got, 0);
        }

        String hex() {
            return hex;
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // only looked whether it was there
        }
    }
}
