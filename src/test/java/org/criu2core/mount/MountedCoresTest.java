package org.criu2core.mount;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.criu2core.container.CheckpointArchive;
import org.criu2core.container.RootFs;
import org.criu2core.core.ProcessNotes;
import org.criu2core.debug.SharedCase;
import org.criu2core.sys.FuseMount;
import org.criu2core.sys.Holes;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every real case of ../shared mounted (FUSE, through this JVM): each core.PID byte for byte the
 * core convert writes, of the same size, with the same data and holes for SEEK_DATA and
 * SEEK_HOLE; read by many threads at once; unmounted without a trace.
 */
class MountedCoresTest {
    @TempDir
    Path tmp;

    static void assumeFuse() {
        // CI has /dev/fuse and the fuse3 package (.ci/run); a machine without them cannot mount at all
        Assumptions.assumeTrue(FuseMount.unavailable().isEmpty(),
                () -> "skipped: FUSE is not available here: " + FuseMount.unavailable().orElse(""));
    }

    static CheckpointCores.Options options(Path root, List<Integer> pids) {
        return new CheckpointCores.Options(root, 0x33, pids, CheckpointArchive.Limits.DEFAULTS,
                ProcessNotes.DEFAULT_FILE_NOTE_LIMIT, RootFs.DEFAULT_LOOKUP_TIME);
    }

    /** Whether {@code dir} is a mount point now. */
    static boolean mounted(Path dir) throws IOException {
        String path = dir.toAbsolutePath().normalize().toString();
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .anyMatch(l -> l.split(" ")[4].equals(path));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(SharedCase.PRESENT)
    void everyMountedCoreIsTheConvertedOne(SharedCase c) throws Exception {
        assumeFuse();
        Path out = tmp.resolve("out");
        var run = KernelCores.cli("convert", "-q", "-D", c.checkpoint().toString(), "-o", out.toString(), "--root",
                c.root().toString());
        if (run.status() != 0 && run.err().contains("is not supported")) {
            Assumptions.abort("skipped: convert refuses " + c + " for now (another issue makes it convert): "
                    + run.err().strip());
        }
        assertEquals(0, run.status(), run.err());
        List<String> converted;
        try (Stream<Path> files = Files.list(out)) {
            converted = files.map(p -> p.getFileName().toString()).sorted().toList();
        }
        Path dir = Files.createDirectory(tmp.resolve("mnt"));
        var cores = CheckpointCores.open(c.checkpoint(), options(c.root(), List.of()));
        try (var mount = CheckpointMount.mount(cores, dir, (file, offset, e) -> {
            throw new AssertionError(file + " at " + offset, e);
        })) {
            assertTrue(mounted(dir), dir.toString());
            List<String> names;
            try (Stream<Path> files = Files.list(dir)) {
                names = files.map(p -> p.getFileName().toString()).sorted().toList();
            }
            assertEquals(converted, names, "a core.PID for each process convert writes one for");
            for (String name : names) {
                Path ours = dir.resolve(name);
                Path theirs = out.resolve(name);
                assertEquals(Files.size(theirs), Files.size(ours), name);
                assertEquals(-1, Files.mismatch(theirs, ours), name + ": first differing byte");
                assertEquals(Holes.dataRuns(theirs), Holes.dataRuns(ours), name + ": data and holes");
            }
        }
        assertFalse(mounted(dir), dir + " is unmounted");
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(0, left.count(), "nothing left in " + dir);
        }
    }

    /**
     * The 70 000 segments of manyvmas read by 8 threads at once, each at its own random offsets
     * (the reads overlap in the workers), against the converted core.
     */
    @Test
    void concurrentReadsGetTheirOwnBytes() throws Exception {
        assumeFuse();
        Path shared = Fixtures.sharedCase("checkpoints", "manyvmas");
        Path out = converted(shared);
        Path dir = Files.createDirectory(tmp.resolve("mnt"));
        var cores = CheckpointCores.open(shared.resolve("images"), options(shared.resolve("root"), List.of()));
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (var mount = CheckpointMount.mount(cores, dir, (file, offset, e) -> {
            throw new AssertionError(file + " at " + offset, e);
        })) {
            String name = cores.cores().get(0).name();
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int seed = t;
                done.add(pool.submit(() -> {
                    int compared = 0;
                    var random = new Random(seed);
                    try (var ours = FileChannel.open(dir.resolve(name), StandardOpenOption.READ);
                         var theirs = FileChannel.open(out.resolve(name), StandardOpenOption.READ)) {
                        long size = theirs.size();
                        for (int i = 0; i < 300; i++) {
                            long at = (long) (random.nextDouble() * size);
                            int n = (int) Math.min(size - at, 1 + random.nextInt(200_000));
                            assertEquals(read(theirs, at, n), read(ours, at, n), name + " at " + at);
                            compared++;
                        }
                    }
                    return compared;
                }));
            }
            for (var f : done) {
                assertEquals(300, f.get());
            }
        } finally {
            pool.shutdownNow();
        }
        assertFalse(mounted(dir));
    }

    /** The cores convert writes of a shared case, in tmp/out. */
    private Path converted(Path shared) {
        Path out = tmp.resolve("out");
        var run = KernelCores.cli("convert", "-q", "-D", shared.resolve("images").toString(), "-o", out.toString(),
                "--root", shared.resolve("root").toString());
        assertEquals(0, run.status(), run.err());
        return out;
    }

    /** The plan kept within its budget: cores let go of are planned again, identically, when read. */
    @Test
    void coresLetGoAreReadAsBefore() throws Exception {
        assumeFuse();
        Path shared = Fixtures.sharedCase("checkpoints", "tree");
        Path out = converted(shared);
        Path dir = Files.createDirectory(tmp.resolve("mnt"));
        var cores = CheckpointCores.open(shared.resolve("images"), options(shared.resolve("root"), List.of()));
        try (var mount = CheckpointMount.mount(cores, dir, (file, offset, e) -> {
            throw new AssertionError(file + " at " + offset, e);
        })) {
            for (int i = 0; i < cores.count(); i++) {
                cores.forget(i);
            }
            for (var core : cores.cores()) {
                assertEquals(-1, Files.mismatch(out.resolve(core.name()), mount.core(core)), core.name());
            }
        }
    }

    @Test
    void aMountOnSomethingElseThanADirectoryIsOneLine() throws Exception {
        assumeFuse();
        Path shared = Fixtures.sharedCase("checkpoints", "threads");
        Path file = Files.writeString(tmp.resolve("file"), "x");
        try (var cores = CheckpointCores.open(shared.resolve("images"), options(shared.resolve("root"), List.of()))) {
            var e = assertThrows(FuseMount.Refused.class, () -> CheckpointMount.mount(cores, file, (f, o, x) -> { }));
            assertEquals(file + ": cannot be mounted on: it is not a directory", e.getMessage());
        }
    }

    private static ByteBuffer read(FileChannel channel, long at, int n) throws IOException {
        var buffer = ByteBuffer.allocate(n);
        while (buffer.hasRemaining() && channel.read(buffer, at + buffer.position()) > 0) {
            // until full
        }
        return buffer.flip();
    }
}
