package org.criu2core.core;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.criu2core.image.CheckpointException;
import org.criu2core.sys.OpenFile;
import org.criu2core.sys.RootDirectory;

/**
 * The filesystem the checkpointed processes saw, rooted at --root: mapped files are read from
 * here, by the names the images give, each looked up once. Names are resolved as under chroot
 * ({@link RootDirectory}), so that no name in an image, however crafted, reads a file outside
 * the root; only regular files are opened, and only for reading.
 */
public final class RootFs implements AutoCloseable {
    private final RootDirectory root;
    private final Map<String, Optional<OpenFile>> open = new HashMap<>();
    private final Set<String> missing = new LinkedHashSet<>();

    public RootFs(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            throw new CheckpointException(root.toString(),
                    "no such directory (given as --root, the processes' root filesystem)");
        }
        this.root = RootDirectory.open(root);
    }

    public Path root() {
        return root.path();
    }

    /** The regular file at {@code name} inside the root, opened for reading; empty when it is not there. */
    public synchronized Optional<OpenFile> open(String name) throws IOException {
        Optional<OpenFile> file = open.get(name);
        if (file == null) {
            file = root.open(name, root.path() + name);
            if (file.isEmpty()) {
                missing.add(name);
            }
            open.put(name, file);
        }
        return file;
    }

    /** Names that were asked for and could not be read, in the order they were asked for. */
    public synchronized Set<String> missing() {
        return Set.copyOf(missing);
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
        root.close();
        if (first != null) {
            throw first;
        }
    }
}
