package org.criu2core.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.criu2core.debug.CoreCache;
import org.criu2core.debug.DebugInfo;
import org.criu2core.debug.Debugger;
import org.criu2core.elf.CoreFile;
import org.criu2core.image.CheckpointException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import sun.misc.Signal;
import sun.misc.SignalHandler;

@Command(name = "debug", mixinStandardHelpOptions = true,
        description = {"Open a debugger on a process of a checkpoint, as coredumpctl debug does for a core.",
                "The core of the process (the tree's root unless --pid says) is mounted while the debugger runs "
                        + "(FUSE: read on demand, nothing written), or where FUSE is not there converted into a cache "
                        + "folder under $${XDG_CACHE_HOME:-~/.cache}/criu2core, reused while the checkpoint does not "
                        + "change; then gdb "
                        + "(gdb-multiarch for a core of another architecture) or lldb runs with the root as its "
                        + "sysroot, the process's executable and the core loaded. The exit status is the debugger's."},
        footer = {"", "Examples:", "  criu2core debug /var/lib/checkpoint",
                "  criu2core debug checkpoint.tar.zst --root rootfs --pid 6",
                "  criu2core debug images --root rootfs -- -batch -ex 'thread apply all bt'",
                "  criu2core debug images --debugger lldb",
                "  criu2core debug images --root rootfs --debugger dlv -- --init script.dlv"})
final class DebugCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "CHECKPOINT",
            description = "a directory of images, or a container checkpoint archive")
    Path checkpoint;

    @Parameters(index = "1..*", paramLabel = "ARGS", description = "after --: arguments passed to the debugger as they are")
    List<String> passThrough = new ArrayList<>();

    @Option(names = "--pid", paramLabel = "PID", description = "the process to debug (default: the root of the tree)")
    Integer pid;

    @Mixin
    RootOption rootOption;

    @Option(names = "--debugger", paramLabel = "NAME", defaultValue = "gdb",
            description = "gdb (default; gdb-multiarch for other architectures), lldb, or dlv (Delve, for Go programs)")
    String debuggerName;

    @Option(names = "--debugger-args", paramLabel = "ARGS",
            description = "more arguments for the debugger, in one string split as a shell would: "
                    + "--debugger-args \"-batch -ex 'thread apply all bt'\"")
    String debuggerArgs;

    @Mixin
    DebuginfodOption debuginfod;

    @Mixin
    CacheOptions cacheOptions;

    @Option(names = "--no-mount", description = "convert the core into the cache even where it could be mounted "
            + "(by default it is mounted with FUSE while the debugger runs: read on demand, nothing written)")
    boolean noMount;

    @Mixin
    DebugOption debugOption;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        Debugger debugger;
        try {
            debugger = Debugger.named(debuggerName);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        DebugInfo debugInfo = debuginfod.debugInfo();
        List<String> extra = new ArrayList<>();
        if (debuggerArgs != null) {
            try {
                extra.addAll(ShellWords.split(debuggerArgs));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--debugger-args: " + e.getMessage());
            }
        }
        extra.addAll(passThrough);
        CoreCache cache = cacheOptions.cache();
        if (cacheOptions.clean) {
            cacheOptions.cleanAll();
            if (checkpoint == null) {
                return 0;
            }
        }
        if (checkpoint == null) {
            throw new ParameterException(spec.commandLine(), "Missing required parameter: 'CHECKPOINT'");
        }
        try (var debuggerRoot = rootOption.forDebugger(checkpoint, cacheOptions.limits(rootOption))) {
            cacheOptions.say(err, debuggerRoot.notes());
            return debug(debugger, debugInfo, extra, cache, debuggerRoot.path(), err);
        }
    }

    /** Opens the cores (mounted ones are unmounted when the debugger has ended) and runs the debugger on one. */
    private int debug(Debugger debugger, DebugInfo debugInfo, List<String> extra, CoreCache cache, Path root,
                      PrintWriter err) throws IOException {
        try (var opened = cache.open(checkpoint, root, cacheOptions.filterOption.bits, pid == null ? null : List.of(pid),
                !noMount, cacheOptions.listener(err, root, debugOption.debug))) {
            return debug(debugger, debugInfo, extra, opened.cores(), root, err);
        }
    }

    private int debug(Debugger debugger, DebugInfo debugInfo, List<String> extra, CoreCache.Cores cores, Path root,
                      PrintWriter err) throws IOException {
        if (cores.processes().isEmpty()) {
            return Main.EXIT_FAILURE; // the reason is said already
        }
        var chosen = cores.processes().get(0);
        var facts = chosen.facts();
        if (chosen.core() == null) {
            throw new CheckpointException(checkpoint.toString(), "process " + facts.pid() + " (" + facts.comm() + ") is "
                    + facts.state() + ": it has no memory, so no core to debug; the tree has "
                    + cores.tree().stream().map(String::valueOf).collect(Collectors.joining(", ")) + " (--pid)");
        }
        int machine;
        try (var core = CoreFile.open(chosen.core())) {
            machine = core.machine();
        }
        Path program = debugger.find(machine, facts.arch());
        Path exe = Debugger.executable(root, facts.exe());
        if (exe == null && !cacheOptions.quiet) {
            err.println("warning: the executable " + (facts.exe() == null ? "is not named in the images"
                    : facts.exe() + " is not under " + root) + ": the debugger gets the core alone");
        }
        List<String> command = debugger.commandLine(program, root, exe, chosen.core(), debugInfo, extra);
        if (!cacheOptions.quiet) {
            err.println("running: " + command.stream().map(DebugCommand::shellQuote).collect(Collectors.joining(" ")));
        }
        err.flush();
        return run(command, debugInfo, spec.commandLine().getOut(), err);
    }

    /**
     * Runs the debugger on this terminal; while it runs, Ctrl-C is the debugger's alone. Without
     * a terminal (a pipe, a test) its output goes through this command's own streams.
     */
    private static int run(List<String> command, DebugInfo debugInfo, PrintWriter out, PrintWriter err)
            throws IOException {
        var builder = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.INHERIT);
        debugInfo.environment(builder.environment());
        boolean terminal = System.console() != null;
        if (terminal) {
            builder.redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT);
        }
        // a handler that does nothing, not SIG_IGN: an ignored SIGINT would be the debugger's too
        // (exec keeps SIG_IGN), and this JVM could not take its own handler back afterwards
        SignalHandler previous = ignoreInterrupts(signal -> { });
        try {
            java.lang.Process debugger = builder.start();
            if (!terminal) {
                Thread errors = pump(debugger.getErrorStream(), err);
                pump(debugger.getInputStream(), out).join();
                errors.join();
            }
            return debugger.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while the debugger ran");
        } finally {
            if (previous != null) {
                ignoreInterrupts(previous);
            }
        }
    }

    /** Sets SIGINT's handler, returning the one before; null where the JVM keeps SIGINT (-Xrs). */
    private static SignalHandler ignoreInterrupts(SignalHandler handler) {
        try {
            return Signal.handle(new Signal("INT"), handler);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static Thread pump(InputStream from, PrintWriter to) {
        Thread t = new Thread(() -> {
            try (var reader = new java.io.BufferedReader(new java.io.InputStreamReader(from, StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    synchronized (to) {
                        to.println(line);
                        to.flush();
                    }
                }
            } catch (IOException e) {
                // the debugger closed its end
            }
        }, "criu2core-debugger-output");
        t.start();
        return t;
    }

    private static String shellQuote(String word) {
        return word.matches("[A-Za-z0-9_./=:+-]+") ? word : "'" + word.replace("'", "'\\''") + "'";
    }
}
