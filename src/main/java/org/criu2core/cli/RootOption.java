package org.criu2core.cli;

import java.nio.file.Path;
import java.time.Duration;
import org.criu2core.api.Criu2Core;
import picocli.CommandLine.Option;

/** --root and --image, for the commands that read mapped files. */
final class RootOption {
    @Option(names = "--root", paramLabel = "DIR",
            description = "the processes' root filesystem, where mapped files are read (default: / for a directory "
                    + "of images; for a container checkpoint the root built from --image and the files the container "
                    + "wrote)")
    Path root;

    @Option(names = "--image", paramLabel = "IMAGE",
            description = "the container's image: an OCI layout directory, or an oci-archive or docker-archive tar "
                    + "(podman save, docker save, skopeo). Its layers, then the files the container wrote (the "
                    + "archive's rootfs-diff.tar and deleted.files), are the root; built once into "
                    + "$${XDG_CACHE_HOME:-~/.cache}/criu2core/roots and reused")
    Path image;

    @Option(names = "--lookup-time", paramLabel = "SECONDS", defaultValue = "30",
            description = "stop looking mapped files up under the root after SECONDS in all (default: "
                    + "${DEFAULT-VALUE}; real roots take milliseconds)")
    double lookupSeconds = 30;

    Duration lookupTime() {
        return Duration.ofNanos((long) (lookupSeconds * 1e9));
    }

    /**
     * The root for debug and stacks, which also hand it to the debugger as its sysroot: --root;
     * else / for a directory of images; for a container checkpoint the root built from --image and
     * its own files (see {@link Criu2Core#rootForDebugger}).
     */
    Criu2Core.DebuggerRoot forDebugger(Path checkpoint, Criu2Core.Limits limits) throws java.io.IOException {
        return Criu2Core.rootForDebugger(checkpoint, root, image, limits);
    }

    /** Where mapped files were read from, for the summary. */
    static String where(Path root) {
        return root == null ? "mapped files not read (a container checkpoint: give its image with --image, or its "
                + "root filesystem with --root)" : "mapped files read under " + root;
    }
}
