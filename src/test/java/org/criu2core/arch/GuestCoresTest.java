package org.criu2core.arch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.criu2core.elf.CoreFile;
import org.criu2core.elf.CoreStructs;
import org.criu2core.elf.Elf;
import org.criu2core.elf.ElfClass;
import org.criu2core.elf.Note;
import org.criu2core.image.proto.Core.core_entry;
import org.criu2core.inspect.CoreDiff;
import org.criu2core.model.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The cores of the real s390x and ppc64le checkpoints in fixtures/checkpoints-guests, converted on
 * this host and read back as raw bytes: every field at the offset the writer's own constants give,
 * in the architecture's byte order (s390x: big-endian, so a field written little-endian or at a
 * word's wrong end fails here). The kernel's cores themselves are compared in KernelTruthTest;
 * those of the riscv64 and loongarch64 guests of ../shared here, which also reads the loongarch64
 * core back against the kernel's, as gdb cannot read it where it is Debian 12's.
 */
class GuestCoresTest {
    private static final Path GUESTS = Fixtures.ROOT.resolve("checkpoints-guests");
    private static final ElfClass.Ehdr EHDR = ElfClass.ELF64.ehdr();
    private static final ElfClass.Phdr PHDR = ElfClass.ELF64.phdr();

    @TempDir
    Path tmp;

    /** A core read back: all its bytes in its byte order, and its notes as (type, descriptor offset, size). */
    private record Core(ByteBuffer bytes, List<int[]> notes, List<String> names) {
        ByteBuffer desc(int index, int type) {
            assertEquals(type, notes.get(index)[0], "note " + index);
            return bytes.slice(notes.get(index)[1], notes.get(index)[2]).order(bytes.order());
        }

        List<Integer> types() {
            return notes.stream().map(n -> n[0]).toList();
        }
    }

    private Core convert(String name, int pid, ByteOrder order) throws Exception {
        // no mapped file: their pages are zeros, which no field here depends on
        Path root = Files.createDirectories(tmp.resolve("empty-root"));
        return read(convert(GUESTS.resolve(name).resolve("images"), root, name).resolve("core." + pid), order);
    }

    /** The checkpoint {@code images} converted with {@code root}, into a directory of its own. */
    private Path convert(Path images, Path root, String name) {
        Path out = tmp.resolve(name);
        var run = KernelCores.cli("convert", "-q", "-D", images.toString(), "-o", out.toString(),
                "--root", root.toString());
        assertEquals(0, run.status(), run.err());
        return out;
    }

    private static Core read(Path core, ByteOrder order) throws Exception {
        var b = ByteBuffer.wrap(Files.readAllBytes(core)).order(order);
        // the PT_NOTE segment is the first program header
        long phoff = b.getLong(EHDR.ePhoff());
        assertEquals(Elf.PT_NOTE, b.getInt((int) phoff + PHDR.pType()));
        int at = (int) b.getLong((int) phoff + PHDR.pOffset());
        int end = at + (int) b.getLong((int) phoff + PHDR.pFilesz());
        List<int[]> notes = new ArrayList<>();
        List<String> names = new ArrayList<>();
        while (at < end) {
            int namesz = b.getInt(at);
            int descsz = b.getInt(at + 4);
            int type = b.getInt(at + 8);
            int desc = at + Note.NHDR_SIZE + Note.align4(namesz);
            notes.add(new int[] {type, desc, descsz});
            byte[] name = new byte[Math.max(0, namesz - 1)];
            b.get(at + Note.NHDR_SIZE, name);
            names.add(new String(name, StandardCharsets.US_ASCII));
            at = desc + Note.align4(descsz);
        }
        assertEquals(end, at, "the notes fill the PT_NOTE segment");
        return new Core(b, notes, names);
    }

    private static core_entry thread(String name, int tid) throws Exception {
        return thread(GUESTS.resolve(name).resolve("images"), tid);
    }

    private static core_entry thread(Path images, int tid) throws Exception {
        var p = Checkpoint.load(images).processes().get(0);
        return p.threads().stream().filter(t -> t.tid() == tid).findFirst().orElseThrow().core();
    }

