package org.criu2core.bench;

import com.google.protobuf.Message;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.criu2core.image.Image;
import org.criu2core.image.ImageEntry;
import org.criu2core.image.ImageWriter;
import org.criu2core.image.proto.Core.core_entry;
import org.criu2core.image.proto.Core.task_core_entry;
import org.criu2core.image.proto.Core.thread_core_entry;
import org.criu2core.image.proto.CoreX86.thread_info_x86;
import org.criu2core.image.proto.CoreX86.user_x86_fpregs_entry;
import org.criu2core.image.proto.CoreX86.user_x86_regs_entry;
import org.criu2core.image.proto.CoreX86.user_x86_xsave_entry;
import org.criu2core.image.proto.Creds.creds_entry;
import org.criu2core.image.proto.Inventory.inventory_entry;
import org.criu2core.image.proto.Mm.mm_entry;
import org.criu2core.image.proto.Pagemap.pagemap_entry;
import org.criu2core.image.proto.Pagemap.pagemap_head;
import org.criu2core.image.proto.Pstree.pstree_entry;
import org.criu2core.image.proto.Vma.vma_entry;

/**
 * Writes a large synthetic x86_64 checkpoint for benchmarks: a pre-dump and a dump on top of it
 * (parent link), random page contents, many VMAs, holes, one or more processes. Pages stream to
 * disk: nothing the size of the checkpoint is held in memory.
 *
 * <p>Pages of each VMA, by index j: every 16th (or HOLE_EVERY-th) is a hole (never saved), every
 * fourth run of 64 pages is in the parent, the rest are in the dump's pages file. With several processes, each
 * has an equal share of the size and the VMAs, and pages files of its own.
 *
 * <p>With SPARSE_EVERY above 0 only one page in SPARSE_EVERY of each pages file holds data; the
 * others are holes in the file (zeros to a reader, no disk): checkpoints of tens of GiB for what
 * reads little of them (the benchmark's stacks step).
 *
 * <pre>usage: BenchCheckpoint DIR SIZE_MIB VMAS [PROCESSES [THREADS [PAGE_SIZE [HOLE_EVERY [SPARSE_EVERY]]]]]</pre>
 * writes DIR/pre and DIR/images; prints the pages files' total size.
 */
public final class BenchCheckpoint {
    static final int PAGE = 4096;
    static final int HOLE_EVERY = 16;
    static final int PID = 1000;
    /** Process p has pid PID + p * PID_STEP, its threads the pids after it. */
    static final int PID_STEP = 100;
    private static final long BASE = 0x7f00_0000_0000L;

    enum Kind { HOLE, PARENT, PRESENT }

    static Kind kind(long page, int holeEvery) {
        if (page % holeEvery == holeEvery - 1) {
            return Kind.HOLE;
        }
        return (page / 64) % 4 == 0 ? Kind.PARENT : Kind.PRESENT;
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 3) {
            System.err.println("usage: BenchCheckpoint DIR SIZE_MIB VMAS [PROCESSES [THREADS [PAGE_SIZE [HOLE_EVERY "
                    + "[SPARSE_EVERY]]]]]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        long sizeMiB = Long.parseLong(args[1]);
        int vmas = Integer.parseInt(args[2]);
        int processes = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        int threads = args.length > 4 ? Integer.parseInt(args[4]) : 4;
        // another page size than the host's: what the alignment of clones does with 64 KiB pages
        int pageSize = args.length > 5 ? Integer.parseInt(args[5]) : PAGE;
        int holeEvery = args.length > 6 ? Integer.parseInt(args[6]) : HOLE_EVERY;
        int sparseEvery = args.length > 7 ? Integer.parseInt(args[7]) : 0;
        if (processes < 1 || processes >= PID_STEP || threads < 1 || threads >= PID_STEP || vmas < processes
                || holeEvery < 2 || sparseEvery < 0) {
            System.err.println("BenchCheckpoint: 1 <= PROCESSES <= VMAS, PROCESSES and THREADS below " + PID_STEP
                    + ", HOLE_EVERY at least 2, SPARSE_EVERY not negative");
            System.exit(2);
        }
        System.out.println(write(dir, sizeMiB, vmas, processes, threads, pageSize, holeEvery, sparseEvery));
    }

    /** Writes the checkpoint; returns the bytes of saved pages (all pages files). */
    public static long write(Path dir, long sizeMiB, int vmaCount, int processes, int threads) throws IOException {
        return write(dir, sizeMiB, vmaCount, processes, threads, PAGE, HOLE_EVERY);
    }

    /**
     * The same with pages of {@code pageSize} bytes (AT_PAGESZ, pages files, VMA sizes) and a hole
     * every {@code holeEvery} pages.
     */
    public static long write(Path dir, long sizeMiB, int vmaCount, int processes, int threads, int pageSize,
                             int holeEvery) throws IOException {
        return write(dir, sizeMiB, vmaCount, processes, threads, pageSize, holeEvery, 0);
    }

    /** The same with data in one page of {@code sparseEvery} of the pages files (0: in all). */
    public static long write(Path dir, long sizeMiB, int vmaCount, int processes, int threads, int pageSize,
                             int holeEvery, int sparseEvery) throws IOException {
        Path pre = dir.resolve("pre");
        Path images = dir.resolve("images");
        Files.createDirectories(pre);
        Files.createDirectories(images);
        image(pre, "inventory.img", "INVENTORY", List.of(inventory()));
        image(images, "inventory.img", "INVENTORY", List.of(inventory()));
        List<pstree_entry> tree = new ArrayList<>();
        long written = 0;
        for (int p = 0; p < processes; p++) {
            int pid = PID + p * PID_STEP;
            List<Integer> tids = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                tids.add(pid + t);
            }
            tree.add(pstree_entry.newBuilder().setPid(pid).setPpid(p == 0 ? 0 : PID).setPgid(PID).setSid(PID)
                    .addAllThreads(tids).build());
            for (int tid : tids) {
                image(images, "core-" + tid + ".img", "CORE", List.of(core(tid, tid == pid)));
            }
            written += writeMemory(pre, images, pid, p + 1, sizeMiB / processes, vmaCount / processes, pageSize,
                    holeEvery, sparseEvery);
        }
        image(images, "pstree.img", "PSTREE", tree);
        Files.deleteIfExists(images.resolve("parent"));
        Files.createSymbolicLink(images.resolve("parent"), Path.of("..", "pre"));
        return written;
    }

