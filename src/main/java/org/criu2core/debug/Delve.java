package org.criu2core.debug;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.criu2core.sys.Cleanup;

/**
 * Goroutines of a Go program, read from its core by Delve, the debugger made for Go: it finds
 * every goroutine in the runtime's own lists (runtime.allgs) and unwinds each from its saved
 * context with the Go-specific rules gdb lacks. Delve's terminal is driven by an init script
 * ({@code goroutines -t DEPTH}) and its text read back; its own wait-reason names are kept as
 * it prints them, since they change with the Go release and Delve knows them.
 */
public final class Delve {
    /** Debian's and Ubuntu's package of dlv. */
    public static final String PACKAGE = "delve";
    /**
     * Frames per goroutine: Go's own tracebacks stop at 100 too (runtime _TracebackMaxFrames);
     * Delve's default of 10 cuts a server's handler stacks off before their user frames.
     */
    static final int DEPTH = 100;
    private static final long TIMEOUT_SECONDS = 300;
    /**
     * "  Goroutine 19 - User: /src/x.go:41 main.f (0x514dc5) (thread 30267) [chan receive]", the
     * selected one with "* " (Delve's formatGoroutine); the file may hold ':' but the line after it
     * is digits and a space.
     */
    private static final Pattern GOROUTINE = Pattern.compile("^[* ] Goroutine (\\d+) - User: (.*?):(-?\\d+) (.*) \\((0x[0-9a-f]+)\\)"
            + "(?: \\(thread (\\d+)\\))?(?: \\[(.*)\\])?$");
    private static final Pattern UNREADABLE = Pattern.compile("^[* ] Goroutine \\(unreadable (.*)\\)$");
    private static final Pattern FRAME = Pattern.compile("^\\t\\s*(\\d+)  (0x[0-9a-f]+) in (.*)$");
    private static final Pattern AT = Pattern.compile("^\\t\\s*at (.*):(-?\\d+)$");
    private static final Pattern ERROR = Pattern.compile("^\\t\\s*error: (.*)$");
    private static final Pattern COUNT = Pattern.compile("^\\[(\\d+) goroutines\\]$");
    /** A wait reason printed with the time the goroutine began waiting (WaitSince), which is not kept. */
    private static final Pattern WAIT_SINCE = Pattern.compile("^(.*\\D) \\d+$");

    private Delve() {
    }

    /** Where a goroutine is in the user's code: Delve's "User" location, its topmost frame outside the runtime. */
    public record Location(String function, String file, int line, String pc) {
    }

    /**
     * One goroutine: its id; its status as Delve's list tells it ("waiting" with a wait reason,
     * "running" on a thread (which includes a system call), else "runnable"); the wait reason;
     * the thread it runs on; its user location; its frames innermost first (library always null);
     * whether Delve cut the stack off at {@link #DEPTH} frames; and what Delve could not read.
     */
    public record Goroutine(long id, String status, String waitReason, Integer thread, Location location,
                            List<Stacks.Frame> frames, boolean truncated, String error) {
    }

    /** What Delve read: its version line, the goroutines in id order, or why there are none. */
    public record Result(String delve, List<Goroutine> goroutines, String problem) {
    }

    /**
     * Runs {@code dlv core EXE CORE} on the executable {@code exe} (the root's) with a fresh
     * configuration naming the debug-info directories of {@code debugInfo}, from a directory that
     * holds no source (Delve prints paths under its working directory as relative ones).
     */
    static Result goroutines(Path dlv, Path exe, Path core, Path root, DebugInfo debugInfo) throws IOException {
        Path work = Files.createTempDirectory("criu2core-dlv-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try (var cleanup = Cleanup.removeOnShutdown(work)) {
            Path config = Files.createDirectories(work.resolve("config/dlv"));
            Files.writeString(config.resolve("config.yml"), debugInfo.delveConfig(root));
            Path init = Files.writeString(work.resolve("init"), "goroutines -t " + DEPTH + "\nexit\n");
            Path cwd = Files.createDirectory(work.resolve("cwd"));
            String version = version(dlv, work);
            var parser = new Parser();
            int status = Programs.runLines(List.of(dlv.toString(), "core", exe.toAbsolutePath().toString(),
                    core.toAbsolutePath().toString(), "--init", init.toString(), "--allow-non-terminal-interactive=true"),
                    cwd, env -> {
                        // its configuration, not the user's: paths, colours and aliases as Delve's defaults
                        env.put("XDG_CONFIG_HOME", work.resolve("config").toString());
                        debugInfo.environment(env);
                    }, TIMEOUT_SECONDS, "dlv", parser::accept);
            var goroutines = parser.goroutines();
            if (status != 0 || parser.count == null && goroutines.isEmpty()) {
                return new Result(version, goroutines, "dlv core failed (exit status " + status + "): "
                        + (parser.lastLine == null ? "no output" : parser.lastLine));
            }
            if (parser.count != null && parser.count != goroutines.size()) {
                return new Result(version, goroutines, "Delve counted " + parser.count + " goroutines and listed "
                        + goroutines.size());
            }
            return new Result(version, goroutines, null);
        } finally {
            Cleanup.deleteTree(work);
        }
    }

