package org.criu2core;

import com.google.protobuf.Message;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongPredicate;
import org.criu2core.image.Image;
import org.criu2core.image.ImageEntry;
import org.criu2core.image.ImageWriter;
import org.criu2core.image.proto.Core.core_entry;
import org.criu2core.image.proto.Core.task_core_entry;
import org.criu2core.image.proto.Core.thread_core_entry;
import org.criu2core.image.proto.CoreX86.thread_info_x86;
import org.criu2core.image.proto.CoreX86.user_x86_fpregs_entry;
import org.criu2core.image.proto.CoreX86.user_x86_regs_entry;
import org.criu2core.image.proto.CoreX86.user_x86_regs_mode;
import org.criu2core.image.proto.CoreX86.user_x86_xsave_entry;
import org.criu2core.image.proto.Creds.creds_entry;
import org.criu2core.image.proto.Fdinfo.fd_types;
import org.criu2core.image.proto.Fdinfo.file_entry;
import org.criu2core.image.proto.Fown.fown_entry;
import org.criu2core.image.proto.Inventory.inventory_entry;
import org.criu2core.image.proto.Mm.mm_entry;
import org.criu2core.image.proto.Pagemap.pagemap_entry;
import org.criu2core.image.proto.Pagemap.pagemap_head;
import org.criu2core.image.proto.Pstree.pstree_entry;
import org.criu2core.image.proto.Regfile.reg_file_entry;
import org.criu2core.image.proto.Vma.vma_entry;

/**
 * Writes small x86_64 CRIU checkpoints for tests: one process with the threads, memory areas,
 * saved pages and mapped files a test asks for, framed exactly as CRIU frames its images.
 */
public final class SyntheticCheckpoint {
    public static final long PAGE = 4096;
    static final int PE_PARENT = 1;
    static final int PE_PRESENT = 4;

    private final int pid;
    private final List<Integer> tids = new ArrayList<>();
    private final List<vma_entry> vmas = new ArrayList<>();
    private final List<file_entry> files = new ArrayList<>();
    private final TreeMap<Long, byte[]> pages = new TreeMap<>();
    private long argStart;
    private long argEnd;
    private String comm = "synthetic";

    public SyntheticCheckpoint(int pid) {
        this.pid = pid;
        tids.add(pid);
    }

    public SyntheticCheckpoint thread(int tid) {
        tids.add(tid);
        return this;
    }

    public SyntheticCheckpoint comm(String name) {
        comm = name;
        return this;
    }

    /** A private anonymous area. */
    public SyntheticCheckpoint anon(long start, long end, int prot) {
        vmas.add(vma(start, end, 0, 0, prot, 0x2 | 0x20, 1 | (1 << 9)));
        return this;
    }

    /** A private mapping of {@code path} at file offset {@code pgoff}; {@code mode} as st_mode. */
    public SyntheticCheckpoint file(long start, long end, long pgoff, int prot, String path, int mode, long size) {
        int id = files.size() + 1;
        files.add(file_entry.newBuilder().setType(fd_types.REG).setId(id)
                .setReg(reg_file_entry.newBuilder().setId(id).setFlags(0).setPos(0).setFown(fown()).setName(path)
                        .setSize(size).setMode(mode))
                .build());
        vmas.add(vma(start, end, pgoff, id, prot, 0x2, 1 | (1 << 6)));
        return this;
    }

    /** Saves one page at {@code address} holding {@code content} (zero-padded). */
    public SyntheticCheckpoint page(long address, byte[] content) {
        byte[] page = new byte[(int) PAGE];
        System.arraycopy(content, 0, page, 0, Math.min(content.length, page.length));
        pages.put(address, page);
        return this;
    }

    public SyntheticCheckpoint page(long address, String text) {
        return page(address, text.getBytes(StandardCharsets.US_ASCII));
    }

    /** The command line, written as NUL-separated strings at {@code address} (a saved page). */
    public SyntheticCheckpoint args(long address, String... argv) {
        var bytes = new java.io.ByteArrayOutputStream();
        for (String a : argv) {
            bytes.writeBytes(a.getBytes(StandardCharsets.US_ASCII));
            bytes.write(0);
        }
        long pageStart = address - address % PAGE;
        byte[] page = pages.getOrDefault(pageStart, new byte[(int) PAGE]).clone();
        System.arraycopy(bytes.toByteArray(), 0, page, (int) (address - pageStart), bytes.size());
        pages.put(pageStart, page);
        argStart = address;
        argEnd = address + bytes.size();
        return this;
    }

    /** Writes the whole checkpoint into {@code dir}. */
    public Path write(Path dir) throws IOException {
        return write(dir, null, a -> false);
    }

    /**
     * Writes an incremental pair: every saved page into {@code parentDir} as a pre-dump, and into
     * {@code dir} the dump, whose pages for which {@code inParent} holds are PE_PARENT.
     */
    public Path writeIncremental(Path parentDir, Path dir, LongPredicate inParent) throws IOException {
        Files.createDirectories(parentDir);
        writePagemap(parentDir, a -> false);
        image(parentDir, "inventory.img", "INVENTORY", List.of(inventory()));
        write(dir, parentDir, inParent);
        Files.createSymbolicLink(dir.resolve("parent"), dir.relativize(parentDir));
        return dir;
    }

