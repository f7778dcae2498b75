package org.criu2core;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.criu2core.cli.Main;
import org.criu2core.inspect.CoreDiff;
import org.criu2core.model.Checkpoint;

/** The kernel's cores of a case in ../shared, and what a comparison with them must leave out. */
public final class KernelCores {
    /** Kernel areas whose contents CRIU images do not hold (see ../shared/checkpoints/README.md). */
    private static final Set<String> SPECIAL = Set.of("[vvar]", "[vvar_vclock]", "[vsyscall]", "[vectors]", "[sigpage]");

    private KernelCores() {
    }

    /** The pids that have a kernel core in {@code sharedCase}/expected. */
    public static List<Integer> pids(Path sharedCase) throws IOException {
        try (Stream<Path> files = Files.list(sharedCase.resolve("expected"))) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("kernel-core.") && n.endsWith(".gz"))
                    .map(n -> Integer.parseInt(n.substring("kernel-core.".length(), n.length() - 3)))
                    .sorted().toList();
        }
    }

    /** The kernel's core of {@code pid}, unpacked into {@code dir}. */
    public static Path unpack(Path sharedCase, int pid, Path dir) throws IOException {
        Path core = dir.resolve("kernel-core." + pid);
        try (InputStream in = new GZIPInputStream(Files.newInputStream(
                sharedCase.resolve("expected").resolve("kernel-core." + pid + ".gz")))) {
            Files.copy(in, core);
        }
        return core;
    }

    /** The executable of {@code pid}, inside the case's root. */
    public static Path exe(Path sharedCase, int pid) throws IOException {
        String path = Files.readString(sharedCase.resolve("expected").resolve("exe." + pid)).strip();
        return sharedCase.resolve("root").resolve(path.substring(1));
    }

    /** [vvar], [vsyscall]... from /proc/PID/maps at dump time, and each thread's rseq area. */
    public static List<CoreDiff.Range> unknownContents(Path sharedCase, Path images, int pid) throws IOException {
        List<CoreDiff.Range> ranges = new ArrayList<>();
        for (String line : Files.readAllLines(sharedCase.resolve("expected").resolve("maps." + pid))) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 6 && SPECIAL.contains(f[5])) {
                String[] se = f[0].split("-");
                ranges.add(new CoreDiff.Range(Long.parseUnsignedLong(se[0], 16), Long.parseUnsignedLong(se[1], 16)));
            }
        }
        var process = Checkpoint.load(images).process(pid).orElseThrow();
        for (var t : process.threads()) {
            var core = t.core();
            if (core.hasThreadCore() && core.getThreadCore().hasRseqEntry()) {
                var r = core.getThreadCore().getRseqEntry();
                if (r.getRseqAbiPointer() != 0) {
                    ranges.add(new CoreDiff.Range(r.getRseqAbiPointer(), r.getRseqAbiPointer() + r.getRseqAbiSize()));
                }
            }
        }
        return ranges;
    }

    /** Runs the command line; returns exit status, stdout and stderr. */
    public record Run(int status, String out, String err) {
    }

    public static Run cli(String... args) {
        var out = new StringWriter();
        var err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(status, out.toString(), err.toString());
    }
}
