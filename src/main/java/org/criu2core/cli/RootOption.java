package org.criu2core.cli;

import java.nio.file.Path;
import java.time.Duration;
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

    /** Where mapped files were read from, for the summary. */
    static String where(Path root) {
        return root == null ? "mapped files not read (an archive: give its root filesystem with --root)"
                : "mapped files read under " + root;
    }
}
