package org.criu2core.model;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.criu2core.image.CheckpointException;
import org.criu2core.image.Image;
import org.criu2core.image.ImageReader;
import org.criu2core.sys.OpenFile;

/**
 * A directory of CRIU images, and the chain of parent snapshots behind it (criu dump
 * --prev-images-dir writes a {@code parent} link to the previous dump). Files are named in errors
 * by the path the user gave, so messages point where the user can look.
 */
public final class CheckpointDir {
    static final String PARENT = "parent";
    /** More parent snapshots than any real chain has; beyond, the chain is taken to be broken. */
    static final int MAX_PARENT_DEPTH = 256;

    private final Path dir;
    private final int depth;
    private final Set<Path> chain;
    /** Where every snapshot of the chain must be: the directory the first one is in. */
    private final Path home;

    public CheckpointDir(Path dir) throws IOException {
        this(dir, 0, new HashSet<>(), null);
    }

    private CheckpointDir(Path dir, int depth, Set<Path> chain, Path home) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new CheckpointException(dir.toString(), Files.exists(dir)
                    ? "not a directory of CRIU images" : "no such directory");
        }
        this.dir = dir;
        this.depth = depth;
        this.chain = chain;
        Path real = dir.toRealPath();
        Path up = real.getParent();
        this.home = home != null ? home : up != null ? up : real;
        if (!chain.add(real)) {
            throw new CheckpointException(dir.toString(), "the parent snapshot links loop back to this directory");
        }
    }

    public Path path() {
        return dir;
    }

    public Path file(String name) {
        return dir.resolve(name);
    }

    /**
     * Whether the checkpoint has an image of that name: anything but a folder counts, so that a
     * link or FIFO in an image's place is reported when it is read, not taken for a missing image.
     */
    public boolean has(String name) {
        Path file = dir.resolve(name);
        return Files.exists(file, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(file, LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * The size of the file {@code name}, -1 when there is none; a link or anything but a regular
     * file in its place is an error (its target is not the checkpoint's).
     */
    public long size(String name) throws IOException {
        Path file = dir.resolve(name);
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return -1;
        }
        if (!attributes.isRegularFile()) {
            // as OpenFile.openRegular says it, which reads every other image
            throw new CheckpointException(file.toString(), attributes.isSymbolicLink()
                    ? "is a symbolic link, not a file" : "is not a regular file");
        }
        return attributes.size();
    }

    /** The name of a file for messages: as the user would type it. */
    public String display(String name) {
        return dir.resolve(name).toString();
    }

    public Image read(String name) throws IOException {
        Path file = dir.resolve(name);
        if (!has(name)) {
            throw new CheckpointException(file.toString(), "missing from the checkpoint");
        }
        return ImageReader.read(file, file.toString());
    }

    /**
     * Hands each entry of {@code name}, an image of the kind {@code magic} without payloads, to
     * {@code visitor} unparsed, and keeps none (ImageReader.forEach).
     */
    public void forEach(String name, String magic, ImageReader.RawEntryVisitor visitor) throws IOException {
        Path file = dir.resolve(name);
        if (!has(name)) {
            throw new CheckpointException(file.toString(), "missing from the checkpoint");
        }
        ImageReader.forEach(file, file.toString(), magic, visitor);
    }

    /** Reads an image that must be of the kind {@code magic}, as its name says. */
    public Image read(String name, String magic) throws IOException {
        Image image = read(name);
        if (!image.magic().equals(magic)) {
            throw new org.criu2core.image.ImageFormatException(display(name), 0, "a " + image.magic()
                    + " image where a " + magic + " image belongs");
        }
        return image;
    }

    /** The first entry of an image that holds one (inventory, core, mm), of the type it must be. */
    public <M extends com.google.protobuf.Message> M readEntry(String name, Class<M> type) throws IOException {
        Image image = read(name);
        if (image.entries().isEmpty()) {
            throw new org.criu2core.image.ImageFormatException(display(name), 0, image.magic() + " image without an entry");
        }
        var message = image.entries().get(0).message();
        if (!type.isInstance(message)) {
            throw new org.criu2core.image.ImageFormatException(display(name), 0, "a " + image.magic()
                    + " image where an image of " + type.getSimpleName() + " belongs");
        }
        return type.cast(message);
    }

    /**
     * The previous snapshot of an incremental dump, if this one has a {@code parent}: a symbolic
     * link as CRIU makes it, or a file holding the link's target where a copy flattened links.
     */
    public Optional<CheckpointDir> parent() throws IOException {
        Path link = dir.resolve(PARENT);
        if (!Files.exists(link, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        Path target;
        if (Files.isSymbolicLink(link)) {
            target = Files.readSymbolicLink(link);
        } else if (Files.isRegularFile(link, LinkOption.NOFOLLOW_LINKS)) {
            target = Path.of(readTarget(link));
        } else {
            target = link;
        }
        Path resolved = dir.resolve(target).normalize();
        if (!Files.isDirectory(resolved)) {
            throw new CheckpointException(link.toString(), "the parent snapshot " + target + " is missing");
        }
        if (depth + 1 > MAX_PARENT_DEPTH) {
            throw new CheckpointException(link.toString(), "more than " + MAX_PARENT_DEPTH + " parent snapshots");
        }
        // snapshots of one chain live side by side (criu --prev-images-dir ../N); a link out of
        // that directory is not a parent snapshot but a path into the rest of the filesystem
        Path real = resolved.toRealPath();
        if (!real.startsWith(home)) {
            throw new CheckpointException(link.toString(), "the parent snapshot " + target + " is outside "
                    + home + ", where the snapshots of this checkpoint are");
        }
        // each parent carries the chain that led to it: asking twice is not a loop. It is read
        // at the path that was checked, links resolved, not through the links again
        return Optional.of(new CheckpointDir(real, depth + 1, new HashSet<>(chain), home));
    }

    /** A parent link that a copy flattened into a file holding its target: a short regular file, read without blocking. */
    private static String readTarget(Path link) throws IOException {
        try (OpenFile file = OpenFile.openRegular(link, link.toString())) {
            if (file.size() >= 4096) {
                throw new CheckpointException(link.toString(), "is neither a link to the parent snapshot nor a "
                        + "short file naming it");
            }
            var bytes = java.nio.ByteBuffer.allocate((int) file.size());
            while (bytes.hasRemaining() && file.channel().read(bytes, bytes.position()) > 0) {
                // until full or the end
            }
            return new String(bytes.array(), 0, bytes.position(), StandardCharsets.UTF_8).strip();
        }
    }
}
