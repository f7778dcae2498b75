package org.criu2core.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.criu2core.api.Criu2Core;
import org.criu2core.inspect.CheckpointInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "info", mixinStandardHelpOptions = true,
        description = {"Describe a checkpoint: the container it was taken of (engine, name and id, pod and "
                + "namespace, image, when), its images, the process tree, and per process its memory by kind, where "
                + "its pages are, its mapped files and command line."},
        footer = {"", "Examples:", "  criu2core info /var/lib/checkpoint",
                "  criu2core info checkpoint.tar.zst --json | jq '.processes[].commandLine'"})
final class InfoCommand implements Callable<Integer> {
    private static final long MIB = 1 << 20;

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "CHECKPOINT", description = "a directory of images, or a container checkpoint archive")
    Path checkpoint;

    @Option(names = "--json", description = "print JSON instead of tables")
    boolean json;

    @Mixin
    RootOption rootOption;

    @Mixin
    ArchiveOptions archiveOptions;

    @Mixin
    DebugOption debugOption;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        CheckpointInfo info = Criu2Core.inspect(checkpoint, rootOption.root, rootOption.image,
                archiveOptions.limits(rootOption));
        PrintWriter err = spec.commandLine().getErr();
        info.notes().forEach(err::println);
        err.flush();
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(info));
        } else {
            table(info, out);
        }
        out.flush();
        return info.processes().stream().anyMatch(p -> p.error() != null) ? Main.EXIT_FAILURE : 0;
    }

    private static void table(CheckpointInfo info, PrintWriter out) {
        var im = info.images();
        out.printf("checkpoint  %s%n", info.path());
        var c = info.container();
        if (c != null) {
            out.printf("container   %s%s%s%s%n", orDash(c.name()), c.engine() != null ? ", made by " + c.engine() : "",
                    c.id() != null ? ", id " + c.id() : "",
                    c.pod() != null ? ", pod " + c.pod() + (c.namespace() != null ? " in namespace " + c.namespace()
                            : "") : "");
            out.printf("image       %s%s%n", orDash(c.image()), c.imageRef() != null && !c.imageRef().equals(c.image())
                    ? " (" + c.imageRef() + ")" : "");
            if (c.checkpointed() != null) {
                out.printf("taken       %s%n", c.checkpointed());
            }
        }
        out.printf("images      version %s%s%s%s%s%n", orDash(im.version()),
                im.incremental() ? ", incremental (has a parent snapshot)" : "",
                im.runId() != null ? ", run " + im.runId() : "",
                im.dumpUptime() != null ? ", dumped at uptime " + im.dumpUptime() : "",
                im.lsm() != null ? ", LSM " + im.lsm() : "");
        out.println();
        out.printf("%-8s %-8s %-8s %-11s %-8s %-16s %s%n", "PID", "PPID", "STATE", "ARCH", "THREADS", "COMM", "COMMAND LINE");
        for (var p : info.processes()) {
            out.printf("%-8d %-8d %-8s %-11s %-8d %-16s %s%n", p.pid(), p.ppid(), orDash(p.state()), orDash(p.arch()),
                    p.threads().size(), orDash(p.comm()), p.error() != null ? "error: " + p.error() : orDash(p.commandLine()));
        }
        for (var p : info.processes()) {
            if (p.memory() == null) {
                continue;
            }
            var m = p.memory();
            out.printf("%nprocess %d (%s): %d VMAs, %.1f MiB mapped, pages of %d bytes%n", p.pid(), p.comm(), m.vmas(),
                    m.bytes() / (double) MIB, m.pageSize());
            m.byKind().forEach((kind, k) -> out.printf("  %-18s %6d VMAs %12.1f MiB%n", kind, k.vmas(),
                    k.bytes() / (double) MIB));
            out.printf("  pages: %d saved here, %d in the parent snapshot, %d lazy (not in the images), %d not saved%n",
                    m.presentPages(), m.parentPages(), m.lazyPages(), m.unsavedPages());
            for (var g : m.guards()) {
                out.printf("  guard pages 0x%x-0x%x (%d) in the %s VMA 0x%x-0x%x%n", g.start(), g.end(),
                        (g.end() - g.start()) / m.pageSize(), g.vmaKind(), g.vmaStart(), g.vmaEnd());
            }
            for (var f : p.mappedFiles()) {
                out.printf("  file  %s (%d VMA%s, %.1f MiB)%n", f.path(), f.vmas(), f.vmas() == 1 ? "" : "s",
                        f.bytes() / (double) MIB);
            }
        }
        for (var p : info.processes()) {
            for (String warning : p.warnings()) {
                out.printf("warning: %s%n", warning);
            }
        }
    }

    private static String orDash(Object value) {
        return value == null || value.toString().isEmpty() ? "-" : value.toString();
    }
}
