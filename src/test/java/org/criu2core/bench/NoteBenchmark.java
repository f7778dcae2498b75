package org.criu2core.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.criu2core.arch.Arch;
import org.criu2core.container.RootFs;
import org.criu2core.core.ProcessMemory;
import org.criu2core.core.ProcessNotes;
import org.criu2core.elf.Note;
import org.criu2core.model.Checkpoint;
import org.criu2core.model.Process;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/** Encoding every note of the three-thread x86_64 fixture (registers, XSAVE, auxv, NT_FILE). */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class NoteBenchmark {
    private Process process;
    private Arch arch;
    private long[] auxv;
    private ProcessMemory memory;
    private RootFs root;

    @Setup
    public void setup() throws IOException {
        Checkpoint checkpoint = Checkpoint.load(Path.of("fixtures", "checkpoints", "threads", "images"));
        process = checkpoint.processes().get(0);
        root = new RootFs(Path.of("."));
        memory = ProcessMemory.open(checkpoint, process, root);
        arch = memory.arch();
        auxv = memory.auxv();
    }

    @Benchmark
    public List<Note> buildNotes() throws IOException {
        return ProcessNotes.build(process, arch, memory, auxv);
    }

    @TearDown
    public void close() throws IOException {
        memory.close();
        root.close();
    }
}
