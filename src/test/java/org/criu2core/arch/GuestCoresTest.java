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
import org.criu2core.elf.CoreStructs;
import org.criu2core.elf.Elf;
import org.criu2core.elf.ElfClass;
import org.criu2core.elf.Note;
import org.criu2core.image.proto.Core.core_entry;
import org.criu2core.model.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cores of the real s390x and ppc64le checkpoints in fixtures/checkpoints-guests, converted on
 * this host and read back as raw bytes: every field at the offset the writer's own constants give,
 * in the architecture's byte order (s390x: big-endian, so a field written little-endian or at a
 * word's wrong end fails here). The kernel's cores themselves are compared in KernelTruthTest.
 */
class GuestCoresTest {
    private static final Path GUESTS = Fixtures.ROOT.resolve("checkpoints-guests");
    private static final ElfClass.Ehdr EHDR = ElfClass.ELF64.ehdr();
    private static final ElfClass.Phdr PHDR = ElfClass.ELF64.phdr();

    @TempDir
    Path tmp;

    /** A core read back: all its bytes in its byte order, and its notes as (type, descriptor offset, size). */
    private record Core(ByteBuffer bytes, List<int[]> notes) {
        ByteBuffer desc(int index, int type) {
            assertEquals(type, notes.get(index)[0], "note " + index);
            return bytes.slice(notes.get(index)[1], notes.get(index)[2]).order(bytes.order());
        }

        List<Integer> types() {
            return notes.stream().map(n -> n[0]).toList();
        }
    }

    private Core convert(String name, int pid, ByteOrder order) throws Exception {
        Path out = tmp.resolve(name);
        // no mapped file: their pages are zeros, which no field here depends on
        Path root = Files.createDirectories(tmp.resolve("empty-root"));
        var run = KernelCores.cli("convert", "-q", "-D", GUESTS.resolve(name).resolve("images").toString(),
                "-o", out.toString(), "--root", root.toString());
        assertEquals(0, run.status(), run.err());
        var b = ByteBuffer.wrap(Files.readAllBytes(out.resolve("core." + pid))).order(order);
        // the PT_NOTE segment is the first program header
        long phoff = b.getLong(EHDR.ePhoff());
        assertEquals(Elf.PT_NOTE, b.getInt((int) phoff + PHDR.pType()));
        int at = (int) b.getLong((int) phoff + PHDR.pOffset());
        int end = at + (int) b.getLong((int) phoff + PHDR.pFilesz());
        List<int[]> notes = new ArrayList<>();
        while (at < end) {
            int namesz = b.getInt(at);
            int descsz = b.getInt(at + 4);
            int type = b.getInt(at + 8);
            int desc = at + Note.NHDR_SIZE + Note.align4(namesz);
            notes.add(new int[] {type, desc, descsz});
            at = desc + Note.align4(descsz);
        }
        assertEquals(end, at, "the notes fill the PT_NOTE segment");
        return new Core(b, notes);
    }

    private static core_entry thread(String name, int tid) throws Exception {
        var p = Checkpoint.load(GUESTS.resolve(name).resolve("images")).processes().get(0);
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
}
