package org.criu2core;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A filesystem made in a sparse file and loop-mounted for a test: XFS or btrfs, whose
 * copy_file_range clones blocks. {@link #close} unmounts it, detaches its loop device and deletes
 * the file, whatever happened before. Where loop mounts cannot work (not root, no
 * /dev/loop-control, no mkfs for the type, losetup or mount refused) the test is skipped and says
 * why; CI runs as root with xfsprogs and btrfs-progs (.ci/run), so there it runs.
 */
public final class LoopMount implements AutoCloseable {
    private final Path image;
    private final Path mountPoint;
    private String device;
    private boolean mounted;

    private LoopMount(Path image, Path mountPoint) {
        this.image = image;
        this.mountPoint = mountPoint;
    }

    /** A new {@code type} filesystem of {@code size} bytes mounted at {@code dir}/mnt. */
    public static LoopMount make(String type, long size, Path dir) throws IOException {
        Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        Assumptions.assumeTrue(Integer.valueOf(0).equals(uid), "skipped: loop mounts need root, this is uid " + uid);
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/loop-control")),
                "skipped: no /dev/loop-control, so no loop devices here");
        Assumptions.assumeTrue(program("mkfs." + type) != null,
                "skipped: mkfs." + type + " is not installed (.ci/run installs it)");
        Files.createDirectories(dir);
        var mount = new LoopMount(dir.resolve(type + ".img"), dir.resolve("mnt"));
        String refused = null;
        try {
            try (var file = new RandomAccessFile(mount.image.toFile(), "rw")) {
                file.setLength(size);
            }
            run("mkfs." + type, "-q", mount.image.toString());
            var attached = exec("losetup", "--find", "--show", mount.image.toString());
            if (attached.status != 0) {
                refused = "losetup: " + attached.output;
            } else {
                mount.device = attached.output.trim();
                Files.createDirectories(mount.mountPoint);
                var mounted = exec("mount", mount.device, mount.mountPoint.toString());
                if (mounted.status != 0) {
                    refused = "mount: " + mounted.output;
                }
                mount.mounted = mounted.status == 0;
            }
        } catch (IOException | RuntimeException | Error e) {
            mount.closeAfter(e);
            throw e;
        }
        if (refused != null) {
            mount.close();
            Assumptions.abort("skipped: a loop-mounted " + type + " could not be made here: " + refused.trim());
        }
        return mount;
    }

    /** Where the filesystem is mounted. */
    public Path path() {
        return mountPoint;
    }

    /** Bytes not allocated on the filesystem, after its dirty data has been written back. */
    public long unallocated() throws IOException {
        run("sync", "-f", mountPoint.toString());
        return Files.getFileStore(mountPoint).getUnallocatedSpace();
    }

    /** Bytes this process may still write on the filesystem, after its dirty data has been written back. */
    public long usable() throws IOException {
        run("sync", "-f", mountPoint.toString());
        return Files.getFileStore(mountPoint).getUsableSpace();
    }

    @Override
    public void close() throws IOException {
        List<String> failed = new ArrayList<>();
        if (mounted) {
            var r = exec("umount", mountPoint.toString());
            if (r.status != 0) {
                failed.add("umount " + mountPoint + ": " + r.output.trim());
                // nothing of ours should hold it; detach it lazily rather than leave it behind
                r = exec("umount", "--lazy", mountPoint.toString());
            }
            mounted = r.status != 0;
        }
        if (device != null && !mounted) {
            var r = exec("losetup", "--detach", device);
            if (r.status != 0) {
                failed.add("losetup --detach " + device + ": " + r.output.trim());
            } else {
                device = null;
            }
        }
        if (!mounted) {
            Files.deleteIfExists(mountPoint);
            Files.deleteIfExists(image);
        }
        if (!failed.isEmpty()) {
            throw new IOException("cleaning up the loop mount: " + String.join("; ", failed));
        }
    }

    private void closeAfter(Throwable e) {
        try {
            close();
        } catch (IOException | RuntimeException suppressed) {
            e.addSuppressed(suppressed);
        }
    }

    /** A system program, looked for where root's are when PATH lacks the sbin folders. */
    private static String program(String name) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin"));
        for (String dir : dirs) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
                return Path.of(dir, name).toString();
            }
        }
        return null;
    }

    private record Result(int status, String output) {
    }

    private static Result exec(String name, String... args) throws IOException {
        String program = program(name);
        if (program == null) {
            return new Result(127, name + " is not installed");
        }
        List<String> command = new ArrayList<>(List.of(program));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, String.join(" ", command) + " did not finish in 60 s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", command), e);
        }
        return new Result(p.exitValue(), output);
    }

    private static void run(String name, String... args) throws IOException {
        var r = exec(name, args);
        if (r.status != 0) {
            throw new IOException(name + " " + String.join(" ", args) + ": exit " + r.status + ": " + r.output.trim());
        }
    }
}