    @Test
    void s390xCoreIsBigEndianThroughout() throws Exception {
        Core core = convert("s390x-threads", 132, ByteOrder.BIG_ENDIAN);
        ByteBuffer b = core.bytes();
        assertEquals(Elf.ELFCLASS64, b.get(Elf.EI_CLASS));
        assertEquals(Elf.ELFDATA2MSB, b.get(Elf.EI_DATA));
        // e_machine EM_S390 (22) as a big-endian Elf64_Half: 00 16
        assertArrayEquals(new byte[] {0, 22}, new byte[] {b.get(Elf.E_MACHINE), b.get(Elf.E_MACHINE + 1)});
        assertEquals(Elf.ET_CORE, b.getShort(Elf.E_TYPE));
        assertEquals(EHDR.size(), b.getLong(EHDR.ePhoff()));
        assertEquals(0, b.getInt(EHDR.eFlags()));
        // every PT_LOAD aligned to ELF_EXEC_PAGESIZE, the 4 KiB page, and the data starting at one
        int phnum = b.getShort(EHDR.ePhnum());
        long dataStart = b.getLong(EHDR.size() + PHDR.size() + PHDR.pOffset());
        assertEquals(0, dataStart % 4096);
        for (int i = 1; i < phnum; i++) {
            int ph = EHDR.size() + i * PHDR.size();
            assertEquals(Elf.PT_LOAD, b.getInt(ph + PHDR.pType()));
            assertEquals(4096, b.getLong(ph + PHDR.pAlign()));
        }

        assertEquals(List.of(Elf.NT_PRSTATUS, Elf.NT_PRPSINFO, Elf.NT_SIGINFO, Elf.NT_AUXV, Elf.NT_FILE,
                Elf.NT_PRFPREG, Elf.NT_S390_SYSTEM_CALL, Elf.NT_S390_LAST_BREAK, Elf.NT_S390_VXRS_LOW,
                Elf.NT_S390_VXRS_HIGH), core.types().subList(0, 10));
        assertEquals(List.of(Elf.NT_PRSTATUS, Elf.NT_PRFPREG, Elf.NT_S390_SYSTEM_CALL, Elf.NT_S390_LAST_BREAK,
                Elf.NT_S390_VXRS_LOW, Elf.NT_S390_VXRS_HIGH), core.types().subList(10, 16));
        assertEquals(22, core.types().size());

        // the second thread's NT_PRSTATUS: pr_reg is s390_regs, 216 bytes with 4-byte access registers
        var ti = thread("s390x-threads", core.desc(10, Elf.NT_PRSTATUS).getInt(S390.INSTANCE.prstatus().prPid()))
                .getTiS390();
        var pr = core.desc(10, Elf.NT_PRSTATUS);
        CoreStructs.Prstatus layout = S390.INSTANCE.prstatus();
        assertEquals(0x150, pr.capacity());
        assertEquals(S390.PR_REG_SIZE, layout.prFpvalid() - layout.prReg());
        int reg = layout.prReg();
        assertEquals(ti.getGpregs().getPswMask(), pr.getLong(reg + S390.PSW_MASK));
        assertEquals(ti.getGpregs().getPswAddr(), pr.getLong(reg + S390.PSW_ADDR));
        assertEquals(ti.getGpregs().getGprs(0), pr.getLong(reg + S390.GPRS));
        assertEquals(0x11, pr.get(reg + S390.GPRS), "r0 0x11000000000T0000: its most significant byte first");
        assertEquals(ti.getGpregs().getGprs(15), pr.getLong(reg + S390.GPRS + 15 * 8));
        assertEquals(ti.getGpregs().getAcrs(1), pr.getInt(reg + S390.ACRS + 4));
        assertEquals(0, pr.getLong(reg + S390.ORIG_GPR2));
        assertEquals(1, pr.getInt(layout.prFpvalid()));

        // s390_fp_regs: fpc, then f0-f15, the high doublewords of v0-v15
        var fp = core.desc(11, Elf.NT_PRFPREG);
        assertEquals(S390.FP_REGS_SIZE, fp.capacity());
        assertEquals(ti.getFpregs().getFpc(), fp.getInt(S390.FP_FPC));
        assertEquals(ti.getFpregs().getFprs(3), fp.getLong(S390.FP_FPRS + 3 * 8));
        assertEquals(ti.getGpregs().getSystemCall(), core.desc(12, Elf.NT_S390_SYSTEM_CALL).getInt(0));
        assertEquals(S390.LAST_BREAK_INITIAL, core.desc(13, Elf.NT_S390_LAST_BREAK).getLong(0));
        assertEquals(ti.getVxrsLow().getRegs(15), core.desc(14, Elf.NT_S390_VXRS_LOW).getLong(15 * 8));
        // v16 as s390x stores a 128-bit register: high doubleword, then low
        var high = core.desc(15, Elf.NT_S390_VXRS_HIGH);
        assertEquals(S390.VXRS_HIGH_SIZE, high.capacity());
        assertEquals(ti.getVxrsHigh().getRegs(0), high.getLong(0));
        assertEquals(ti.getVxrsHigh().getRegs(1), high.getLong(8));
        assertEquals(0x22, high.get(0));
        assertEquals(0x33, high.get(8));

        // NT_AUXV and NT_FILE in big-endian words; the auxv ends with AT_NULL
        var auxv = core.desc(3, Elf.NT_AUXV);
        assertEquals(0x21, auxv.getLong(0), "AT_SYSINFO_EHDR first, as the kernel put it");
        assertEquals(Auxv.AT_NULL, auxv.getLong(auxv.capacity() - 16));
        var file = core.desc(4, Elf.NT_FILE);
        long count = file.getLong(0);
        assertEquals(4096, file.getLong(8), "NT_FILE page size");
        assertEquals(0x2aa00000000L, file.getLong(16), "the executable's first mapping");
        byte[] names = new byte[file.capacity() - (int) (16 + 24 * count)];
        file.get((int) (16 + 24 * count), names);
        assertTrue(new String(names, StandardCharsets.US_ASCII).startsWith("/usr/local/bin/fixture\0"));
        // struct elf_prpsinfo (LP64): 32-bit ids on s390x
        var psinfo = core.desc(1, Elf.NT_PRPSINFO);
        assertEquals(CoreStructs.Prpsinfo.LP64.size(), psinfo.capacity());
        assertEquals(132, psinfo.getInt(CoreStructs.Prpsinfo.LP64.prPid()));
    }

