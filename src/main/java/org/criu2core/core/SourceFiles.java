package org.criu2core.core;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import org.criu2core.sys.OpenFile;

/**
 * The pages files and ghost images that cores read from, each opened once (the file itself, not a
 * link to one) and closed together: one conversion's, or a mount's for as long as it is mounted,
 * shared by the cores of all its processes. Opened files are found without a lock, so that
 * concurrent reads of a mounted core do not wait for each other.
 */
public final class SourceFiles implements AutoCloseable {
    private final ConcurrentHashMap<Path, OpenFile> opened = new ConcurrentHashMap<>();
    private boolean closed;

    /** The file at {@code path}, opened on first use. */
    public OpenFile open(Path path) throws IOException {
        OpenFile file = opened.get(path);
        if (file != null) {
            return file;
        }
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException(path + ": opened after its checkpoint's files were closed");
            }
            file = opened.get(path);
            if (file == null) {
                file = OpenFile.openRegular(path, path.toString());
                opened.put(path, file);
            }
            return file;
        }
    }

    @Override
    public synchronized void close() throws IOException {
        closed = true;
        IOException first = null;
        for (OpenFile f : opened.values()) {
            try {
                f.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        opened.clear();
        if (first != null) {
            throw first;
        }
    }
}