    /** The VMAs, pagemaps and pages of one process; returns the bytes of its saved pages. */
    private static long writeMemory(Path pre, Path images, int pid, int pagesId, long sizeMiB, int vmaCount,
                                    int pageSize, int holeEvery, int sparseEvery) throws IOException {
        // pages per VMA such that the saved pages (all but one in holeEvery) add up to the size asked for
        long savedPages = sizeMiB * (1 << 20) / pageSize;
        long pagesPerVma = Math.max(1, savedPages * holeEvery / (holeEvery - 1) / vmaCount);
        List<vma_entry> vmas = new ArrayList<>();
        List<Message> dumpMap = new ArrayList<>(List.of(pagemap_head.newBuilder().setPagesId(pagesId).build()));
        List<Message> preMap = new ArrayList<>(List.of(pagemap_head.newBuilder().setPagesId(pagesId).build()));
        var random = new SplittableRandom(42 + pid);
        byte[] page = new byte[pageSize];
        long written = 0;
        String pagesName = "pages-" + pagesId + ".img";
        try (var dumpPages = new PagesFile(images.resolve(pagesName), pageSize, sparseEvery);
             var prePages = new PagesFile(pre.resolve(pagesName), pageSize, sparseEvery)) {
            for (int v = 0; v < vmaCount; v++) {
                long start = BASE + v * (pagesPerVma + 1) * pageSize; // a one-page gap keeps VMAs apart
                vmas.add(vma_entry.newBuilder().setStart(start).setEnd(start + pagesPerVma * pageSize).setPgoff(0)
                        .setShmid(0).setProt(3).setFlags(0x22).setStatus(1 | 1 << 9).setFd(-1).build());
                long runStart = 0;
                for (long j = 0; j <= pagesPerVma; j++) {
                    Kind k = j < pagesPerVma ? kind(j, holeEvery) : null;
                    if (j > 0 && (j == pagesPerVma || k != kind(j - 1, holeEvery))) {
                        Kind run = kind(j - 1, holeEvery);
                        long vaddr = start + runStart * pageSize;
                        long n = j - runStart;
                        if (run == Kind.PARENT) {
                            dumpMap.add(entry(vaddr, n, 1));
                            preMap.add(entry(vaddr, n, 4));
                        } else if (run == Kind.PRESENT) {
                            dumpMap.add(entry(vaddr, n, 4));
                        }
                        runStart = j;
                    }
                    if (k == Kind.PRESENT || k == Kind.PARENT) {
                        PagesFile to = k == Kind.PRESENT ? dumpPages : prePages;
                        if (to.nextHasData()) {
                            for (int i = 0; i < pageSize; i += 8) {
                                long r = random.nextLong();
                                for (int b = 0; b < 8; b++) {
                                    page[i + b] = (byte) (r >>> (8 * b));
                                }
                            }
                        }
                        to.write(page);
                        written += pageSize;
                    }
                }
            }
        }
        image(pre, "pagemap-" + pid + ".img", "PAGEMAP", preMap);
        image(images, "mm-" + pid + ".img", "MM", List.of(mm_entry.newBuilder().setMmStartCode(0).setMmEndCode(0)
                .setMmStartData(0).setMmEndData(0).setMmStartStack(0).setMmStartBrk(0).setMmBrk(0).setMmArgStart(0)
                .setMmArgEnd(0).setMmEnvStart(0).setMmEnvEnd(0).setExeFileId(0)
                .addAllMmSavedAuxv(List.of(6L, (long) pageSize)).addAllVmas(vmas).build()));
        image(images, "pagemap-" + pid + ".img", "PAGEMAP", dumpMap);
        return written;
    }

