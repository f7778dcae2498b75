package org.criu2core.container;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.criu2core.image.CheckpointException;
import org.criu2core.sys.Cleanup;
import org.criu2core.sys.RootDirectory;

/**
 * Builds a container's root filesystem in a directory of its own, as a container engine's
 * overlay shows it: the image's layers applied in order, then the container's own changes, each
 * by the OCI rules (image-spec layer.md), one method per rule. Layers are hostile input: no entry,
 * whiteout, symbolic or hard link leads a write out of the root (every folder is found inside
 * it, as under chroot, through {@link RootDirectory}), devices and FIFOs are not made, modes lose
 * their set-id bits, and the whole is bounded in bytes, entries and depth. A refusal is one line
 * naming the layer and the entry.
 *
 * <p>When every layer is in, {@link #finish} rewrites each symbolic link to the relative path
 * where it leads inside the root: a debugger given the root as its sysroot follows links on the
 * host, where an absolute one (Debian's {@code /lib64/ld-linux-x86-64.so.2 ->
 * /lib/x86_64-linux-gnu/...}) would reach the host's file instead of the container's.
 */
final class RootBuilder {
    /** What one root may hold: far beyond real images (a Debian base image has some 10 000 entries). */
    record Limits(long maxBytes, int maxEntries, int maxDepth) {
        static final Limits DEFAULTS = new Limits(CheckpointArchive.DEFAULT_MAX_BYTES, 2_000_000, 256);
    }

    private static final String WHITEOUT = ".wh.";
    private static final String OPAQUE = ".wh..wh..opq";
    /** Folders are the builder's to change while it works, whatever a layer says of their mode. */
    private static final int OWNER_ALL = 0700;

    private final Path dir;
    private final RootDirectory root;
    private final Limits limits;
    private final byte[] buffer = new byte[1 << 20];
    private long bytes;
    private int entries;
    private int skippedSpecial;

    RootBuilder(Path dir, Limits limits) throws IOException {
        this.dir = dir.toRealPath();
        this.root = RootDirectory.open(this.dir);
        this.limits = limits;
    }

    /** Devices, FIFOs and sockets the layers held, which were not made. */
    int skippedSpecialFiles() {
        return skippedSpecial;
    }