    @Test
    void ppc64leCoreHasThe64KiBPagesOfItsAuxv() throws Exception {
        Core core = convert("ppc64le-threads", 135, ByteOrder.LITTLE_ENDIAN);
        ByteBuffer b = core.bytes();
        assertEquals(Elf.ELFDATA2LSB, b.get(Elf.EI_DATA));
        assertEquals(Elf.EM_PPC64, b.getShort(Elf.E_MACHINE));
        assertEquals(0, b.getInt(EHDR.eFlags()), "e_flags 0, as the kernel writes it");
        // ELF_EXEC_PAGESIZE is PAGE_SIZE on ppc64: segment data at, and p_align of, 64 KiB
        int phnum = b.getShort(EHDR.ePhnum());
        assertEquals(0x10000, b.getLong(EHDR.size() + PHDR.size() + PHDR.pOffset()));
        for (int i = 1; i < phnum; i++) {
            assertEquals(0x10000, b.getLong(EHDR.size() + i * PHDR.size() + PHDR.pAlign()));
        }
        List<Integer> perThread = List.of(Elf.NT_PRFPREG, Elf.NT_PPC_VMX, Elf.NT_PPC_VSX, Elf.NT_PPC_PPR,
                Elf.NT_PPC_DSCR, Elf.NT_PPC_TAR, Elf.NT_PPC_PMU);
        List<Integer> expected = new ArrayList<>(List.of(Elf.NT_PRSTATUS, Elf.NT_PRPSINFO, Elf.NT_SIGINFO,
                Elf.NT_AUXV, Elf.NT_FILE));
        for (int t = 0; t < 3; t++) {
            if (t > 0) {
                expected.add(Elf.NT_PRSTATUS);
            }
            expected.addAll(perThread);
        }
        assertEquals(expected, core.types());

        var layout = Ppc64.INSTANCE.prstatus();
        var pr = core.desc(0, Elf.NT_PRSTATUS);
        assertEquals(0x1f8, pr.capacity());
        var ti = thread("ppc64le-threads", pr.getInt(layout.prPid())).getTiPpc64();
        int reg = layout.prReg();
        assertEquals(ti.getGpregs().getGpr(31), pr.getLong(reg + 31 * 8));
        assertEquals(ti.getGpregs().getNip(), pr.getLong(reg + Ppc64.NIP * 8));
        assertEquals(ti.getGpregs().getMsr() & ~(Ppc64.MSR_VEC | Ppc64.MSR_VSX), pr.getLong(reg + Ppc64.MSR * 8),
                "msr without the bits CRIU sets for its sigreturn");
        assertEquals(Ppc64.SOFTE_ENABLED, pr.getLong(reg + Ppc64.SOFTE * 8));
        assertEquals(ti.getGpregs().getCcr(), pr.getLong(reg + Ppc64.CCR * 8));
        assertEquals(1, pr.getInt(layout.prFpvalid()));

        var fp = core.desc(5, Elf.NT_PRFPREG);
        assertEquals(Ppc64.FPREGS_SIZE, fp.capacity());
        assertEquals(ti.getFpstate().getFpregs(32), fp.getLong(32 * 8), "fpscr");
        var vmx = core.desc(6, Elf.NT_PPC_VMX);
        assertEquals(Ppc64.VMX_SIZE, vmx.capacity());
        assertEquals(ti.getVrstate().getVrregs(0), vmx.getLong(0));
        assertEquals(ti.getVrstate().getVrsave(), vmx.getInt(Ppc64.VMX_VRSAVE));
        assertEquals(ti.getVsxstate().getVsxregs(31), core.desc(7, Elf.NT_PPC_VSX).getLong(31 * 8));
        assertEquals(Ppc64.DEFAULT_PPR, core.desc(8, Elf.NT_PPC_PPR).getLong(0));
        assertEquals(Ppc64.PMU_SIZE, core.desc(11, Elf.NT_PPC_PMU).capacity());
        // NT_FILE counts in 64 KiB pages
        assertEquals(0x10000, core.desc(4, Elf.NT_FILE).getLong(8));
    }