    private Path write(Path dir, Path parentDir, LongPredicate inParent) throws IOException {
        Files.createDirectories(dir);
        image(dir, "inventory.img", "INVENTORY", List.of(inventory()));
        image(dir, "pstree.img", "PSTREE", List.of(pstree_entry.newBuilder().setPid(pid).setPpid(0).setPgid(pid)
                .setSid(pid).addAllThreads(tids).build()));
        for (int i = 0; i < tids.size(); i++) {
            image(dir, "core-" + tids.get(i) + ".img", "CORE", List.of(core(tids.get(i), i)));
        }
        image(dir, "mm-" + pid + ".img", "MM", List.of(mm()));
        image(dir, "files.img", "FILES", files);
        writePagemap(dir, inParent);
        return dir;
    }

    private void writePagemap(Path dir, LongPredicate inParent) throws IOException {
        List<Message> entries = new ArrayList<>();
        entries.add(pagemap_head.newBuilder().setPagesId(1).build());
        try (OutputStream out = Files.newOutputStream(dir.resolve("pages-1.img"))) {
            for (Map.Entry<Long, byte[]> e : pages.entrySet()) {
                boolean parent = inParent.test(e.getKey());
                entries.add(pagemap_entry.newBuilder().setVaddr(e.getKey()).setCompatNrPages(0).setNrPages(1)
                        .setFlags(parent ? PE_PARENT : PE_PRESENT).build());
                if (!parent) {
                    out.write(e.getValue());
                }
            }
        }
        image(dir, "pagemap-" + pid + ".img", "PAGEMAP", entries);
    }

    private static void image(Path dir, String name, String magic, List<? extends Message> messages) throws IOException {
        List<ImageEntry> entries = new ArrayList<>();
        for (Message m : messages) {
            entries.add(new ImageEntry(m));
        }
        Files.write(dir.resolve(name), ImageWriter.toBytes(new Image(magic, entries)));
    }

    private static inventory_entry inventory() {
        return inventory_entry.newBuilder().setImgVersion(2).setFdinfoPerId(true).build();
    }

    private static vma_entry vma(long start, long end, long pgoff, long shmid, int prot, int flags, int status) {
        return vma_entry.newBuilder().setStart(start).setEnd(end).setPgoff(pgoff).setShmid(shmid).setProt(prot)
                .setFlags(flags).setStatus(status).setFd(-1).build();
    }

    private static fown_entry fown() {
        return fown_entry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
    }

    /** Register values that say which thread and register they are: 0x11000000000T00RR. */
    public static long register(int thread, int register) {
        return 0x1100000000000000L | (long) thread << 16 | register;
    }

    private core_entry core(int tid, int index) {
        var regs = user_x86_regs_entry.newBuilder();
        var fields = user_x86_regs_entry.getDescriptor().getFields();
        for (int r = 0; r < 27; r++) {
            regs.setField(fields.get(r), register(index, r));
        }
        regs.setCs(0x33).setSs(0x2b).setDs(0).setEs(0).setFs(0).setGs(0).setFlags(0x246).setOrigAx(-1L)
                .setMode(user_x86_regs_mode.NATIVE);
        var fp = user_x86_fpregs_entry.newBuilder().setCwd(0x37f).setSwd(0).setTwd(0).setFop(0).setRip(0).setRdp(0)
                .setMxcsr(0x1f80).setMxcsrMask(0xffff);
        for (int i = 0; i < 32; i++) {
            fp.addStSpace(0);
        }
        var xsave = user_x86_xsave_entry.newBuilder().setXstateBv(0x207);
        for (int i = 0; i < 64; i++) {
            fp.addXmmSpace(0x40000000 | index << 16 | i);
            xsave.addYmmhSpace(0x50000000 | index << 16 | i);
        }
        xsave.addPkru(0x55555554).addPkru(0);
        fp.setXsave(xsave);
        var creds = creds_entry.newBuilder().setUid(1000).setGid(1000).setEuid(1000).setEgid(1000).setSuid(1000)
                .setSgid(1000).setFsuid(1000).setFsgid(1000).setSecbits(0);
        var core = core_entry.newBuilder().setMtype(core_entry.march.X86_64)
                .setThreadInfo(thread_info_x86.newBuilder().setClearTidAddr(0).setGpregs(regs).setFpregs(fp))
                .setThreadCore(thread_core_entry.newBuilder().setFutexRla(0).setFutexRlaLen(0).setSchedNice(index)
                        .setCreds(creds).setComm(comm).setBlkSigset(1L << index));
        if (tid == pid) {
            core.setTc(task_core_entry.newBuilder().setTaskState(1).setExitCode(0).setPersonality(0).setFlags(0)
                    .setBlkSigset(0).setComm(comm));
        }
        return core.build();
    }

    private mm_entry mm() {
        long[] auxv = {6, PAGE, 16, 0x178bfbff, 17, 100, 25, argStart};
        var mm = mm_entry.newBuilder().setMmStartCode(0).setMmEndCode(0).setMmStartData(0).setMmEndData(0)
                .setMmStartStack(argStart).setMmStartBrk(0).setMmBrk(0).setMmArgStart(argStart).setMmArgEnd(argEnd)
                .setMmEnvStart(argEnd).setMmEnvEnd(argEnd).setExeFileId(files.isEmpty() ? 0 : 1);
        for (long a : auxv) {
            mm.addMmSavedAuxv(a);
        }
        vmas.sort((a, b) -> Long.compareUnsigned(a.getStart(), b.getStart()));
        return mm.addAllVmas(vmas).build();
    }

    /** Little-endian u64 bytes, for markers. */
    public static byte[] le64(long value) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array();
    }
}