    /**
     * Applies one layer: {@code tar} its uncompressed tar, read to its end; {@code layer} names it
     * in errors (its digest). {@code diffId}, when not null, is the digest the uncompressed tar must
     * have (an image config's rootfs.diff_ids).
     */
    void applyLayer(InputStream tar, String layer, String diffId) throws IOException {
        MessageDigest sha = diffId != null ? OciImage.sha256() : null;
        InputStream in = sha == null ? tar : new java.security.DigestInputStream(tar, sha);
        new LayerApplication(layer).apply(new TarReader(in, layer));
        if (sha != null) {
            in.transferTo(java.io.OutputStream.nullOutputStream()); // the tar's padding after its end
            String hex = HexFormat.of().formatHex(sha.digest());
            if (!diffId.equals("sha256:" + hex)) {
                throw new CheckpointException(layer, "does not match its diff_id " + diffId + ": its tar hashes to sha256:"
                        + hex);
            }
        } else {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
    }

    /** Removes the paths a container deleted from its image (deleted.files: absolute paths). */
    void delete(List<String> paths, String from) throws IOException {
        for (String path : paths) {
            List<String> parts = components(path, from, "deleted path");
            if (parts.isEmpty()) {
                continue;
            }
            Optional<Path> parent = directory(parts.subList(0, parts.size() - 1), false, from, path);
            if (parent.isPresent()) {
                removeTree(parent.get().resolve(parts.get(parts.size() - 1)));
            }
        }
    }

    /**
     * Rewrites every symbolic link of the root to the relative path where it leads inside it
     * (see the class comment); a link that leads nowhere keeps a relative form of its target in
     * which ".." stops at the root.
     */
    void finish() throws IOException {
        List<Path> links = new ArrayList<>();
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (attrs.isSymbolicLink()) {
                    links.add(file);
                }
                return FileVisitResult.CONTINUE;
            }
        });
        for (Path link : links) {
            String target = Files.readSymbolicLink(link).toString();
            Path folder = link.getParent();
            String inRoot = target.startsWith("/") ? target : dir.relativize(folder) + "/" + target;
            Optional<Path> real = root.resolve(inRoot);
            Path where = real.orElseGet(() -> dir.resolve(String.join("/", lexical(inRoot))));
            String relative = folder.relativize(where).toString();
            if (!relative.equals(target)) {
                Files.delete(link);
                Files.createSymbolicLink(link, Path.of(relative.isEmpty() ? "." : relative));
            }
        }
        root.close();
    }

    /** The components of {@code name} as under chroot: "." dropped, ".." stopping at the root. */
    static List<String> lexical(String name) {
        List<String> parts = new ArrayList<>();
        for (String p : name.split("/")) {
            if (p.isEmpty() || p.equals(".")) {
                continue;
            }
            if (p.equals("..")) {
                if (!parts.isEmpty()) {
                    parts.remove(parts.size() - 1);
                }
            } else {
                parts.add(p);
            }
        }
        return parts;
    }

    /**
     * A path of a layer as components: without the "./" and "/" writers put first, each one a
     * name. ".." is refused: no honest layer has it, and it is how a hostile one leads out.
     */
    private List<String> components(String name, String layer, String what) throws CheckpointException {
        List<String> parts = new ArrayList<>();
        for (String p : name.split("/")) {
            if (p.isEmpty() || p.equals(".")) {
                continue;
            }
            if (p.equals("..")) {
                throw new CheckpointException(layer, what + " \"" + name + "\" leads outside the root (\"..\")");
            }
            parts.add(p);
        }
        if (parts.size() > limits.maxDepth()) {
            throw new CheckpointException(layer, what + " \"" + name + "\" is " + parts.size()
                    + " folders deep, more than the " + limits.maxDepth() + " criu2core unpacks");
        }
        return parts;
    }

    /**
     * The folder {@code parts} lead to inside the root, links followed as under chroot; missing
     * folders are made when {@code make} (layers may leave out an entry's parents), else empty.
     * Something there that is no folder is an error.
     */
    private Optional<Path> directory(List<String> parts, boolean make, String layer, String entry)
            throws IOException {
        Path current = dir;
        for (int i = 0; i < parts.size(); i++) {
            String prefix = String.join("/", parts.subList(0, i + 1));
            Optional<Path> found = root.resolve(prefix);
            if (found.isPresent()) {
                if (!Files.isDirectory(found.get(), LinkOption.NOFOLLOW_LINKS)) {
                    throw new CheckpointException(layer, "entry \"" + entry + "\": " + prefix
                            + " is no folder in the root");
                }
                current = found.get();
                continue;
            }
            if (!make) {
                return Optional.empty();
            }
            Path next = current.resolve(parts.get(i));
            if (Files.exists(next, LinkOption.NOFOLLOW_LINKS)) {
                // a link that leads nowhere: made a folder by no rule of the layer format
                throw new CheckpointException(layer, "entry \"" + entry + "\": " + prefix
                        + " is a link to nothing in the root");
            }
            countEntry(layer, entry);
            Files.createDirectory(next);
            current = next;
        }
        return Optional.of(current);
    }

    private void countEntry(String layer, String entry) throws CheckpointException {
        if (++entries > limits.maxEntries()) {
            throw new CheckpointException(layer, "entry \"" + entry + "\": the root would hold more than "
                    + limits.maxEntries() + " files and folders");
        }
    }

    /** Removes a file, a link or a folder with all it holds; nothing is followed. */
    private static void removeTree(Path path) throws IOException {
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            Cleanup.deleteTree(path);
        }
    }

    /** One layer's entries; the paths it wrote, which its own whiteouts leave alone (umoci's upperPaths). */
    private final class LayerApplication {
        private final String layer;
        private final Set<String> written = new HashSet<>();

        LayerApplication(String layer) {
            this.layer = layer;
        }

        void apply(TarReader tar) throws IOException {
            TarReader.Entry entry;
            while ((entry = tar.next()) != null) {
                if (Thread.currentThread().isInterrupted()) {
                    throw new InterruptedIOException("interrupted while a root was built");
                }
                List<String> parts = components(entry.name(), layer, "entry");
                if (parts.isEmpty()) {
                    continue; // "./": the root itself
                }
                String base = parts.get(parts.size() - 1);
                List<String> folder = parts.subList(0, parts.size() - 1);
                if (base.equals(OPAQUE)) {
                    opaque(folder, entry);
                } else if (base.startsWith(WHITEOUT + WHITEOUT)) {
                    continue; // aufs' own files (.wh..wh.plnk, .wh..wh.aufs), no rule of OCI's
                } else if (base.startsWith(WHITEOUT)) {
                    whiteout(folder, base.substring(WHITEOUT.length()), entry);
                } else {
                    add(tar, folder, base, entry);
                }
            }
        }

        /**
         * {@code .wh..wh..opq}: the folder keeps only what this layer puts in it; what lower layers
         * put there is gone. The folder itself stays.
         */
        private void opaque(List<String> folder, TarReader.Entry entry) throws IOException {
            Optional<Path> dirPath = directory(folder, true, layer, entry.name());
            String prefix = String.join("/", folder);
            try (DirectoryStream<Path> children = Files.newDirectoryStream(dirPath.get())) {
                for (Path child : children) {
                    String path = prefix.isEmpty() ? child.getFileName().toString()
                            : prefix + "/" + child.getFileName();
                    if (!written.contains(path)) {
                        removeTree(child);
                    }
                }
            }
            markWritten(folder);
        }

        /**
         * {@code .wh.NAME}: NAME, and all under it, is removed from the lower layers; what this
         * layer itself wrote at NAME stays, whether the whiteout comes before or after it in the
         * tar.
         */
        private void whiteout(List<String> folder, String name, TarReader.Entry entry) throws IOException {
            if (name.isEmpty() || name.equals(".") || name.equals("..")) {
                throw new CheckpointException(layer, "entry \"" + entry.name() + "\" is a whiteout of \"" + name
                        + "\", which names no file");
            }
            List<String> path = new ArrayList<>(folder);
            path.add(name);
            if (written.contains(String.join("/", path))) {
                return;
            }
            Optional<Path> parent = directory(folder, false, layer, entry.name());
            if (parent.isPresent()) {
                removeTree(parent.get().resolve(name));
            }
        }

        /** A file, folder or link of the layer, replacing what lower layers had at its path. */
        private void add(TarReader tar, List<String> folder, String name, TarReader.Entry entry) throws IOException {
            if (entry.type() == TarReader.Type.OTHER) {
                skippedSpecial++; // devices, FIFOs: a debugger reads none of them, and making them needs privileges
                return;
            }
            if (entry.type() == TarReader.Type.SPARSE) {
                throw new CheckpointException(layer, "entry \"" + entry.name() + "\" is a GNU sparse file, which "
                        + "criu2core does not unpack");
            }
            Path parent = directory(folder, true, layer, entry.name()).orElseThrow();
            Path target = parent.resolve(name);
            boolean exists = Files.exists(target, LinkOption.NOFOLLOW_LINKS);
            if (entry.type() == TarReader.Type.DIRECTORY && Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
                Files.setPosixFilePermissions(target, permissions(entry.mode() | OWNER_ALL));
                markWritten(append(folder, name));
                return;
            }
            if (exists) {
                removeTree(target);
            }
            countEntry(layer, entry.name());
            switch (entry.type()) {
                case DIRECTORY -> {
                    Files.createDirectory(target);
                    Files.setPosixFilePermissions(target, permissions(entry.mode() | OWNER_ALL));
                }
                case FILE -> file(tar, entry, target);
                case SYMLINK -> symlink(entry, target);
                case HARD_LINK -> hardLink(entry, target);
                default -> throw new IllegalStateException(entry.type().name());
            }
            markWritten(append(folder, name));
        }

        /** A regular file: its data, no more than the header says, within the root's bytes and the disk's free space. */
        private void file(TarReader tar, TarReader.Entry entry, Path target) throws IOException {
            bytes += entry.size();
            if (bytes > limits.maxBytes()) {
                throw new CheckpointException(layer, "entry \"" + entry.name() + "\": the root would pass "
                        + limits.maxBytes() + " bytes (--max-unpack allows more)");
            }
            CheckpointArchive.checkSpace(layer, entry.name(), entry.size(), target.getParent());
            try (var out = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS)) {
                int n;
                while ((n = tar.read(buffer)) > 0) {
                    var b = ByteBuffer.wrap(buffer, 0, n);
                    while (b.hasRemaining()) {
                        out.write(b);
                    }
                }
            } catch (FileAlreadyExistsException e) {
                throw new CheckpointException(layer, "entry \"" + entry.name() + "\" could not be made");
            }
            // readable by its owner whatever the layer says: a debugger must read it
            Files.setPosixFilePermissions(target, permissions((entry.mode() & 0777) | 0400));
        }

        /** A symbolic link, as the layer has it: where it leads is settled by {@link RootBuilder#finish}. */
        private void symlink(TarReader.Entry entry, Path target) throws IOException {
            String to = entry.linkName();
            if (to.isEmpty() || to.indexOf('\0') >= 0 || to.length() >= 4096) {
                throw new CheckpointException(layer, "entry \"" + entry.name() + "\" is a link to \"" + to
                        + "\", which is no path");
            }
            Files.createSymbolicLink(target, Path.of(to));
        }

        /**
         * A hard link: to a file already in the root (this layer's or a lower one's), named from
         * the root; the name's folders are followed as under chroot, the file itself is not.
         */
        private void hardLink(TarReader.Entry entry, Path target) throws IOException {
            List<String> to = components(entry.linkName(), layer, "hard link target");
            if (to.isEmpty()) {
                throw new CheckpointException(layer, "entry \"" + entry.name() + "\" is a hard link to the root");
            }
            Optional<Path> folder = directory(to.subList(0, to.size() - 1), false, layer, entry.name());
            Path existing = folder.map(f -> f.resolve(to.get(to.size() - 1))).orElse(null);
            if (existing == null || !Files.isRegularFile(existing, LinkOption.NOFOLLOW_LINKS)) {
                throw new CheckpointException(layer, "entry \"" + entry.name() + "\" is a hard link to \""
                        + entry.linkName() + "\", which is no file in the root");
            }
            Files.createLink(target, existing);
        }

        /** The path and every folder above it: a whiteout of any of them leaves them to this layer. */
        private void markWritten(List<String> parts) {
            for (int i = 1; i <= parts.size(); i++) {
                written.add(String.join("/", parts.subList(0, i)));
            }
        }
    }

    private static List<String> append(List<String> folder, String name) {
        List<String> path = new ArrayList<>(folder);
        path.add(name);
        return path;
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = {PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
                PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.GROUP_READ, PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
                PosixFilePermission.OWNER_READ};
        for (int i = 0; i < bits.length; i++) {
            if ((mode & (1 << i)) != 0) {
                set.add(bits[i]);
            }
        }
        return set;
    }
}
