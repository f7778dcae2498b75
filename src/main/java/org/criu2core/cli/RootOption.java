package org.criu2core.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** --root, for the commands that read mapped files. */
final class RootOption {
    @Option(names = "--root", paramLabel = "DIR", defaultValue = "/",
            description = "the processes' root filesystem, where mapped files are read (default: ${DEFAULT-VALUE})")
    Path root;
}