    /**
     * The riscv64 and loongarch64 guests of ../shared (Linux 7.2, CRIU 4.2), converted from there,
     * against the guest kernel's core of the same process: our comparison with the kernel's
     * allowances, and the memory its README lists as rewritten after the dump (expected/ignore.PID).
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"riscv64-threads", "loongarch64-threads"})
    void linux72GuestCoresMatchTheKernels(String name) throws Exception {
        Path shared = Fixtures.sharedCase("checkpoints-guests", name);
        Path images = shared.resolve("images");
        Path out = convert(images, shared.resolve("root"), name);
        for (int pid : KernelCores.pids(shared)) {
            List<CoreDiff.Range> unknown = new ArrayList<>(KernelCores.unknownContents(shared, images, pid));
            unknown.addAll(rewrittenAfterTheDump(shared, pid));
            try (var kernel = CoreFile.open(KernelCores.unpack(shared, pid, tmp));
                 var ours = CoreFile.open(out.resolve("core." + pid))) {
                assertEquals(List.of(), CoreDiff.compare(kernel, ours, CoreDiff.Options.kernel(unknown)),
                        name + " core." + pid + " against the kernel's");
            }
        }
    }

    /** expected/ignore.PID: "0xADDR:LENGTH  why" a line, memory the kernel's core holds as it was later. */
    private static List<CoreDiff.Range> rewrittenAfterTheDump(Path shared, int pid) throws Exception {
        Path ignore = shared.resolve("expected").resolve("ignore." + pid);
        List<CoreDiff.Range> ranges = new ArrayList<>();
        if (Files.exists(ignore)) {
            for (String line : Files.readAllLines(ignore)) {
                String[] at = line.strip().split("\\s+")[0].split(":");
                if (at[0].startsWith("0x")) {
                    long start = Long.parseUnsignedLong(at[0].substring(2), 16);
                    ranges.add(new CoreDiff.Range(start, start + Long.parseLong(at[1])));
                }
            }
        }
        return ranges;
    }

