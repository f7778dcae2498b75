package org.criu2core.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.criu2core.debug.CoreCache;
import org.criu2core.debug.Delve;
import org.criu2core.debug.LanguageRuntime;
import org.criu2core.debug.Stacks;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "stacks", mixinStandardHelpOptions = true,
        description = {"Print every thread's stack of every process of a checkpoint (or of those named), as "
                + "coredumpctl info and eu-stack do for a core: pid, tid, thread name, state, and the frames with "
                + "functions, files and lines where debug info is there.",
                "Each process's core is mounted, or converted into the cache, as debug does, then gdb unwinds it "
                        + "with the root "
                        + "as its sysroot. For a HotSpot JVM each Java thread's Java stack follows, read by the "
                        + "JDK's own jhsdb, which must be of the JVM's release (found under JAVA_HOME and "
                        + "/usr/lib/jvm, or named with --jdk; else one of its feature release, with the agent's version "
                        + "check off). For CPython each thread's Python frames follow, from py-bt of gdb's CPython "
                        + "extension (python3.X-dbg) with the interpreter's debug info. For a Go program every "
                        + "goroutine follows, read by Delve (dlv). The runtime is recognised from the files the "
                        + "process mapped; --runtime names it or turns it off.",
                "Debug info is looked up by build id in the root's /usr/lib/debug, this machine's, and with "
                        + "debuginfod when DEBUGINFOD_URLS or --debuginfod names a server."},
        footer = {"", "Examples:", "  criu2core stacks /var/lib/checkpoint",
                "  criu2core stacks checkpoint.tar.zst --root rootfs --pid 6",
                "  criu2core stacks images --root rootfs --json | jq '.processes[].threads[].frames[0].function'",
                "  criu2core stacks images --root rootfs --json | jq '.processes[].goroutines[] | [.id, .waitReason]'",
                "  criu2core stacks images --root rootfs --debuginfod https://debuginfod.debian.net"})
