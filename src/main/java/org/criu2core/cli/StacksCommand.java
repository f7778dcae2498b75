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
import org.criu2core.debug.Stacks;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
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
                        + "/usr/lib/jvm, or named with --jdk). For CPython each thread's Python frames follow, from "
                        + "py-bt of gdb's CPython extension (python3.X-dbg)."},
        footer = {"", "Examples:", "  criu2core stacks /var/lib/checkpoint",
                "  criu2core stacks checkpoint.tar.zst --root rootfs --pid 6",
                "  criu2core stacks images --root rootfs --json | jq '.processes[].threads[].frames[0].function'"})
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
            + "\"state\", \"frames\": [...], \"java\", \"python\"}]}]}")
    boolean json;

    @Option(names = "--jdk", paramLabel = "DIR", description = "the JDK whose jhsdb reads Java stacks "
            + "(default: one of the JVM's release under JAVA_HOME or /usr/lib/jvm)")
    Path jdk;

    @Mixin
    CacheOptions cacheOptions;

    @Option(names = "--no-mount", description = "convert the cores into the cache even where they could be mounted "
            + "(by default they are mounted with FUSE while gdb reads them: read on demand, nothing written)")
    boolean noMount;

    @Mixin
    DebugOption debugOption;

    /** The cores gdb reads; mounted ones are unmounted when it is done. */
    private CoreCache.Opened opened;

    @Override
    public Integer call() throws Exception {
        try {
            return stacks();
        } finally {
            if (opened != null) {
                opened.close();
            }
        }
    }

    private Integer stacks() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        var cache = cacheOptions.cache();
        if (cacheOptions.clean) {
            cache.clean();
        }
        Path root = rootOption.forDebugger(checkpoint, spec.commandLine());
        opened = cache.open(checkpoint, root, cacheOptions.filter, pids, !noMount,
                cacheOptions.listener(err, root, debugOption.debug));
        var cores = opened.cores();
        int status = cores.failed() > 0 ? Main.EXIT_FAILURE : 0;
        List<Stacks.ProcessStacks> stacks = new ArrayList<>();
        for (var cached : cores.processes()) {
            if (cached.core() == null) {
                continue;
            }
            try {
                var s = Stacks.of(cached.facts(), cached.core(), root, new Stacks.Options(jdk));
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
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(Map.of("processes", stacks)));
        }
        out.flush();
        return status;
    }

    private static void print(Stacks.ProcessStacks p, PrintWriter out) {
        out.printf("process %d (%s), %s, %s, %s%n", p.pid(), p.comm(), p.state(), p.arch(),
                p.exe() == null ? "no executable named" : p.exe());
        out.printf("  core:     %s%n", p.core());
        out.printf("  unwinder: %s%n", p.unwinder());
        if (p.java() != null) {
            out.printf("  java:     %s%n", p.java());
        }
        for (String note : p.notes()) {
            out.printf("  note:     %s%n", note);
        }
        for (var t : p.threads()) {
            out.println();
            out.printf("  thread %d (%s), %s%n", t.tid(), t.comm(), t.state());
            for (var f : t.frames()) {
                StringBuilder line = new StringBuilder(String.format("    #%-2d %s in %s", f.level(), f.pc(), f.function()));
                if (f.file() != null) {
                    line.append(" at ").append(f.file()).append(f.line() == null ? "" : ":" + f.line());
                } else if (f.library() != null) {
                    line.append(" from ").append(f.library());
                }
                out.println(line);
            }
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
        out.println();
    }
}