    private static String version(Path dlv, Path work) throws IOException {
        var out = Programs.run(List.of(dlv.toString(), "version"), work, env -> {
            env.put("XDG_CONFIG_HOME", work.resolve("config").toString());
        }, TIMEOUT_SECONDS, "dlv version");
        String line = out.text().lines().filter(l -> l.startsWith("Version: ")).findFirst().orElse("");
        return "Delve " + (line.isEmpty() ? "(version unknown)" : line.substring("Version: ".length()).strip());
    }

    /** Delve's {@code goroutines -t} output, read back. */
    static List<Goroutine> parse(String text) {
        var parser = new Parser();
        text.lines().forEach(parser::accept);
        return parser.goroutines();
    }

    /**
     * Reads Delve's output a line at a time. A server's goroutines repeat the same few functions,
     * files and addresses thousands of times: each string is kept once.
     */
    static final class Parser {
        private final List<Goroutine> goroutines = new ArrayList<>();
        private final java.util.Map<String, String> strings = new java.util.HashMap<>();
        private final java.util.Map<List<Stacks.Frame>, List<Stacks.Frame>> frameLists = new java.util.HashMap<>();
        private Builder current;
        /** Delve's count of the goroutines it listed, or null before that line. */
        Integer count;
        /** The last line that was not a goroutine's, to say why Delve failed. */
        String lastLine;

        void accept(String line) {
            if (current != null && line.startsWith("\t")) {
                frameLine(line);
                return;
            }
            Matcher g = GOROUTINE.matcher(line);
            if (g.matches()) {
                finish();
                String reason = g.group(7);
                if (reason != null) {
                    Matcher since = WAIT_SINCE.matcher(reason);
                    reason = since.matches() ? since.group(1) : reason;
                }
                Integer thread = g.group(6) == null ? null : Integer.valueOf(g.group(6));
                current = new Builder(Long.parseLong(g.group(1)), reason != null ? "waiting" : thread != null
                        ? "running" : "runnable", string(reason), thread, new Location(string(g.group(4)),
                        string(g.group(2)), Integer.parseInt(g.group(3)), string(g.group(5))));
                return;
            }
            Matcher u = UNREADABLE.matcher(line);
            if (u.matches()) {
                finish();
                goroutines.add(new Goroutine(-1, "unreadable", null, null, null, List.of(), false, u.group(1)));
                return;
            }
            Matcher c = COUNT.matcher(line.strip());
            if (c.matches()) {
                finish();
                count = Integer.valueOf(c.group(1));
                return;
            }
            if (current == null) {
                if (!line.isBlank() && !line.startsWith("Type 'help'")) {
                    lastLine = line.strip();
                }
                return;
            }
            if (line.isBlank()) {
                return;
            }
            finish();
            lastLine = line.strip();
        }

        /** A line of the goroutine being read: a frame, its place, an error, or the mark of a cut stack. */
        private void frameLine(String line) {
            Matcher f = FRAME.matcher(line);
            if (f.matches()) {
                current.frames.add(new Stacks.Frame(Integer.parseInt(f.group(1)), string(f.group(2)), string(f.group(3)),
                        null, null, null));
                return;
            }
            Matcher at = AT.matcher(line);
            Matcher error = ERROR.matcher(line);
            if (at.matches() && !current.frames.isEmpty()) {
                var last = current.frames.remove(current.frames.size() - 1);
                current.frames.add(new Stacks.Frame(last.level(), last.pc(), last.function(), string(at.group(1)),
                        Integer.valueOf(at.group(2)), null));
            } else if (error.matches()) {
                current.error = current.error == null ? error.group(1) : current.error + "; " + error.group(1);
            } else if (line.strip().equals("(truncated)")) {
                current.truncated = true;
            }
        }

        private String string(String s) {
            return s == null ? null : strings.computeIfAbsent(s, k -> k);
        }

        private void finish() {
            if (current != null) {
                // goroutines of one stack (a thousand handlers waiting on one channel) share one list
                goroutines.add(current.build(frameLists.computeIfAbsent(List.copyOf(current.frames), k -> k)));
                current = null;
            }
        }

        List<Goroutine> goroutines() {
            finish();
            return List.copyOf(goroutines);
        }
    }

    private static final class Builder {
        final long id;
        final String status;
        final String waitReason;
        final Integer thread;
        final Location location;
        final List<Stacks.Frame> frames = new ArrayList<>();
        boolean truncated;
        String error;

        Builder(long id, String status, String waitReason, Integer thread, Location location) {
            this.id = id;
            this.status = status;
            this.waitReason = waitReason;
            this.thread = thread;
            this.location = location;
        }

        Goroutine build(List<Stacks.Frame> sharedFrames) {
            return new Goroutine(id, status, waitReason, thread, location, sharedFrames, truncated, error);
        }
    }
}