final class StacksCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "CHECKPOINT", description = "a directory of images, or a container checkpoint archive")
    Path checkpoint;

    @Option(names = "--pid", paramLabel = "PID", description = "only this process (repeatable)")
    List<Integer> pids = new ArrayList<>();

    @Mixin
    RootOption rootOption;

    @Option(names = "--json", description = "print {\"processes\": [{..., \"threads\": [{\"tid\", \"comm\", "
            + "\"state\", \"frames\": [...], \"java\", \"python\"}], \"goroutines\": [{\"id\", \"status\", "
            + "\"waitReason\", \"frames\": [...]}]}]}")
    boolean json;

    @Option(names = "--jdk", paramLabel = "DIR", description = "the JDK whose jhsdb reads Java stacks "
            + "(default: one of the JVM's release under JAVA_HOME or /usr/lib/jvm)")
    Path jdk;

    @Option(names = "--runtime", paramLabel = "NAME", description = "the language runtime whose stacks to read: "
            + "go, python, java, or none for native stacks alone (default: the one the mapped files show)")
    String runtime;

    @Mixin
    DebuginfodOption debuginfod;

    @Mixin
    CacheOptions cacheOptions;

    @Option(names = "--no-mount", description = "convert the cores into the cache even where they could be mounted "
            + "(by default they are mounted with FUSE while gdb reads them: read on demand, nothing written)")
    boolean noMount;

    @Mixin
    DebugOption debugOption;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        LanguageRuntime forced;
        try {
            forced = runtime == null ? null : LanguageRuntime.parse(runtime);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        var options = new Stacks.Options(jdk, forced, debuginfod.debugInfo());
        var cache = cacheOptions.cache();
        if (cacheOptions.clean) {
            cacheOptions.cleanAll();
        }
        try (var debuggerRoot = rootOption.forDebugger(checkpoint, cacheOptions.limits(rootOption))) {
            cacheOptions.say(err, debuggerRoot.notes());
            return stacks(cache, debuggerRoot.path(), options, out, err);
        }
    }

    /** Opens the cores (mounted ones are unmounted when gdb is done) and prints their stacks. */
    private int stacks(CoreCache cache, Path root, Stacks.Options options, PrintWriter out, PrintWriter err)
            throws IOException {
        try (var opened = cache.open(checkpoint, root, cacheOptions.filterOption.bits, pids, !noMount,
                cacheOptions.listener(err, root, debugOption.debug))) {
            return stacks(opened.cores(), root, options, out, err);
        }
    }

    private int stacks(CoreCache.Cores cores, Path root, Stacks.Options options, PrintWriter out, PrintWriter err)
            throws IOException {
        int status = cores.failed() > 0 ? Main.EXIT_FAILURE : 0;
        List<Stacks.ProcessStacks> stacks = new ArrayList<>();
        for (var cached : cores.processes()) {
            if (cached.core() == null) {
                continue;
            }
            try {
                var s = Stacks.of(cached.facts(), cached.core(), root, options);
                stacks.add(s);
                if (!json) {
                    print(s, out);
                    out.flush();
                }
            } catch (IOException e) {
                err.println("criu2core: process " + cached.facts().pid() + ": " + Main.describe(e));
                err.flush();
                status = Main.EXIT_FAILURE;
            }
        }
        if (json) {
            // written as it is made: a Go server's goroutines are tens of megabytes of JSON
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                    .configure(com.fasterxml.jackson.core.JsonGenerator.Feature.AUTO_CLOSE_TARGET, false)
                    .writeValue(out, Map.of("processes", stacks));
            out.println();
        }
        out.flush();
        return status;
    }

    private static void print(Stacks.ProcessStacks p, PrintWriter out) {
        out.printf("process %d (%s), %s, %s, %s%n", p.pid(), p.comm(), p.state(), p.arch(),
                p.exe() == null ? "no executable named" : p.exe());
        out.printf("  core:     %s%n", p.core());
        out.printf("  unwinder: %s%n", p.unwinder());
        if (p.runtime() != null) {
            var r = p.runtime();
            out.printf("  runtime:  %s%s%s%n", r.name(), r.version() == null ? "" : " " + r.version(),
                    r.forced() ? " (--runtime)" : r.file() == null ? "" : " (" + r.file() + ")");
        }
        if (p.java() != null) {
            out.printf("  java:     %s%n", p.java());
        }
        if (p.python() != null) {
            out.printf("  python:   %s%n", p.python());
        }
        if (p.go() != null) {
            out.printf("  go:       %s%n", p.go());
        }
        for (String note : p.notes()) {
            out.printf("  note:     %s%n", note);
        }
        for (var t : p.threads()) {
            out.println();
            out.printf("  thread %d (%s), %s%n", t.tid(), t.comm(), t.state());
            printFrames(t.frames(), out);
            if (t.python() != null && !t.python().isEmpty()) {
                out.println("    Python (innermost first):");
                for (var f : t.python()) {
                    out.println(f.file() == null ? "      " + f.function()
                            : "      File \"" + f.file() + "\", line " + f.line() + ", in " + f.function());
                }
            }
            if (t.java() != null) {
                out.println("    Java:");
                for (String l : t.java().lines()) {
                    out.println("      " + l);
                }
            }
        }
        if (p.goroutines() != null) {
            printGoroutines(p.goroutines(), out);
        }
        out.println();
    }

    private static void printFrames(List<Stacks.Frame> frames, PrintWriter out) {
        for (var f : frames) {
            StringBuilder line = new StringBuilder(String.format("    #%-2d %s in %s", f.level(), f.pc(), f.function()));
            if (f.file() != null) {
                line.append(" at ").append(f.file()).append(f.line() == null ? "" : ":" + f.line());
            } else if (f.library() != null) {
                line.append(" from ").append(f.library());
            }
            out.println(line);
        }
    }

    /**
     * Goroutines, those with the same stack and state together under their ids (a server's
     * thousand handlers waiting on one channel are one entry), in the order of their first id.
     */
    private static void printGoroutines(List<Delve.Goroutine> goroutines, PrintWriter out) {
        Map<List<Object>, List<Delve.Goroutine>> groups = new java.util.LinkedHashMap<>();
        for (var g : goroutines) {
            groups.computeIfAbsent(List.of(g.status(), String.valueOf(g.waitReason()), String.valueOf(g.thread()),
                    g.frames(), g.truncated(), String.valueOf(g.error())), k -> new ArrayList<>()).add(g);
        }
        out.println();
        out.printf("  goroutines: %d%n", goroutines.size());
        for (var group : groups.values()) {
            var g = group.get(0);
            out.println();
            out.printf("  %s %s [%s%s]%n", group.size() == 1 ? "goroutine" : group.size() + " goroutines",
                    ids(group), g.waitReason() != null ? g.waitReason() : g.status(),
                    g.thread() == null ? "" : ", thread " + g.thread());
            if (g.error() != null) {
                out.printf("    error: %s%n", g.error());
            }
            printFrames(g.frames(), out);
            if (g.truncated()) {
                out.println("    ...");
            }
        }
    }

    /** Ids as runs: 19-26, 30. */
    private static String ids(List<Delve.Goroutine> group) {
        List<String> runs = new ArrayList<>();
        int i = 0;
        while (i < group.size()) {
            int j = i;
            while (j + 1 < group.size() && group.get(j + 1).id() == group.get(j).id() + 1) {
                j++;
            }
            runs.add(j == i ? Long.toString(group.get(i).id()) : group.get(i).id() + "-" + group.get(j).id());
            i = j + 1;
        }
        return String.join(", ", runs);
    }
}
