package org.criu2core.arch;

import static org.criu2core.elf.Elf.CORE;
import static org.criu2core.elf.Elf.LINUX;
import static org.criu2core.elf.Elf.NT_LOONGARCH_LBT;
import static org.criu2core.elf.Elf.NT_PRFPREG;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.criu2core.elf.CoreFile;
import org.criu2core.elf.Elf;
import org.criu2core.elf.ElfClass;
import org.criu2core.elf.Struct;
import org.criu2core.image.proto.Core.core_entry;

/**
 * 64-bit LoongArch tasks, as arch/loongarch/kernel/ptrace.c loongarch64_regsets[] describes them.
 * None of its regsets has an active() test, so the kernel writes every one for every thread:
 * NT_PRFPREG, then, named "LINUX", NT_LOONGARCH_CPUCFG, _LSX, _LASX, _LBT, _HW_BREAK and _HW_WATCH.
 * The images hold the FP registers alone (images/core-loongarch64.proto); NT_LOONGARCH_LBT is
 * written as for a task that never ran binary-translated code, the others, which describe the CPU
 * or state CRIU does not save, are left out (docs/core-format.md says why, note by note).
 * e_flags is 0: LoongArch defines no ELF_CORE_EFLAGS and does not select ARCH_HAS_ELF_CORE_EFLAGS,
 * so fs/binfmt_elf.c writes 0 whatever the executable's flags.
 */
final class Loongarch64 extends RegsetTable {
    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    /*
     * elf_gregset_t, ELF_NGREG = 45 words (arch/loongarch/include/asm/elf.h): gpr_get writes
     * regs[32] 0; orig_a0 32; csr_era 33 (the pc); csr_badvaddr 34; the other ten words stay zero
     */
    private static final int GPRS = 32;
    static final int A0 = 4;
    static final int A7 = 11;
    static final int ORIG_A0 = 32;
    static final int CSR_ERA = 33;
    static final int CSR_BADV = 34;
    static final int ELF_NGREG = 45;

    private static final List<String> NAMES;

