package org.criu2core.container;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.criu2core.cache.CacheFolder;

/**
 * The root filesystem of a container checkpoint, built from what the user has: the container's
 * image (--image: an OCI layout, oci-archive or docker-archive), its layers applied in order,
 * then the archive's rootfs-diff.tar (the files the container wrote: a plain tar with
 * deleted.files for podman and CRI-O, a gzip OCI layer with whiteouts for containerd), then the
 * removal of each path in deleted.files. Without an image, the container's own files alone: a
 * library it wrote and then mapped is still found, and the rest of the image's files are said to
 * be missing.
 *
 * <p>A root is built once into the cache ({@link RootCache}), keyed by the digests of what went
 * into it, and reused by later commands on the same image and checkpoint.
 */
public final class ContainerRoots {
    /** Changes whenever the way a root is built changes, so older roots are not reused. */
    private static final String FORMAT = "criu2core root 1";
    /** The cache's bound by default (cores and roots): cores are sparse, so this counts their apparent size. */
    public static final long DEFAULT_CACHE_LIMIT = 16L << 30;
    private static final String FOLDER = "roots";
    /** Beside the roots: which checkpoint and image had which root. */
    static final String MEMOS = "by-source";

    private ContainerRoots() {
    }

    /** Removes every root in {@code cache} that no command uses now. */
    public static void clean(Path cache) throws IOException {
        new RootCache(cache.resolve(FOLDER), cache, DEFAULT_CACHE_LIMIT).clean();
    }

    /** Where and how much: the cache folder (cores and roots) and its bound, and the unpack limits. */
    public record Settings(Path cache, long cacheLimit, CheckpointArchive.Limits limits) {
        public static Settings defaults(CheckpointArchive.Limits limits, long cacheLimit) {
            return new Settings(CacheFolder.defaultCache(), cacheLimit, limits);
        }
    }

    /**
     * A built root while a command uses it; {@code notes} are what the user should know (files
     * missing, an image other than the container's), one line each.
     */
    public static final class Root implements AutoCloseable {
        private final RootCache.Held held;
        private final List<String> notes;

        Root(RootCache.Held held, List<String> notes) {
            this.held = held;
            this.notes = List.copyOf(notes);
        }

        public Path path() {
            return held.root();
        }

        public List<String> notes() {
            return notes;
        }

        /** Whether this command built it (false: the cache had it). */
        public boolean built() {
            return held.built;
        }

        @Override
        public void close() throws IOException {
            held.close();
        }
    }

    /**
     * The root built before for {@code checkpoint} and {@code image} (may be null), found by the
     * names, sizes and times of their files alone, so that nothing of a large archive is read
     * again; empty when there is none, or either changed since.
     */
    public static java.util.Optional<Root> reuse(Path checkpoint, Path image, Settings settings) throws IOException {
        Path memo = memo(checkpoint, image, settings);
        if (memo == null || !Files.isRegularFile(memo)) {
            return java.util.Optional.empty();
        }
        Remembered remembered;
        try {
            remembered = MEMO_JSON.readValue(memo.toFile(), Remembered.class);
        } catch (IOException e) {
            return java.util.Optional.empty(); // written by another version, or cut short: built again
        }
        var cache = new RootCache(settings.cache().resolve(FOLDER), settings.cache(), settings.cacheLimit());
        return cache.reuse(remembered.key()).map(held -> new Root(held, remembered.notes()));
    }

    /** What {@link #reuse} finds: the root's key and the notes said when it was built. */
    private record Remembered(String key, List<String> notes) {
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper MEMO_JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();

    /** Where the root of {@code checkpoint} and {@code image} is remembered; null for a checkpoint that is no file or folder. */
    private static Path memo(Path checkpoint, Path image, Settings settings) throws IOException {
        if (!Files.exists(checkpoint) || image != null && !Files.exists(image)) {
            return null;
        }
        MessageDigest sha = OciImage.sha256();
        sha.update((FORMAT + "\0").getBytes(StandardCharsets.UTF_8));
        for (Path p : image == null ? List.of(checkpoint) : List.of(checkpoint, image)) {
            sha.update(fingerprint(p).getBytes(StandardCharsets.UTF_8));
        }
        return settings.cache().resolve(FOLDER).resolve(MEMOS).resolve(HexFormat.of().formatHex(sha.digest())
                .substring(0, 32) + ".json");
    }

    /** A file's real path, size, time and inode; a folder's, and those of every file directly in it. */
    private static String fingerprint(Path path) throws IOException {
        StringBuilder b = new StringBuilder(path.toRealPath().toString()).append('\0');
        List<Path> files = new ArrayList<>(List.of(path));
        if (Files.isDirectory(path)) {
            try (var list = Files.list(path)) {
                files.addAll(list.sorted().toList());
            }
        }
        for (Path f : files) {
            var a = Files.readAttributes(f, java.nio.file.attribute.BasicFileAttributes.class,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS);
            b.append(f.getFileName()).append(' ').append(a.size()).append(' ').append(a.lastModifiedTime().toMillis())
                    .append(' ').append(a.fileKey()).append('\n');
        }
        return b.toString();
    }

