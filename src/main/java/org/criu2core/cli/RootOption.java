package org.criu2core.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** --root, for the commands that read mapped files. */
final class RootOption {
    @Option(names = "--root", paramLabel = "DIR",
            description = "the processes' root filesystem, where mapped files are read (default: / for a directory "
                    + "of images; none for an archive, whose mapped files are then zeros)")
    Path root;

    @Option(names = "--lookup-time", paramLabel = "SECONDS", defaultValue = "30",
            description = "stop looking mapped files up under the root after SECONDS in all (default: "
                    + "${DEFAULT-VALUE}; real roots take milliseconds)")
    double lookupSeconds = 30;

    Duration lookupTime() {
        return Duration.ofNanos((long) (lookupSeconds * 1e9));
    }

    /**
     * The root for debug and stacks, which also hand it to the debugger as its sysroot: --root;
     * else / for a directory of images; an archive, from another machine or container, needs
     * --root (its files are not the host's, and the images may name any host file).
     */
    Path forDebugger(Path checkpoint, CommandLine cli) {
        if (root != null || checkpoint == null || Files.isDirectory(checkpoint)) {
            return root != null ? root : Path.of("/");
        }
        throw new CommandLine.ParameterException(cli, checkpoint + " is an archive: give its root filesystem with "
                + "--root (the debugger's sysroot, and where mapped files are read)");
    }

    /** Where mapped files were read from, for the summary. */
    static String where(Path root) {
        return root == null ? "mapped files not read (an archive: give its root filesystem with --root)"
                : "mapped files read under " + root;
    }
}
