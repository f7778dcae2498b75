package org.criu2core.cli;

import java.nio.file.Path;
import org.criu2core.api.Criu2Core;
import org.criu2core.container.CheckpointArchive;
import picocli.CommandLine.Option;

/** Where and how much of a checkpoint archive is unpacked, for the commands that read checkpoints. */
final class ArchiveOptions {
    @Option(names = "--tmp-dir", paramLabel = "DIR",
            description = "unpack archives under DIR (default: the JVM's temporary folder, java.io.tmpdir)")
    Path tmpDir;

    @Option(names = "--max-unpack", paramLabel = "SIZE", converter = SizeConverter.class, defaultValue = "64G",
            description = "unpack at most SIZE bytes of an archive (default: ${DEFAULT-VALUE}; never more than "
                    + "the temporary filesystem has free, less a reserve)")
    long maxUnpack = CheckpointArchive.DEFAULT_MAX_BYTES;

    @Option(names = "--cache-dir", paramLabel = "DIR",
            description = "where containers' roots are built and kept, in DIR/roots (default: "
                    + "$${XDG_CACHE_HOME:-~/.cache}/criu2core, as for debug and stacks)")
    Path cacheDir;

    Criu2Core.Limits limits(RootOption root) {
        return new Criu2Core.Limits(tmpDir, maxUnpack, Criu2Core.Limits.DEFAULTS.fileNoteLimit(), root.lookupTime(),
                cacheDir, Criu2Core.Limits.DEFAULT_CACHE_LIMIT);
    }
}
