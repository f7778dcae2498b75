package org.criu2core.cli;

import picocli.CommandLine.Option;

/** --filter, for the commands that make cores: which memory goes in, as /proc/PID/coredump_filter says it. */
final class FilterOption {
    @Option(names = "--filter", paramLabel = "HEX", defaultValue = "0x33", converter = HexConverter.class,
            description = "coredump_filter bits deciding which memory goes in (default: ${DEFAULT-VALUE}, the kernel's)")
    long bits;
}
