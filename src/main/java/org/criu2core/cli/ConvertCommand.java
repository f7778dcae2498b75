package org.criu2core.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.criu2core.api.Criu2Core;
import org.criu2core.core.ProcessNotes;
import org.criu2core.sys.BlockSharing;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Write an ELF core file core.PID for each process of a CRIU checkpoint.",
                "Each core is written under a temporary name and renamed when complete. A process "
                        + "whose images are broken is reported and the others are still converted; the exit "
                        + "status is then 1."},
        footer = {"", "Examples:",
                "  criu2core convert -D /var/lib/checkpoint -o /tmp/cores",
                "  criu2core convert -D images -o out --pid 8229 --root rootfs",
                "  criu2core convert -D checkpoint.tar.zst -o out --root rootfs",
                "  gdb -ex 'set sysroot rootfs' -ex 'core out/core.8229' rootfs/usr/bin/app"})
final class ConvertCommand implements Callable<Integer> {
    /** Past this many, mapped files missing under the root are counted, not listed. */
    private static final int MAX_MISSING_LINES = 100;
    private static final long MAX_FILE_NOTE_LIMIT = 1L << 30;

    @Spec
    CommandSpec spec;

    @Option(names = {"-D", "-i", "--images-dir", "--in"}, required = true, paramLabel = "DIR",
            description = "the checkpoint: a directory of images, or a container checkpoint archive")
    Path images;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "OUTDIR", description = "directory for the cores")
    Path out;

    @Option(names = "--pid", paramLabel = "PID", description = "convert only this process (repeatable)")
    List<Integer> pids = new ArrayList<>();

    @Mixin
    RootOption rootOption;

    @Mixin
    FilterOption filterOption;

    @Option(names = {"-j", "--jobs"}, paramLabel = "N",
            description = "write up to N cores at once (default: ${DEFAULT-VALUE}, one per CPU up to 4)")
    int jobs = Criu2Core.Options.DEFAULT_JOBS;

    @Option(names = {"-q", "--quiet"}, description = "print nothing but errors")
    boolean quiet;

    @Option(names = {"-v", "--verbose"}, description = "also say of each core how many of its bytes were cloned "
            + "(share blocks with the checkpoint's files: XFS, btrfs) and how many were written")
    boolean verbose;

    @Mixin
    ArchiveOptions archiveOptions;

    @Option(names = "--file-note-limit", paramLabel = "SIZE", converter = SizeConverter.class, defaultValue = "4M",
            description = "leave NT_FILE out of a core from this size on, as the kernel's "
                    + "kernel.core_file_note_size_limit (default: ${DEFAULT-VALUE})")
    long fileNoteLimit = ProcessNotes.DEFAULT_FILE_NOTE_LIMIT;

    @Mixin
    DebugOption debugOption;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        if (jobs < 1) {
            throw new ParameterException(spec.commandLine(), "--jobs must be at least 1, not " + jobs);
        }
        if (fileNoteLimit > MAX_FILE_NOTE_LIMIT) {
            throw new ParameterException(spec.commandLine(), "--file-note-limit must be at most 1G");
        }
        var limits = archiveOptions.limits(rootOption).withFileNoteLimit(fileNoteLimit);
        var options = new Criu2Core.Options(rootOption.root, filterOption.bits, pids, ConsoleProgress.forTerminal(quiet), jobs,
                limits, rootOption.image);
        int[] imageWarnings = {0};
        var blocks = new Blocks();
        var report = Criu2Core.convert(images, out, options, outcome -> {
            if (outcome instanceof Criu2Core.Written w) {
                var r = w.result();
                say(err, String.format("%s: %s, %d thread%s, %d segments, %s bytes%s", r.core(), r.arch(),
                        r.threads(), r.threads() == 1 ? "" : "s", r.segments(), r.size(),
                        r.lazyPages() > 0 ? ", " + r.lazyPages() + " lazy pages left as zeros" : ""));
                if (verbose) {
                    say(err, r.core() + ": " + blocks.of(r.core()));
                }
                for (String warning : r.warnings()) {
                    say(err, "warning: " + warning);
                }
                imageWarnings[0] += r.warnings().size();
            } else if (outcome instanceof Criu2Core.Skipped s) {
                say(err, String.format("process %d (%s): %s, no memory image; no core", s.pid(), s.comm(),
                        s.state().name().toLowerCase()));
            } else if (outcome instanceof Criu2Core.Failed f) {
                err.println("criu2core: " + Main.describe(f.error()));
                if (debugOption.debug) {
                    f.error().printStackTrace(err);
                }
                err.flush();
            }
        });
        report.notes().forEach(note -> say(err, note));
        if (report.root() == null) {
            say(err, "warning: " + images + " is a container checkpoint with no files of its own, and neither --root "
                    + "nor --image was given: mapped files are not read, their pages are zeros in the cores (give "
                    + "the container's image with --image, or its root filesystem with --root)");
        }
        var missing = report.missingFiles();
        for (String name : missing.subList(0, Math.min(missing.size(), MAX_MISSING_LINES))) {
            say(err, "warning: " + name + " is not under " + report.root() + ": its pages are zeros in the core");
        }
        if (missing.size() > MAX_MISSING_LINES) {
            say(err, "warning: " + (missing.size() - MAX_MISSING_LINES) + " more mapped files are not under "
                    + report.root() + ": their pages are zeros in the core");
        }
        if (report.notLookedUp() > 0) {
            say(err, "warning: looking mapped files up under " + report.root() + " took all of its "
                    + rootOption.lookupSeconds + " s (--lookup-time): " + report.notLookedUp()
                    + " more were not looked up, their pages are zeros in the core");
        }
        var outcomes = report.outcomes();
        long written = outcomes.stream().filter(o -> o instanceof Criu2Core.Written).count();
        long bytes = outcomes.stream().filter(o -> o instanceof Criu2Core.Written)
                .mapToLong(o -> ((Criu2Core.Written) o).result().size()).sum();
        long skipped = outcomes.stream().filter(o -> o instanceof Criu2Core.Skipped).count();
        long failed = outcomes.size() - written - skipped;
        long warnings = missing.size() + (report.notLookedUp() > 0 ? 1 : 0) + (report.root() == null ? 1 : 0)
                + imageWarnings[0] + report.notes().stream().filter(n -> n.startsWith("warning:")).count();
        say(err, String.format("%d core%s written (%d bytes%s), %d skipped, %d failed, %d warning%s; %s", written,
                written == 1 ? "" : "s", bytes, verbose ? "; " + blocks.total() : "", skipped, failed, warnings,
                warnings == 1 ? "" : "s",
                RootOption.where(report.root())));
        return report.allWritten() ? 0 : Main.EXIT_FAILURE;
    }

    /**
     * What the filesystem says of the cores' blocks (--verbose). Right after it was written, a
     * core's blocks can be shared only with the files they were cloned from.
     */
    private static final class Blocks {
        private long cloned;
        private long written;
        private boolean unknown;

        String of(Path core) {
            try {
                var sharing = BlockSharing.of(core);
                if (sharing.isEmpty()) {
                    unknown = true;
                    return "its filesystem does not say which blocks are shared";
                }
                long shared = sharing.get().shared();
                long own = sharing.get().own();
                cloned += shared;
                written += own;
                return String.format("%d bytes cloned (blocks shared with the checkpoint's files), %d written, "
                        + "%d in holes", shared, own, Files.size(core) - shared - own);
            } catch (IOException e) {
                unknown = true;
                return "which blocks are shared is not known: " + e.getMessage();
            }
        }

        String total() {
            return unknown ? "which blocks are shared is not known" : cloned + " cloned, " + written + " written";
        }
    }

    private void say(PrintWriter err, String line) {
        if (!quiet) {
            err.println(line);
            err.flush();
        }
    }
}
