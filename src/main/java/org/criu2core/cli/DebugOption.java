package org.criu2core.cli;

import picocli.CommandLine.Option;

/**
 * --debug, which every command takes. Main reads it from the arguments before picocli does: the
 * stack trace must be printable even when parsing the rest fails.
 */
final class DebugOption {
    @Option(names = "--debug", description = "show a stack trace on failure", hidden = true)
    boolean debug;
}