    /** A pages file written page by page; with {@code sparseEvery}, all but one page in it are holes. */
    private static final class PagesFile implements AutoCloseable {
        private final Path path;
        private final OutputStream out;
        private final int pageSize;
        private final int sparseEvery;
        private final java.nio.channels.FileChannel channel;
        private long pages;

        PagesFile(Path path, int pageSize, int sparseEvery) throws IOException {
            this.path = path;
            this.pageSize = pageSize;
            this.sparseEvery = sparseEvery;
            if (sparseEvery > 0) {
                this.channel = java.nio.channels.FileChannel.open(path, java.nio.file.StandardOpenOption.CREATE,
                        java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING);
                this.out = null;
            } else {
                this.channel = null;
                this.out = new BufferedOutputStream(Files.newOutputStream(path), 1 << 20);
            }
        }

        /** Whether the next page written holds data (else it becomes a hole). */
        boolean nextHasData() {
            return sparseEvery == 0 || pages % sparseEvery == 0;
        }

        void write(byte[] page) throws IOException {
            if (channel == null) {
                out.write(page);
            } else if (nextHasData()) {
                var buffer = java.nio.ByteBuffer.wrap(page);
                while (buffer.hasRemaining()) {
                    channel.write(buffer, pages * pageSize + buffer.position());
                }
            }
            pages++;
        }

        @Override
        public void close() throws IOException {
            if (channel == null) {
                out.close();
                return;
            }
            channel.close();
            try (var file = new java.io.RandomAccessFile(path.toFile(), "rw")) {
                file.setLength(pages * pageSize);
            }
        }
    }

    private static pagemap_entry entry(long vaddr, long pages, int flags) {
        return pagemap_entry.newBuilder().setVaddr(vaddr).setCompatNrPages(0).setNrPages(pages).setFlags(flags).build();
    }

    private static inventory_entry inventory() {
        return inventory_entry.newBuilder().setImgVersion(2).build();
    }

    private static core_entry core(int tid, boolean leader) {
        var regs = user_x86_regs_entry.newBuilder();
        for (var f : user_x86_regs_entry.getDescriptor().getFields()) {
            if (f.getNumber() <= 27) {
                regs.setField(f, (long) tid << 8 | f.getNumber());
            }
        }
        var fp = user_x86_fpregs_entry.newBuilder().setCwd(0x37f).setSwd(0).setTwd(0).setFop(0).setRip(0).setRdp(0)
                .setMxcsr(0x1f80).setMxcsrMask(0xffff);
        var xsave = user_x86_xsave_entry.newBuilder().setXstateBv(7);
        for (int i = 0; i < 64; i++) {
            fp.addXmmSpace(i);
            xsave.addYmmhSpace(i);
            if (i < 32) {
                fp.addStSpace(0);
            }
        }
        var creds = creds_entry.newBuilder().setUid(0).setGid(0).setEuid(0).setEgid(0).setSuid(0).setSgid(0)
                .setFsuid(0).setFsgid(0).setSecbits(0);
        var core = core_entry.newBuilder().setMtype(core_entry.march.X86_64)
                .setThreadInfo(thread_info_x86.newBuilder().setClearTidAddr(0).setGpregs(regs).setFpregs(fp.setXsave(xsave)))
                .setThreadCore(thread_core_entry.newBuilder().setFutexRla(0).setFutexRlaLen(0).setCreds(creds));
        if (leader) {
            core.setTc(task_core_entry.newBuilder().setTaskState(1).setExitCode(0).setPersonality(0).setFlags(0)
                    .setBlkSigset(0).setComm("bench"));
        }
        return core.build();
    }

    private static void image(Path dir, String name, String magic, List<? extends Message> messages) throws IOException {
        List<ImageEntry> entries = new ArrayList<>();
        for (Message m : messages) {
            entries.add(new ImageEntry(m));
        }
        Files.write(dir.resolve(name), ImageWriter.toBytes(new Image(magic, entries)));
    }
}
