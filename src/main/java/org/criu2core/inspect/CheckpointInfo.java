package org.criu2core.inspect;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.criu2core.arch.Arch;
import org.criu2core.container.ContainerMetadata;
import org.criu2core.container.RootFs;
import org.criu2core.core.ProcessMemory;
import org.criu2core.model.Checkpoint;
import org.criu2core.model.MappedFile;
import org.criu2core.model.PageIndex;
import org.criu2core.model.Process;
import org.criu2core.model.Vma;
import org.criu2core.model.VmaStatus;

/**
 * What a checkpoint holds, as plain data for people and for JSON: the container it was taken of
 * (where an engine wrote that down; else null), notes on the root its mapped files were read
 * under, the images' header, the process tree, and per process its memory by kind, where its
 * pages are, its mapped files and command line. A process whose images are broken is listed with
 * the error instead.
 */
public record CheckpointInfo(String path, ContainerMetadata container, List<String> notes, Images images,
                             List<ProcessInfo> processes) {
    /** From inventory.img; null fields where the image does not say. */
    public record Images(Integer version, Long dumpUptime, String runId, String lsm, Integer preDumpMode,
                         boolean incremental) {
    }

    /** {@code warnings}: what the images hold that this tool leaves out. */
    public record ProcessInfo(int pid, int ppid, int pgid, int sid, String comm, String state, String arch,
                              List<Integer> threads, String commandLine, MemoryInfo memory,
                              List<FileInfo> mappedFiles, List<String> warnings, String error) {
    }

    /**
     * Pages are counted in {@code pageSize} units; "unsaved" pages lie in VMAs but in no pagemap.
     * {@code guards} are the ranges MADV_GUARD_INSTALL made guard pages, each in its VMA.
     */
    public record MemoryInfo(int vmas, long bytes, long pageSize, Map<String, Kind> byKind, long presentPages,
                             long parentPages, long lazyPages, long unsavedPages, List<Guard> guards) {
    }

    /** Guard pages [start, end) in the VMA [vmaStart, vmaEnd) of the kind {@code vmaKind}. */
    public record Guard(long start, long end, long vmaStart, long vmaEnd, String vmaKind) {
    }

    public record Kind(int vmas, long bytes) {
    }

    public record FileInfo(String path, int vmas, long bytes) {
    }

    private static final int COMMAND_LINE_MAX = 4096;

    public static CheckpointInfo of(Checkpoint checkpoint, RootFs root) {
        var inv = checkpoint.inventory().orElse(null);
        boolean incremental;
        try {
            incremental = checkpoint.dir().parent().isPresent();
        } catch (IOException e) {
            incremental = true;
        }
        Images images = inv == null ? new Images(null, null, null, null, null, incremental) : new Images(
                inv.getImgVersion(), inv.hasDumpUptime() ? inv.getDumpUptime() : null,
                inv.hasDumpCriuRunId() ? inv.getDumpCriuRunId() : null,
                inv.hasLsmtype() ? inv.getLsmtype().name() : null,
                inv.hasPreDumpMode() ? inv.getPreDumpMode() : null, incremental);
        List<ProcessInfo> processes = new ArrayList<>();
        for (var entry : checkpoint.tree()) {
            try {
                processes.add(process(checkpoint, checkpoint.process(entry), root));
            } catch (IOException | RuntimeException e) {
                processes.add(new ProcessInfo(entry.pid(), entry.ppid(), entry.pgid(), entry.sid(), null, null, null,
                        entry.threads(), null, null, List.of(), List.of(), e.getMessage()));
            }
        }
        return new CheckpointInfo(checkpoint.dir().path().toString(), null, List.of(), images, processes);
    }

    private static ProcessInfo process(Checkpoint checkpoint, Process p, RootFs root) throws IOException {
        List<Integer> tids = p.threads().stream().map(org.criu2core.model.Thread::tid).toList();
        String state = p.state().name().toLowerCase();
        Arch arch = Arch.of(p, checkpoint.dir().display("core-" + p.pid() + ".img"));
        if (!p.hasMemory()) {
            return new ProcessInfo(p.pid(), p.ppid(), p.pgid(), p.sid(), p.comm(), state, arch.name(), tids, null, null,
                    List.of(), p.warnings(), null);
        }
        try (var memory = ProcessMemory.open(checkpoint, p, root)) {
            return new ProcessInfo(p.pid(), p.ppid(), p.pgid(), p.sid(), p.comm(), state, arch.name(), tids,
                    commandLine(p, memory), memory(checkpoint, p, memory.pages()), files(p), memory.warnings(), null);
        }
    }

    /** The VMA's kind, as a short name for tables. */
    public static String kind(Vma vma) {
        if (vma.has(VmaStatus.VMA_AREA_VDSO)) {
            return "vdso";
        }
        if (vma.has(VmaStatus.VMA_AREA_VVAR)) {
            return "vvar";
        }
        if (vma.has(VmaStatus.VMA_AREA_VSYSCALL)) {
            return "vsyscall";
        }
        if (vma.has(VmaStatus.VMA_AREA_UPROBES)) {
            return "uprobes";
        }
        if (vma.hugetlb()) {
            return vma.shared() ? "hugetlb shared" : "hugetlb private";
        }
        MappedFile file = vma.file();
        if (file != null && file.kind() != MappedFile.Kind.REGULAR) {
            return switch (file.kind()) {
                case AIO_RING -> "aio ring";
                case SOCKET -> "packet ring";
                case SYSV -> "sysv shm";
                default -> file.path().equals("/dev/zero") ? "anonymous shared" : "memfd";
            };
        }
        if (file != null) {
            return vma.shared() ? "file shared" : "file private";
        }
        if (vma.has(VmaStatus.VMA_AREA_HEAP)) {
            return "heap";
        }
        return "anonymous private";
    }

    private static MemoryInfo memory(Checkpoint checkpoint, Process p, PageIndex pages) {
        Map<String, Kind> byKind = new LinkedHashMap<>();
        long bytes = 0;
        for (Vma vma : p.vmas()) {
            byKind.merge(kind(vma), new Kind(1, vma.size()), (a, b) -> new Kind(a.vmas() + b.vmas(), a.bytes() + b.bytes()));
            bytes += vma.size();
        }
        long present = 0;
        long parent = 0;
        long lazy = 0;
        Path own = checkpoint.dir().path();
        for (int r = 0; r < pages.runs(); r++) {
            long n = (pages.end(r) - pages.start(r)) / pages.pageSize();
            if (!pages.present(r)) {
                lazy += n;
            } else if (pages.file(r).getParent().equals(own)) {
                present += n;
            } else {
                parent += n;
            }
        }
        long unsaved = bytes / pages.pageSize() - present - parent - lazy;
        List<Guard> guards = new ArrayList<>();
        for (Vma vma : p.vmas()) {
            for (Vma.Range g : vma.guards()) {
                guards.add(new Guard(g.start(), g.end(), vma.start(), vma.end(), kind(vma)));
            }
        }
        return new MemoryInfo(p.vmas().size(), bytes, pages.pageSize(), byKind, present, parent, lazy, unsaved,
                guards);
    }

    private static List<FileInfo> files(Process p) {
        Map<String, long[]> files = new LinkedHashMap<>();
        for (Vma vma : p.vmas()) {
            MappedFile f = vma.file();
            if (f != null) {
                long[] c = files.computeIfAbsent(f.kernelName(), k -> new long[2]);
                c[0]++;
                c[1] += vma.size();
            }
        }
        List<FileInfo> out = new ArrayList<>();
        files.forEach((name, c) -> out.add(new FileInfo(name, (int) c[0], c[1])));
        return out;
    }

    private static String commandLine(Process p, ProcessMemory memory) throws IOException {
        long start = p.mm().getMmArgStart();
        long end = p.mm().getMmArgEnd();
        if (Long.compareUnsigned(end, start) <= 0) {
            return "";
        }
        byte[] args = memory.read(start, (int) Math.min(end - start, COMMAND_LINE_MAX));
        int length = args.length;
        while (length > 0 && args[length - 1] == 0) {
            length--;
        }
        for (int i = 0; i < length; i++) {
            if (args[i] == 0) {
                args[i] = ' ';
            }
        }
        return new String(args, 0, length, StandardCharsets.UTF_8);
    }
}