    /**
     * The root of {@code source} built with {@code image} (may be null); null when there is nothing
     * to build it from (neither an image nor files of the container's own). {@code platform} is the
     * checkpoint's ("linux/amd64"), to choose among an image index's manifests.
     */
    public static Root of(CheckpointArchive source, Path image, String platform, Settings settings)
            throws IOException {
        return of(null, source, image, platform, settings);
    }

    /**
     * As {@link #of(CheckpointArchive, Path, String, Settings)}, and remembered for
     * {@link #reuse} under {@code checkpoint}, the path {@code source} was opened from.
     */
    public static Root of(Path checkpoint, CheckpointArchive source, Path image, String platform, Settings settings)
            throws IOException {
        if (image == null && source.rootfsDiff().isEmpty()) {
            return null;
        }
        List<String> notes = new ArrayList<>();
        var container = source.container();
        OciImage oci = image == null ? null : OciImage.open(image, settings.limits());
        try {
            OciImage.Image chosen = null;
            if (oci != null) {
                chosen = oci.select(platform, container.map(ContainerMetadata::image).orElse(null));
                if (container.isPresent()) {
                    var same = ImageNames.matches(chosen, container.get().image(), container.get().imageRef());
                    if (same.isPresent() && !same.get()) {
                        notes.add("warning: the container ran the image " + describe(container.get()) + ", and --image "
                                + image + " is " + describe(chosen) + ": its files may not be those the processes "
                                + "mapped");
                    }
                }
            } else {
                notes.add("note: the root holds only the files the container wrote (" + CheckpointArchive.ROOTFS_DIFF
                        + "); the image's files are missing: give the container's image with --image");
            }
            String key = key(chosen, source);
            var cache = new RootCache(settings.cache().resolve(FOLDER), settings.cache(), settings.cacheLimit());
            final OciImage from = oci;
            final OciImage.Image layers = chosen;
            var held = cache.obtain(key, folder -> build(folder, from, layers, source, settings.limits()));
            Path memo = checkpoint == null ? null : memo(checkpoint, image, settings);
            if (memo != null) {
                Files.createDirectories(memo.getParent());
                byte[] json = MEMO_JSON.writeValueAsBytes(new Remembered(key, notes));
                Path part = Files.createTempFile(memo.getParent(), memo.getFileName().toString(), ".part");
                Files.write(part, json);
                Files.move(part, memo, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
            return new Root(held, notes);
        } finally {
            if (oci != null) {
                oci.close();
            }
        }
    }

    private static void build(Path folder, OciImage oci, OciImage.Image image, CheckpointArchive source,
                              CheckpointArchive.Limits limits) throws IOException {
        var builder = new RootBuilder(folder, new RootBuilder.Limits(limits.maxBytes(),
                RootBuilder.Limits.DEFAULTS.maxEntries(), RootBuilder.Limits.DEFAULTS.maxDepth()));
        if (image != null) {
            int i = 0;
            for (var layer : image.layers()) {
                i++;
                String name = oci.display() + " (layer " + i + " of " + image.layers().size() + ", "
                        + (layer.digest() != null ? layer.digest() : layer.file()) + ")";
                try (InputStream in = Compression.decompressed(oci.open(layer), name)) {
                    builder.applyLayer(in, name, layer.diffId());
                }
            }
        }
        var diff = source.rootfsDiff();
        if (diff.isPresent()) {
            String name = diff.get().getFileName() + " of the checkpoint";
            try (InputStream in = Compression.decompressed(Files.newInputStream(diff.get()), name)) {
                builder.applyLayer(in, name, null);
            }
        }
        builder.delete(source.deletedFiles(), CheckpointArchive.DELETED_FILES);
        builder.finish();
    }

    /** What went into a root: the layers' digests, the diff's bytes, the deleted paths. */
    private static String key(OciImage.Image image, CheckpointArchive source) throws IOException {
        MessageDigest sha = OciImage.sha256();
        sha.update(FORMAT.getBytes(StandardCharsets.UTF_8));
        if (image != null) {
            for (var layer : image.layers()) {
                // the uncompressed tar's digest first: the same layer saved as oci-archive (compressed)
                // and as docker-archive (not) is one root
                String id = layer.diffId() != null ? layer.diffId() : layer.digest() != null ? layer.digest()
                        : image.configDigest() + "/" + layer.file();
                sha.update(("\0layer " + id).getBytes(StandardCharsets.UTF_8));
            }
        }
        var diff = source.rootfsDiff();
        if (diff.isPresent()) {
            sha.update("\0diff ".getBytes(StandardCharsets.UTF_8));
            try (InputStream in = Files.newInputStream(diff.get())) {
                byte[] buffer = new byte[1 << 16];
                int n;
                while ((n = in.read(buffer)) > 0) {
                    sha.update(buffer, 0, n);
                }
            }
        }
        for (String deleted : source.deletedFiles()) {
            sha.update(("\0deleted " + deleted).getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(sha.digest()).substring(0, 32);
    }

    private static String describe(ContainerMetadata c) {
        String name = c.image() != null ? c.image() : "";
        String ref = c.imageRef() != null ? c.imageRef() : "";
        return name.isEmpty() ? ref : ref.isEmpty() || ref.contains(name) ? name : name + " (" + ref + ")";
    }

    private static String describe(OciImage.Image image) {
        String names = String.join(", ", image.names());
        return (names.isEmpty() ? "" : names + " ") + "(image id " + image.configDigest() + ")";
    }
}
