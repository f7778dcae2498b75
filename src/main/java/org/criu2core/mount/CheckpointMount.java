package org.criu2core.mount;

import java.io.IOException;
import java.nio.file.Path;
import org.criu2core.sys.Cleanup;
import org.criu2core.sys.FuseMount;

/**
 * A checkpoint's cores mounted read-only at a directory, one core.PID per process, byte for byte
 * what `convert` writes, read on demand ({@link CheckpointCores}). Unmounted by {@link #close},
 * and when the JVM is stopped (SIGINT, SIGTERM: {@link Cleanup}); where fusermount3 is installed
 * also when this process is killed outright. The checkpoint's files must not change while it is
 * mounted.
 */
public final class CheckpointMount implements AutoCloseable {
    private final CheckpointCores cores;
    private final FuseMount fuse;
    private final Cleanup.Registration stop;

    private CheckpointMount(CheckpointCores cores, FuseMount fuse, Cleanup.Registration stop) {
        this.cores = cores;
        this.fuse = fuse;
        this.stop = stop;
    }

    /**
     * Mounts {@code cores} at {@code dir}, an existing directory; they are closed with the mount.
     * A mount that cannot be made is one line saying why (and {@code cores} are left open).
     */
    public static CheckpointMount mount(CheckpointCores cores, Path dir, FuseMount.Failures failures)
            throws IOException {
        FuseMount fuse = FuseMount.mount(dir, cores, failures);
        return new CheckpointMount(cores, fuse, Cleanup.onShutdown(fuse::close));
    }

    public CheckpointCores cores() {
        return cores;
    }

    public Path dir() {
        return fuse.dir();
    }

    /** The path of a mounted core. */
    public Path core(CheckpointCores.Core core) {
        return fuse.dir().resolve(core.name());
    }

    /** Waits until the cores are unmounted, from outside (fusermount3 -u) or by {@link #close}. */
    public void await() throws InterruptedException {
        fuse.await();
    }

    public boolean mounted() {
        return fuse.mounted();
    }

    @Override
    public void close() throws IOException {
        try (stop; cores) {
            fuse.close();
        }
    }
}
