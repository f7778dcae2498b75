package org.criu2core.core;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The filesystem the checkpointed processes saw, rooted at --root: mapped files are read from
 * here, by the names the images give. Names are resolved as under chroot, one component at a
 * time with symbolic links followed inside the root, so that no name in an image, however
 * crafted, reads a file outside it. Files are only ever opened for reading.
 */
public final class RootFs implements AutoCloseable {
    /** Linux's MAXSYMLINKS: more links than this in one name is a loop. */
    private static final int MAX_SYMLINKS = 40;

    private final Path root;
    private final Map<String, Optional<FileChannel>> open = new HashMap<>();
    private final Set<String> missing = new LinkedHashSet<>();

    public RootFs(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            throw new org.criu2core.image.CheckpointException(root.toString(),
                    "no such directory (given as --root, the processes' root filesystem)");
        }
        this.root = root.toRealPath();
    }

    public Path root() {
        return root;
    }

    /** The file at {@code name} inside the root, opened for reading; empty when it is not there. */
    public synchronized Optional<FileChannel> open(String name) {
        return open.computeIfAbsent(name, n -> {
            Optional<Path> file = resolve(n);
            if (file.isEmpty() || !Files.isRegularFile(file.get())) {
                missing.add(n);
                return Optional.empty();
            }
            try {
                return Optional.of(FileChannel.open(file.get(), StandardOpenOption.READ));
            } catch (IOException e) {
                missing.add(n);
                return Optional.empty();
            }
        });
    }

    /** Names that were asked for and could not be read, in the order they were asked for. */
    public synchronized Set<String> missing() {
        return Set.copyOf(missing);
    }

    /** {@code name} resolved inside the root, or empty when a component is missing or links loop. */
    Optional<Path> resolve(String name) {
        Deque<String> todo = new ArrayDeque<>();
        push(todo, name);
        Path current = root;
        int links = 0;
        while (!todo.isEmpty()) {
            String component = todo.pop();
            if (component.isEmpty() || component.equals(".")) {
                continue;
            }
            if (component.equals("..")) {
                if (!current.equals(root)) {
                    current = current.getParent();
                }
                continue;
            }
            Path next = current.resolve(component);
            if (Files.isSymbolicLink(next)) {
                if (++links > MAX_SYMLINKS) {
                    return Optional.empty();
                }
                String target;
                try {
                    target = Files.readSymbolicLink(next).toString();
                } catch (IOException e) {
                    return Optional.empty();
                }
                push(todo, target);
                if (target.startsWith("/")) {
                    current = root;
                }
                continue;
            }
            if (!Files.exists(next, LinkOption.NOFOLLOW_LINKS)) {
                return Optional.empty();
            }
            current = next;
        }
        return Optional.of(current);
    }

    private static void push(Deque<String> todo, String path) {
        String[] parts = path.split("/");
        for (int i = parts.length - 1; i >= 0; i--) {
            todo.push(parts[i]);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        IOException first = null;
        for (var channel : open.values()) {
            if (channel.isPresent()) {
                try {
                    channel.get().close();
                } catch (IOException e) {
                    first = first == null ? e : first;
                }
            }
        }
        open.clear();
        if (first != null) {
            throw first;
        }
    }
}
