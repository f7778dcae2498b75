package org.criu2core.bench;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.criu2core.image.Image;
import org.criu2core.image.ImageEntry;
import org.criu2core.image.ImageWriter;
import org.criu2core.image.proto.Pagemap.pagemap_entry;
import org.criu2core.image.proto.Pagemap.pagemap_head;
import org.criu2core.model.CheckpointDir;
import org.criu2core.model.PageIndex;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The page index of a checkpoint with RUNS runs of 15 saved pages, each after a hole: loading it
 * from the pagemap image, and finding the run of an address.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PageIndexBenchmark {
    private static final int PAGE = 4096;
    private static final long BASE = 0x7f00_0000_0000L;

    @Param({"1000", "20000", "300000"})
    public int runs;

    private CheckpointDir dir;
    private PageIndex index;
    private long[] addresses;
    private int next;

    @Setup
    public void setup() throws IOException {
        Path path = Files.createTempDirectory("criu2core-jmh");
        List<ImageEntry> entries = new ArrayList<>(List.of(new ImageEntry(pagemap_head.newBuilder().setPagesId(1).build())));
        for (int i = 0; i < runs; i++) {
            entries.add(new ImageEntry(pagemap_entry.newBuilder().setVaddr(BASE + (16L * i + 1) * PAGE)
                    .setCompatNrPages(0).setNrPages(15).setFlags(4).build()));
        }
        Files.write(path.resolve("pagemap-1.img"), ImageWriter.toBytes(new Image("PAGEMAP", entries)));
        try (var pages = new RandomAccessFile(path.resolve("pages-1.img").toFile(), "rw")) {
            pages.setLength(15L * PAGE * runs); // sparse: only its size is read
        }
        dir = new CheckpointDir(path);
        index = load();
        var random = new SplittableRandom(7);
        addresses = new long[1 << 16];
        for (int i = 0; i < addresses.length; i++) {
            addresses[i] = BASE + random.nextLong(16L * PAGE * runs);
        }
    }

    @Benchmark
    public int runAt() {
        return index.runAt(addresses[next++ & (addresses.length - 1)]);
    }

    @Benchmark
    public PageIndex load() throws IOException {
        return PageIndex.load(dir, "pagemap-1.img", PAGE);
    }
}
