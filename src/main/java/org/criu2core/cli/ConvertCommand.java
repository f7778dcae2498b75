package org.criu2core.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.criu2core.core.Converter;
import org.criu2core.core.DumpFilter;
import org.criu2core.core.RootFs;
import org.criu2core.image.CheckpointException;
import org.criu2core.model.Checkpoint;
import org.criu2core.model.Process;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Write an ELF core file core.PID for each process of a CRIU checkpoint.",
        footer = {"", "Examples:",
                "  criu2core convert -D /var/lib/checkpoint -o /tmp/cores --root /",
                "  criu2core convert -D images -o out --pid 8229 --root rootfs",
                "  gdb --core out/core.8229 -ex 'set sysroot rootfs' rootfs/usr/bin/app"})
final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-D", "-i", "--images-dir", "--in"}, required = true, paramLabel = "DIR",
            description = "directory of the checkpoint's images")
    Path images;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "OUTDIR", description = "directory for the cores")
    Path out;

    @Option(names = "--pid", paramLabel = "PID", description = "convert only this process (repeatable)")
    List<Integer> pids = new ArrayList<>();

    @Option(names = "--root", paramLabel = "DIR", defaultValue = "/",
            description = "the processes' root filesystem, where mapped files are read (default: ${DEFAULT-VALUE})")
    Path root;

    @Option(names = "--filter", paramLabel = "HEX", defaultValue = "0x33", converter = HexConverter.class,
            description = "coredump_filter bits deciding which memory goes in (default: ${DEFAULT-VALUE}, the kernel's)")
    long filter;

    @Option(names = {"-q", "--quiet"}, description = "print nothing but errors")
    boolean quiet;

    @Option(names = "--debug", description = "show a stack trace on failure", hidden = true)
    boolean debug;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        Checkpoint checkpoint = Checkpoint.load(images);
        List<Process> selected = select(checkpoint);
        Files.createDirectories(out);
        try (RootFs rootFs = new RootFs(root)) {
            var converter = new Converter(checkpoint, rootFs, new DumpFilter(filter));
            for (Process process : selected) {
                if (!process.hasMemory()) {
                    say(err, String.format("process %d (%s): %s, no memory image; no core", process.pid(),
                            process.comm(), process.state().name().toLowerCase()));
                    continue;
                }
                var result = converter.convert(process, out);
                say(err, String.format("%s: %s, %d thread%s, %d segments, %s bytes%s", result.core(), result.arch(),
                        result.threads(), result.threads() == 1 ? "" : "s", result.segments(), result.size(),
                        result.lazyPages() > 0 ? ", " + result.lazyPages() + " lazy pages left as zeros" : ""));
            }
            for (String name : rootFs.missing()) {
                say(err, "warning: " + name + " is not under " + root + ": its pages are zeros in the core");
            }
        }
        return 0;
    }

    private List<Process> select(Checkpoint checkpoint) throws CheckpointException {
        if (pids.isEmpty()) {
            return checkpoint.processes();
        }
        List<Process> selected = new ArrayList<>();
        for (int pid : pids) {
            selected.add(checkpoint.process(pid).orElseThrow(() -> new CheckpointException(
                    checkpoint.dir().display("pstree.img"), "no process " + pid + " in the checkpoint")));
        }
        return selected;
    }

    private void say(PrintWriter err, String line) {
        if (!quiet) {
            err.println(line);
            err.flush();
        }
    }
}