    /**
     * The loongarch64 guest: ELF identity, 16 KiB pages, the kernel's notes in its order and sizes
     * but those the images cannot fill, and each thread's registers by name as the images hold them.
     */
    @Test
    void loongarch64CoreHasTheKernelsLayoutAndTheImagesRegisters() throws Exception {
        Path shared = Fixtures.sharedCase("checkpoints-guests", "loongarch64-threads");
        Path images = shared.resolve("images");
        Path ours = convert(images, shared.resolve("root"), "loongarch64").resolve("core.104");
        Core core = read(ours, ByteOrder.LITTLE_ENDIAN);
        ByteBuffer b = core.bytes();
        assertEquals(Elf.ELFCLASS64, b.get(Elf.EI_CLASS));
        assertEquals(Elf.ELFDATA2LSB, b.get(Elf.EI_DATA));
        assertEquals(Elf.ET_CORE, b.getShort(Elf.E_TYPE));
        // e_machine 258 as a little-endian Elf64_Half: 02 01
        assertArrayEquals(new byte[] {2, 1}, new byte[] {b.get(Elf.E_MACHINE), b.get(Elf.E_MACHINE + 1)});
        var exe = ByteBuffer.wrap(Files.readAllBytes(shared.resolve("root/usr/local/bin/fixture")))
                .order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x43, exe.getInt(EHDR.eFlags()), "the executable: lp64d, object ABI v1");
        assertEquals(0, b.getInt(EHDR.eFlags()), "the core's e_flags: 0, as the kernel writes them");

        // ELF_EXEC_PAGESIZE is PAGE_SIZE, 16 KiB here (AT_PAGESZ 0x4000): segment data and p_align
        int phnum = b.getShort(EHDR.ePhnum());
        assertEquals(19, phnum, "PT_NOTE and the 18 VMAs of maps.104");
        for (int i = 1; i < phnum; i++) {
            int ph = EHDR.size() + i * PHDR.size();
            assertEquals(Elf.PT_LOAD, b.getInt(ph + PHDR.pType()));
            assertEquals(0x4000, b.getLong(ph + PHDR.pAlign()));
            assertEquals(0, b.getLong(ph + PHDR.pOffset()) % 0x4000, "segment " + i);
        }
        assertEquals(0x4000, core.desc(4, Elf.NT_FILE).getLong(8), "NT_FILE counts in 16 KiB pages");

        // the kernel's notes, names and sizes in its order, without CPUCFG, LSX, LASX and the debug registers
        var leftOut = java.util.Set.of(Elf.NT_LOONGARCH_CPUCFG, Elf.NT_LOONGARCH_LSX, Elf.NT_LOONGARCH_LASX,
                Elf.NT_LOONGARCH_HW_BREAK, Elf.NT_LOONGARCH_HW_WATCH);
        List<String> kernelNotes = new ArrayList<>();
        byte[] kernelAuxv;
        List<byte[]> kernelFp = new ArrayList<>();
        List<byte[]> kernelLbt = new ArrayList<>();
        try (var kernel = CoreFile.open(KernelCores.unpack(shared, 104, tmp))) {
            for (var n : kernel.notes()) {
                if (!leftOut.contains(n.type())) {
                    kernelNotes.add(n.owner() + " 0x" + Integer.toHexString(n.type()) + " 0x"
                            + Integer.toHexString(n.desc().length));
                }
                if (n.type() == Elf.NT_PRFPREG) {
                    kernelFp.add(n.desc());
                } else if (n.type() == Elf.NT_LOONGARCH_LBT) {
                    kernelLbt.add(n.desc());
                }
            }
            kernelAuxv = kernel.note(Elf.NT_AUXV);
        }
        List<String> ourNotes = new ArrayList<>();
        for (int i = 0; i < core.notes().size(); i++) {
            ourNotes.add(core.names().get(i) + " 0x" + Integer.toHexString(core.notes().get(i)[0]) + " 0x"
                    + Integer.toHexString(core.notes().get(i)[2]));
        }
        assertEquals(List.of("CORE 0x1 0x1e0", "CORE 0x3 0x88", "CORE 0x53494749 0x80", "CORE 0x6 0x150",
                "CORE 0x46494c45 0x28e", "CORE 0x2 0x10c", "LINUX 0xa04 0x28",
                "CORE 0x1 0x1e0", "CORE 0x2 0x10c", "LINUX 0xa04 0x28",
                "CORE 0x1 0x1e0", "CORE 0x2 0x10c", "LINUX 0xa04 0x28"), ourNotes);
        assertEquals(kernelNotes, ourNotes);
        byte[] auxv = new byte[core.desc(3, Elf.NT_AUXV).capacity()];
        core.desc(3, Elf.NT_AUXV).get(auxv);
        assertArrayEquals(kernelAuxv, auxv);

