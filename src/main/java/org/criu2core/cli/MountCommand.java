package org.criu2core.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import org.criu2core.api.Criu2Core;
import org.criu2core.container.CheckpointArchive;
import org.criu2core.core.ProcessNotes;
import org.criu2core.mount.CheckpointCores;
import org.criu2core.mount.CheckpointMount;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "mount", mixinStandardHelpOptions = true,
        description = {"Mount a checkpoint's cores read-only at DIR, one core.PID per process, byte for byte what "
                + "convert writes, without writing them: each read is served from the images, the parent snapshots "
                + "and the root's files (FUSE), so a core of any size is there at once and takes no disk space.",
                "Stays in the foreground until DIR is unmounted (fusermount3 -u DIR) or it is interrupted (Ctrl-C, "
                        + "SIGTERM), and unmounts then. Needs FUSE: /dev/fuse and the fuse3 package."},
        footer = {"", "Examples:", "  criu2core mount /var/lib/checkpoint /tmp/cores",
                "  criu2core mount checkpoint.tar.zst /tmp/cores --root rootfs --pid 6",
                "  criu2core mount checkpoint.tar /tmp/cores --image image.oci.tar",
                "  gdb -ex 'set sysroot rootfs' -ex 'core /tmp/cores/core.6' rootfs/usr/bin/app"})
final class MountCommand implements Callable<Integer> {
    /** Read failures told one by one; past these, only counted. */
    private static final int MAX_FAILURE_LINES = 20;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "CHECKPOINT", description = "a directory of images, or a container checkpoint archive")
    Path checkpoint;

    @Parameters(index = "1", paramLabel = "DIR", description = "an existing directory to mount the cores on")
    Path dir;

    @Option(names = "--pid", paramLabel = "PID", description = "mount only this process's core (repeatable)")
    List<Integer> pids = new ArrayList<>();

    @Mixin
    RootOption rootOption;

    @Mixin
    FilterOption filterOption;

    @Option(names = {"-q", "--quiet"}, description = "print nothing but errors")
    boolean quiet;

    @Mixin
    ArchiveOptions archiveOptions;

    @Mixin
    DebugOption debugOption;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        var limits = archiveOptions.limits(rootOption);
        var options = new CheckpointCores.Options(rootOption.root, filterOption.bits, pids, limits.archive(),
                ProcessNotes.DEFAULT_FILE_NOTE_LIMIT, limits.lookupTime());
        var opened = Criu2Core.open(checkpoint, rootOption.root, rootOption.image, limits,
                CheckpointArchive.Parts.ALL);
        var cores = CheckpointCores.open(opened.checkpoint(), opened.rootFs(), options, opened);
        opened.notes().forEach(note -> say(err, note));
        int status = 0;
        for (var left : cores.left()) {
            if (left.error() != null) {
                err.println("criu2core: " + Main.describe(left.error()));
                status = Main.EXIT_FAILURE;
            } else {
                say(err, String.format("process %d (%s): %s, no memory image; no core", left.pid(), left.comm(),
                        left.state().name().toLowerCase()));
            }
        }
        if (cores.root() == null) {
            say(err, "warning: " + checkpoint + " is a container checkpoint with no files of its own, and neither "
                    + "--root nor --image was given: mapped files are not read, their pages are zeros in the cores "
                    + "(give the container's image with --image, or its root filesystem with --root)");
        }
        AtomicInteger failures = new AtomicInteger();
        CheckpointMount mount;
        try {
            mount = CheckpointMount.mount(cores, dir, (file, offset, e) -> {
                if (failures.incrementAndGet() <= MAX_FAILURE_LINES) {
                    synchronized (err) {
                        err.println("criu2core: " + file + ": a read at byte " + offset + " failed: " + Main.describe(e));
                        err.flush();
                    }
                }
            });
        } catch (java.io.IOException | RuntimeException e) {
            cores.close();
            throw e;
        }
        try (mount) {
            for (var core : cores.cores()) {
                var p = core.process();
                say(err, String.format("%s: %s, %d thread%s, %d segments, %d bytes", mount.core(core),
                        core.arch(), p.threads().size(), p.threads().size() == 1 ? "" : "s",
                        core.segments(), core.size()));
                for (String warning : cores.warnings(core)) {
                    say(err, "warning: " + warning);
                }
            }
            for (String name : cores.rootFs().missing()) {
                say(err, "warning: " + name + " is not under " + cores.root() + ": its pages are zeros in the core");
            }
            say(err, String.format("%d core%s mounted read-only at %s; unmount with fusermount3 -u %s or Ctrl-C",
                    cores.cores().size(), cores.cores().size() == 1 ? "" : "s", mount.dir(), mount.dir()));
            mount.await();
        }
        if (failures.get() > MAX_FAILURE_LINES) {
            err.println("criu2core: " + (failures.get() - MAX_FAILURE_LINES) + " more reads failed");
        }
        say(err, "unmounted " + dir);
        return failures.get() > 0 ? Main.EXIT_FAILURE : status;
    }

    private void say(PrintWriter err, String line) {
        if (!quiet) {
            err.println(line);
            err.flush();
        }
    }
}
