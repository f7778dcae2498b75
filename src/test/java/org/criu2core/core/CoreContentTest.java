package org.criu2core.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.criu2core.KernelCores;
import org.criu2core.container.CheckpointArchive;
import org.criu2core.container.RootFs;
import org.criu2core.debug.SharedCase;
import org.criu2core.model.Checkpoint;
import org.criu2core.model.Process;
import org.criu2core.sys.Holes;
import org.criu2core.sys.OpenFile;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The plan read at random offsets ({@link CoreContent#read}, what a mounted core serves) against
 * the core convert wrote from it, on every real case of ../shared: the same bytes in every range,
 * and the same data and holes as SEEK_DATA and SEEK_HOLE find in the written file.
 */
class CoreContentTest {
    @TempDir
    Path tmp;

    /** Converts a case into {@code out}; skips, saying why, a case whose architecture convert refuses for now. */
    static void convert(SharedCase c, Path out) {
        var run = KernelCores.cli("convert", "-q", "-D", c.checkpoint().toString(), "-o", out.toString(), "--root",
                c.root().toString());
        if (run.status() != 0 && run.err().contains("is not supported")) {
            Assumptions.abort("skipped: convert refuses " + c + " for now (another issue makes it convert): "
                    + run.err().strip());
        }
        assertEquals(0, run.status(), run.err());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource(SharedCase.PRESENT)
    void anyRangeOfThePlanIsTheWrittenCoresBytes(SharedCase c) throws Exception {
        Path out = tmp.resolve("out");
        convert(c, out);
        int cores = 0;
        try (var source = CheckpointArchive.open(c.checkpoint()); var root = new RootFs(c.root())) {
            Checkpoint cp = Checkpoint.load(source.images());
            var converter = new Converter(cp, root, DumpFilter.DEFAULT);
            for (Process process : cp.processes()) {
                Path written = out.resolve(Converter.coreName(process.pid()));
                if (!process.hasMemory()) {
                    assertTrue(Files.notExists(written), written.toString());
                    continue;
                }
                cores++;
                try (var memory = ProcessMemory.open(cp, process, root);
                     var file = FileChannel.open(written, StandardOpenOption.READ)) {
                    var content = new CoreContent(converter.plan(process, memory, new ArrayList<>()), memory);
                    assertEquals(file.size(), content.size(), written.toString());
                    Random random = new Random(process.pid());
                    List<long[]> ranges = new ArrayList<>(List.of(new long[] {0, 64}, new long[] {0, content.size()},
                            new long[] {content.layout().notesOffset() - 3, 100},
                            new long[] {content.layout().dataOffset() - 1, 3}, new long[] {content.size() - 1, 1}));
                    for (int i = 0; i < 200; i++) {
                        long at = (long) (random.nextDouble() * content.size());
                        ranges.add(new long[] {at, 1 + random.nextInt(random.nextBoolean() ? 64 : 300_000)});
                    }
                    for (long[] r : ranges) {
                        long from = Math.max(0, r[0]);
                        long to = Math.min(content.size(), from + r[1]);
                        assertArrayEquals(read(file, from, to), assemble(content, from, to),
                                written + " bytes " + from + " to " + to);
                    }
                    assertEquals(Holes.dataRuns(written), dataRuns(content), written + ": data and holes");
                }
            }
        }
        assertTrue(cores > 0, c.toString());
    }

    /** The bytes of [from, to) as the plan's pieces say. */
    private static byte[] assemble(CoreContent content, long from, long to) throws IOException {
        byte[] out = new byte[(int) (to - from)];
        content.read(from, to, new CoreContent.Pieces() {
            @Override
            public void bytes(long at, byte[] data, int offset, int length) {
                System.arraycopy(data, offset, out, (int) (at - from), length);
            }

            @Override
            public void file(long at, long length, OpenFile file, long fileOffset) throws IOException {
                var buffer = ByteBuffer.wrap(out, (int) (at - from), (int) length);
                while (buffer.hasRemaining()) {
                    if (file.channel().read(buffer, fileOffset + (buffer.position() - (at - from))) < 0) {
                        throw new IOException(file.name() + " ends before " + fileOffset + " + " + length);
                    }
                }
            }

            @Override
            public void hole(long at, long length) {
                // zeros already
            }
        });
        return out;
    }

    private static byte[] read(FileChannel file, long from, long to) throws IOException {
        var buffer = ByteBuffer.allocate((int) (to - from));
        while (buffer.hasRemaining() && file.read(buffer, from + buffer.position()) > 0) {
            // until full
        }
        return buffer.array();
    }

    /** [start, end) of each run of data, as SEEK_DATA and SEEK_HOLE on the core would give them. */
    static List<List<Long>> dataRuns(CoreContent content) throws IOException {
        List<List<Long>> runs = new ArrayList<>();
        for (long at = 0; at < content.size(); ) {
            long data = content.dataFrom(at, 4096);
            if (data < 0) {
                break;
            }
            long hole = content.holeFrom(data, 4096);
            runs.add(List.of(data, hole));
            at = hole;
        }
        return runs;
    }
}