    static {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < GPRS; i++) {
            names.add("r" + i);
        }
        names.addAll(List.of("orig_a0", "csr_era", "csr_badv"));
        for (int i = names.size(); i < ELF_NGREG; i++) {
            names.add("reserved" + (i - CSR_BADV - 1));
        }
        NAMES = List.copyOf(names);
    }

    /*
     * NT_PRFPREG as fpr_get writes it: fpr[32] 0; fcc 256 (the eight 1-byte condition flags as a
     * u64); fcsr 264 (u32). 268 bytes: the note is as long as what the regset wrote, not the 272
     * of elf_fpregset_t (ELF_NFPREG = 34 doubles).
     */
    static final int FPREGS_SIZE = 268;
    static final int FCC = 256;
    static final int FCSR = 264;
    private static final int FPRS = 32;

    /** NT_LOONGARCH_LBT (lbt_get): scr0-scr3, eflags as a u32, the x87 stack top ftop as a u32. */
    static final int LBT_SIZE = 40;

    /*
     * restarting a system call: do_syscall (arch/loongarch/kernel/syscall.c) marks a thread in a
     * system call with regs[0] = nr + 1, the slot of r0, which reads as zero; compel_get_task_regs
     * (compel/arch/loongarch64/src/lib/infect.c) prepares the restart as the kernel's signal code
     * would and clears the mark
     */
    private static final Set<Long> ERESTART = Set.of(-512L, -513L, -514L);
    private static final long ERESTART_RESTARTBLOCK = -516;
    /** __NR_restart_syscall of include/uapi/asm-generic/unistd.h. */
    private static final long NR_RESTART_SYSCALL = 128;
    private static final int INSN = 4;

    static final Loongarch64 INSTANCE = new Loongarch64();

    private Loongarch64() {
        super("loongarch64", ElfClass.ELF64, ORDER, Elf.EM_LOONGARCH, NAMES, List.of(
                new Regset(NT_PRFPREG, CORE, FPREGS_SIZE, Loongarch64::fpregs),
                new Regset(NT_LOONGARCH_LBT, LINUX, LBT_SIZE, c -> new byte[LBT_SIZE])));
    }

    @Override
    public String ociPlatform() {
        return "linux/loong64";
    }

    @Override
    public boolean hasRegisters(core_entry core) {
        return core.hasTiLoongarch64();
    }

    /** regs[32] and pc as CRIU saves them; orig_a0 and csr_badv, which it does not save, 0. */
    @Override
    public byte[] generalRegisters(core_entry core) {
        var r = core.getTiLoongarch64().getGpregs();
        var out = new Struct(ELF_NGREG * 8, ORDER);
        for (int i = 0; i < Math.min(GPRS, r.getRegsCount()); i++) {
            out.u64(8 * i, r.getRegs(i));
        }
        return out.u64(8 * CSR_ERA, r.getPc()).toBytes();
    }

    @Override
    public boolean fpValid(core_entry core) {
        return core.getTiLoongarch64().hasFpregs();
    }

    /**
     * f0-f31 as the images hold them, which with CRIU 4.2 is not the task's (save_task_regs,
     * criu/arch/loongarch64/crtools.c, copies its ptrace buffer onto itself), then fcc and fcsr.
     */
    private static byte[] fpregs(core_entry core) {
        var fp = core.getTiLoongarch64().getFpregs();
        var out = new Struct(FPREGS_SIZE, ORDER);
        for (int i = 0; i < Math.min(FPRS, fp.getRegsCount()); i++) {
            out.u64(8 * i, fp.getRegs(i));
        }
        return out.u64(FCC, fp.getFcc()).u32(FCSR, Integer.toUnsignedLong(fp.getFcsr())).toBytes();
    }

    /**
     * orig_a0 and csr_badv, which CRIU does not save, and the r0 slot, which holds the kernel's
     * system-call mark rather than a register.
     */
    @Override
    public long registerBitsNotInImages(int index) {
        return index == 0 || index == ORIG_A0 || index == CSR_BADV ? -1L : 0;
    }

    /**
     * CRIU stores a thread stopped in a restartable call as compel resumes it: a0 = orig_a0 and the
     * pc back over the syscall instruction, and for -ERESTART_RESTARTBLOCK a7 = restart_syscall.
     * The kernel's core shows the stop, with its mark in the r0 slot.
     */
    @Override
    public boolean restartedSyscall(long[] kernel, long[] candidate) {
        if (kernel[0] == 0) {
            return false;
        }
        long result = kernel[A0];
        boolean restarted = candidate[A0] == kernel[ORIG_A0] && candidate[CSR_ERA] == kernel[CSR_ERA] - INSN;
        if (ERESTART.contains(result)) {
            return restarted;
        }
        return result == ERESTART_RESTARTBLOCK && restarted && candidate[A7] == NR_RESTART_SYSCALL;
    }

    /**
     * Against the kernel's core: NT_PRFPREG's fcc and fcsr, and its size (f0-f31 of CRIU 4.2's
     * images are not the task's); NT_LOONGARCH_LBT by its size, as the images do not hold it.
     */
    @Override
    public List<String> kernelNoteDifferences(int type, byte[] kernel, byte[] actual, CoreFile kernelCore,
                                              CoreFile actualCore) {
        if (actual.length != kernel.length) {
            return List.of("is " + actual.length + " bytes, expected " + kernel.length);
        }
        if (type == NT_PRFPREG) {
            return Arrays.equals(kernel, FCC, FPREGS_SIZE, actual, FCC, FPREGS_SIZE) ? List.of()
                    : List.of("fcc or fcsr differs");
        }
        if (type == NT_LOONGARCH_LBT) {
            return List.of();
        }
        return noteDifferences(type, kernel, actual, kernelCore, actualCore);
    }
}
