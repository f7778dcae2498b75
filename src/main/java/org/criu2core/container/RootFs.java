package org.criu2core.container;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.criu2core.image.CheckpointException;
import org.criu2core.sys.OpenFile;
import org.criu2core.sys.RootDirectory;

/**
 * The filesystem the checkpointed processes saw, rooted at --root: mapped files are read from
 * here, by the names the images give, each looked up once. Names are resolved as under chroot
 * ({@link RootDirectory}), so that no name in an image, however crafted, reads a file outside
 * the root; only regular files are opened, and only for reading. {@link #none()} reads nothing:
 * for a checkpoint whose root is not known.
 *
 * <p>A lookup costs the kernel about 1 ms on a crafted root, 4 ms on a busy machine (40 links of
 * 4 KiB of "x/.." each; docs/robustness.md), and the images may name as many files as they have VMAs: all the
 * lookups of one RootFs together stop after {@link #DEFAULT_LOOKUP_TIME}; the names not looked up
 * by then read as holes, and {@link #budgetSpent()} says how many.
 */
public final class RootFs implements AutoCloseable {
    /** Far more than the lookups of any real root take (some 10 µs each), and a bound on crafted ones. */
    public static final Duration DEFAULT_LOOKUP_TIME = Duration.ofSeconds(30);

    private final RootDirectory root;
    private final long lookupBudgetNanos;
    /** Names looked up so far: read without a lock, as every read of a mounted core's mapped pages does. */
    private final Map<String, Optional<OpenFile>> open = new ConcurrentHashMap<>();
    private final Set<String> missing = new LinkedHashSet<>();
    private long lookupNanos;
    private int notLookedUp;

    public RootFs(Path root) throws IOException {
        this(root, DEFAULT_LOOKUP_TIME);
    }

    public RootFs(Path root, Duration lookupTime) throws IOException {
        if (!Files.isDirectory(root)) {
            throw new CheckpointException(root.toString(),
                    "no such directory (given as --root, the processes' root filesystem)");
        }
        this.root = RootDirectory.open(root);
        this.lookupBudgetNanos = lookupTime.toNanos();
    }

    private RootFs() {
        this.root = null;
        this.lookupBudgetNanos = 0;
    }

    /**
     * The root to read a checkpoint's mapped files under: {@code given} (--root) if there is one;
     * else / for a directory of images (a checkpoint of this host's processes) and none at all for
     * an archive, which comes from another machine or container: its mapped files read as holes.
     */
    public static RootFs of(Path given, boolean archive, Duration lookupTime) throws IOException {
        if (given != null) {
            return new RootFs(given, lookupTime);
        }
        return archive ? none() : new RootFs(Path.of("/"), lookupTime);
    }

    /** No root: every mapped file reads as holes, and none is reported missing one by one. */
    public static RootFs none() {
        return new RootFs();
    }

    /** The root, or null for {@link #none()}. */
    public Path root() {
        return root == null ? null : root.path();
    }

    /** The regular file at {@code name} inside the root, opened for reading; empty when it is not there. */
    public Optional<OpenFile> open(String name) throws IOException {
        Optional<OpenFile> file = open.get(name);
        return file != null ? file : lookUp(name);
    }

    private synchronized Optional<OpenFile> lookUp(String name) throws IOException {
        Optional<OpenFile> file = open.get(name);
        if (file == null) {
            if (root == null) {
                file = Optional.empty();
            } else if (lookupNanos >= lookupBudgetNanos) {
                notLookedUp++;
                file = Optional.empty();
            } else {
                long start = System.nanoTime();
                file = root.open(name, root.path() + name);
                lookupNanos += System.nanoTime() - start;
                if (file.isEmpty()) {
                    missing.add(name);
                }
            }
            open.put(name, file);
        }
        return file;
    }

    /** Names that were looked up and could not be read, in the order they were asked for. */
    public synchronized Set<String> missing() {
        return Collections.unmodifiableSet(new LinkedHashSet<>(missing));
    }

    /** How many names were not looked up because the lookups had taken all their time; 0 normally. */
    public synchronized int budgetSpent() {
        return notLookedUp;
    }

    @Override
    public synchronized void close() throws IOException {
        IOException first = null;
        for (var file : open.values()) {
            if (file.isPresent()) {
                try {
                    file.get().close();
                } catch (IOException e) {
                    first = first == null ? e : first;
                }
            }
        }
        open.clear();
        if (root != null) {
            root.close();
        }
        if (first != null) {
            throw first;
        }
    }
}
