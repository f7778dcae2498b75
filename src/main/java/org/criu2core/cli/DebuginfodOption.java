package org.criu2core.cli;

import org.criu2core.debug.DebugInfo;
import picocli.CommandLine.Option;

/** --debuginfod, for the commands that hand a core to a debugger. */
final class DebuginfodOption {
    @Option(names = "--debuginfod", paramLabel = "URL",
            description = "fetch missing debug info by build id from this debuginfod server (several separated by "
                    + "spaces; default: DEBUGINFOD_URLS, and none when it is not set). The root's and this "
                    + "machine's /usr/lib/debug are searched first")
    String urls;

    DebugInfo debugInfo() {
        return DebugInfo.of(urls);
    }
}