        var layout = Loongarch64.INSTANCE.prstatus();
        List<String> names = Loongarch64.INSTANCE.registerNames();
        int[] prstatus = {0, 7, 10};
        int[] tids = {104, 107, 108};
        for (int t = 0; t < 3; t++) {
            var pr = core.desc(prstatus[t], Elf.NT_PRSTATUS);
            assertEquals(tids[t], pr.getInt(layout.prPid()));
            assertEquals(1, pr.getInt(layout.prFpvalid()));
            var ti = thread(images, tids[t]).getTiLoongarch64();
            long marker = 0x1100000000000000L | (long) t << 16;
            for (int r : new int[] {1, 4, 12, 21, 31}) {
                assertEquals(marker | r, reg(pr, names, "r" + r), "thread " + tids[t] + " r" + r);
            }
            assertEquals(0, reg(pr, names, "r0"));
            assertEquals(ti.getTls(), reg(pr, names, "r2"), "tp");
            assertEquals(ti.getGpregs().getRegs(3), reg(pr, names, "r3"), "sp");
            assertEquals(ti.getGpregs().getPc(), reg(pr, names, "csr_era"));
            assertEquals(0, reg(pr, names, "orig_a0"), "not in the images");
            assertEquals(0, reg(pr, names, "csr_badv"), "not in the images");
            for (int r = 0; r < 10; r++) {
                assertEquals(0, reg(pr, names, "reserved" + r));
            }

            // f0-f31 as the images hold them (not the task's with CRIU 4.2), fcc and fcsr as the kernel's
            var fp = core.desc(prstatus[t] + (t == 0 ? 5 : 1), Elf.NT_PRFPREG);
            for (int f = 0; f < 32; f++) {
                assertEquals(ti.getFpregs().getRegs(f), fp.getLong(8 * f), "f" + f);
            }
            assertEquals(ti.getFpregs().getFcc(), fp.getLong(Loongarch64.FCC));
            assertEquals(ti.getFpregs().getFcsr(), fp.getInt(Loongarch64.FCSR));
            byte[] fccFcsr = new byte[12];
            fp.get(Loongarch64.FCC, fccFcsr);
            assertArrayEquals(java.util.Arrays.copyOfRange(kernelFp.get(t), Loongarch64.FCC, Loongarch64.FPREGS_SIZE),
                    fccFcsr);
            var lbt = core.desc(prstatus[t] + (t == 0 ? 6 : 2), Elf.NT_LOONGARCH_LBT);
            byte[] lbtBytes = new byte[lbt.capacity()];
            lbt.get(lbtBytes);
            assertArrayEquals(new byte[Loongarch64.LBT_SIZE], lbtBytes);
            assertArrayEquals(kernelLbt.get(t), lbtBytes, "a task that never ran binary-translated code");
        }
        assertEquals(0x55555572eL, thread(images, 107).getTiLoongarch64().getFpregs().getRegs(0),
                "CRIU 4.2's f0 of thread 107: what its buffer held, not the program's 0x2200000000010000");
    }

    private static long reg(ByteBuffer prstatus, List<String> names, String name) {
        int index = names.indexOf(name);
        assertTrue(index >= 0, name);
        return prstatus.getLong(Loongarch64.INSTANCE.prstatus().prReg() + 8 * index);
    }

    /**
     * A thread stopped in a restartable system call, as compel_get_task_regs stores it against the
     * kernel's core: a0 the original first argument, the pc back over `syscall`, and for
     * -ERESTART_RESTARTBLOCK a7 restart_syscall (128); the kernel marks the call in the r0 slot.
     */
    @Test
    void loongarch64RestartedSystemCallsAreAcceptedAsCompelPreparesThem() {
        var arch = Loongarch64.INSTANCE;
        long[] kernel = new long[Loongarch64.ELF_NGREG];
        kernel[0] = 98 + 1; // futex, nr + 1
        kernel[Loongarch64.A0] = -512; // -ERESTARTSYS
        kernel[Loongarch64.ORIG_A0] = 0x7ffff7cbf5a8L;
        kernel[Loongarch64.CSR_ERA] = 0x7ffff7e31234L;
        long[] candidate = kernel.clone();
        candidate[0] = 0;
        candidate[Loongarch64.A0] = kernel[Loongarch64.ORIG_A0];
        candidate[Loongarch64.CSR_ERA] = kernel[Loongarch64.CSR_ERA] - 4;
        assertTrue(arch.restartedSyscall(kernel, candidate));
        candidate[Loongarch64.CSR_ERA] = kernel[Loongarch64.CSR_ERA];
        assertTrue(!arch.restartedSyscall(kernel, candidate), "the pc not moved back");
        candidate[Loongarch64.CSR_ERA] = kernel[Loongarch64.CSR_ERA] - 4;
        long[] notInCall = kernel.clone();
        notInCall[0] = 0;
        assertTrue(!arch.restartedSyscall(notInCall, candidate), "no system call to restart");

        kernel[Loongarch64.A0] = -516; // -ERESTART_RESTARTBLOCK
        assertTrue(!arch.restartedSyscall(kernel, candidate), "a7 not restart_syscall");
        candidate[Loongarch64.A7] = 128;
        assertTrue(arch.restartedSyscall(kernel, candidate));
        kernel[Loongarch64.A0] = -4; // -EINTR: not restarted
        assertTrue(!arch.restartedSyscall(kernel, candidate));
    }

    /**
     * NT_PRFPREG of two of our cores is compared whole, against the kernel's only in fcc and fcsr;
     * NT_LOONGARCH_LBT against the kernel's by its size.
     */
    @Test
    void loongarch64FpRegistersAreComparedWithTheKernelsInFccAndFcsrOnly() {
        var arch = Loongarch64.INSTANCE;
        byte[] kernel = new byte[Loongarch64.FPREGS_SIZE];
        byte[] ours = kernel.clone();
        ours[5 * 8] = 0x22; // f5
        assertEquals(List.of("differs"), arch.noteDifferences(Elf.NT_PRFPREG, kernel, ours, null, null));
        assertEquals(List.of(), arch.kernelNoteDifferences(Elf.NT_PRFPREG, kernel, ours, null, null));
        ours[Loongarch64.FCSR + 1] = 1;
        assertEquals(List.of("fcc or fcsr differs"),
                arch.kernelNoteDifferences(Elf.NT_PRFPREG, kernel, ours, null, null));
        assertEquals(List.of("is 272 bytes, expected 268"),
                arch.kernelNoteDifferences(Elf.NT_PRFPREG, kernel, new byte[272], null, null));
        byte[] lbt = new byte[Loongarch64.LBT_SIZE];
        lbt[0] = 1;
        assertEquals(List.of(), arch.kernelNoteDifferences(Elf.NT_LOONGARCH_LBT, lbt, new byte[Loongarch64.LBT_SIZE],
                null, null));
        assertEquals(List.of("differs"), arch.noteDifferences(Elf.NT_LOONGARCH_LBT, lbt, new byte[Loongarch64.LBT_SIZE],
                null, null));
    }

    /**
     * Every image of the loongarch64 guest decodes to what crit 4.2.1 printed (decoded/), and crit's
     * JSON encodes back to the image's bytes; decode names status bit 1 << 16 VMA_AREA_GUARD, which
     * crit prints as 0x10000 (docs/core-format.md).
     */
    @Test
    void loongarch64ImagesDecodeAsCritDecodesThemAndEncodeBack() throws Exception {
        Path shared = Fixtures.sharedCase("checkpoints-guests", "loongarch64-threads");
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        List<Path> images;
        try (var files = Files.list(shared.resolve("images"))) {
            images = files.filter(f -> !f.getFileName().toString().startsWith("pages-")).sorted().toList();
        }
        assertEquals(14, images.size());
        for (Path image : images) {
            Path crit = shared.resolve("decoded").resolve(image.getFileName().toString().replaceFirst("\\.img$", "")
                    + ".json");
            var decode = KernelCores.cli("decode", "-i", image.toString(), "--pretty");
            assertEquals(0, decode.status(), decode.err());
            String crits = Files.readString(crit).replaceAll("\"status\": \"0x10000\"", "\"status\": \"VMA_AREA_GUARD\"");
            assertEquals(json.readTree(crits), json.readTree(decode.out()), image.toString());
            Path encoded = tmp.resolve(image.getFileName());
            var encode = KernelCores.cli("encode", "-i", crit.toString(), "-o", encoded.toString());
            assertEquals(0, encode.status(), encode.err());
            assertArrayEquals(Files.readAllBytes(image), Files.readAllBytes(encoded), image.toString());
        }
        var core = json.readTree(KernelCores.cli("decode", "-i", shared.resolve("images/core-107.img").toString(),
                "--pretty").out());
        assertEquals("0x555555551300", core.at("/entries/0/ti_loongarch64/gpregs/pc").asText(),
                "hex, as crit --pretty prints it");
    }
}
