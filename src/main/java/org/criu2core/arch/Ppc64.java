package org.criu2core.arch;

import static org.criu2core.elf.Elf.CORE;
import static org.criu2core.elf.Elf.LINUX;
import static org.criu2core.elf.Elf.NT_PPC_DSCR;
import static org.criu2core.elf.Elf.NT_PPC_PMU;
import static org.criu2core.elf.Elf.NT_PPC_PPR;
import static org.criu2core.elf.Elf.NT_PPC_TAR;
import static org.criu2core.elf.Elf.NT_PPC_VMX;
import static org.criu2core.elf.Elf.NT_PPC_VSX;
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
 * 64-bit little-endian POWER tasks (the only POWER CRIU runs on), as
 * arch/powerpc/kernel/ptrace/ptrace-view.c native_regsets[] describes them. The kernel writes
 * the regsets in this order: NT_PRFPREG, NT_PPC_VMX, NT_PPC_VSX, the transactional-memory ones
 * (only inside a transaction), NT_PPC_PPR, NT_PPC_DSCR, NT_PPC_TAR, NT_PPC_EBB (only once the
 * thread used event-based branches), NT_PPC_PMU. Every ppc64le CPU is POWER8 or later (ISA
 * 2.07), which has PPR, DSCR, TAR and the PMU registers, so those notes are always written.
 */
final class Ppc64 extends RegsetTable {
    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    /*
     * elf_gregset_t: ELF_NGREG = 48 words, struct user_pt_regs (arch/powerpc/include/uapi/asm/
     * ptrace.h) then zeros (gpr_get: membuf_zero up to ELF_NGREG):
     *   gpr[32] 0; nip 32; msr 33; orig_gpr3 34; ctr 35; link 36; xer 37; ccr 38; softe 39;
     *   trap 40; dar 41; dsisr 42; result 43
     */
    private static final int GPRS = 32;
    static final int NIP = 32;
    static final int MSR = 33;
    static final int ORIG_GPR3 = 34;
    static final int CTR = 35;
    static final int LINK = 36;
    static final int XER = 37;
    static final int CCR = 38;
    static final int SOFTE = 39;
    static final int TRAP = 40;
    static final int DAR = 41;
    static final int DSISR = 42;
    static final int RESULT = 43;
    static final int ELF_NGREG = 48;

    private static final List<String> NAMES;

    static {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < GPRS; i++) {
            names.add("r" + i);
        }
        names.addAll(List.of("nip", "msr", "orig_gpr3", "ctr", "link", "xer", "ccr", "softe", "trap", "dar",
                "dsisr", "result"));
        for (int i = names.size(); i < ELF_NGREG; i++) {
            names.add("unused" + (i - RESULT - 1));
        }
        NAMES = List.copyOf(names);
    }

    /*
     * The kernel's values for what CRIU does not save, as for a thread that never changed them:
     * gpr_get stores softe as 1 (interrupts soft-enabled) for every task; copy_thread sets
     * regs->ppr = DEFAULT_PPR, (u64) PPR_PRIORITY 3 << 50 (arch/powerpc/include/asm/processor.h);
     * DSCR, TAR and the PMU registers start at 0.
     */
    static final long SOFTE_ENABLED = 1;
    static final long DEFAULT_PPR = 3L << 50;

    /* MSR bits (arch/powerpc/include/asm/reg.h) */
    static final long MSR_VEC = 1L << 25;
    static final long MSR_VSX = 1L << 23;
    static final long MSR_FP = 1L << 13;

    /** NT_PRFPREG: ELF_NFPREG = 33 u64, fpr0-31 then fpscr. */
    static final int FPREGS_SIZE = 33 * 8;
    /*
     * NT_PPC_VMX (vr_get): 33 vector128, vr0-31 then vscr, as the thread holds them, then vrsave as
     * the first u32 of a zeroed vector128: 34 * 16 bytes.
     */
    static final int VMX_SIZE = 34 * 16;
    static final int VMX_VRSAVE = 33 * 16;
    /** NT_PPC_VSX: doubleword 1 of vs0-31 (doubleword 0 is the FP register). */
    static final int VSX_SIZE = 32 * 8;
    /** NT_PPC_PPR, NT_PPC_DSCR, NT_PPC_TAR: one u64 each. */
    static final int SPR_SIZE = 8;
    /** NT_PPC_PMU: u64 siar, sdar, sier, mmcr2, mmcr0. */
    static final int PMU_SIZE = 5 * 8;

    /*
     * restarting a system call (compel/arch/ppc64/src/lib/infect.c, as the kernel's
     * check_syscall_restart): trap 0xc00 (sc) or 0x3000 (scv)
     */
    private static final long TRAP_SC = 0xc00;
    private static final long TRAP_SCV = 0x3000;
    private static final long CR0_SO = 0x10000000;
    private static final Set<Long> ERESTART = Set.of(512L, 513L, 514L);
    private static final long ERESTART_RESTARTBLOCK = 516;
    private static final long EINTR = 4;
    private static final int INSN = 4;

    static final Ppc64 INSTANCE = new Ppc64();

    private Ppc64() {
        super("ppc64le", ElfClass.ELF64, ORDER, Elf.EM_PPC64, NAMES, List.of(
                new Regset(NT_PRFPREG, CORE, FPREGS_SIZE, Ppc64::fpregs),
                new Regset(NT_PPC_VMX, LINUX, VMX_SIZE, Ppc64::vmx),
                new Regset(NT_PPC_VSX, LINUX, VSX_SIZE, Ppc64::vsx),
                new Regset(NT_PPC_PPR, LINUX, SPR_SIZE, c -> new Struct(SPR_SIZE, ORDER).u64(0, DEFAULT_PPR).toBytes()),
                new Regset(NT_PPC_DSCR, LINUX, SPR_SIZE, c -> new byte[SPR_SIZE]),
                new Regset(NT_PPC_TAR, LINUX, SPR_SIZE, c -> new byte[SPR_SIZE]),
                new Regset(NT_PPC_PMU, LINUX, PMU_SIZE, c -> new byte[PMU_SIZE])));
    }

    @Override
    public String ociPlatform() {
        return "linux/ppc64le";
    }

    @Override
    public boolean hasRegisters(core_entry core) {
        return core.hasTiPpc64();
    }

    /**
     * pt_regs as the images have it, but msr as ptrace gave it to CRIU: CRIU sets MSR_VEC when it
     * saved the Altivec registers and MSR_VSX when it saved the VSX ones, so that its sigreturn
     * restores them (criu/arch/ppc64/crtools.c), where a stopped thread has neither (__switch_to's
     * giveup_all clears MSR_FP, MSR_VEC and MSR_VSX of the thread it switches out). CRIU sets trap
     * to 0 and does not save dar, dsisr or result, which are written as 0.
     */
    @Override
    public byte[] generalRegisters(core_entry core) {
        var ti = core.getTiPpc64();
        var r = ti.getGpregs();
        long msr = r.getMsr() & ~(ti.hasVrstate() ? MSR_VEC : 0) & ~(ti.hasVsxstate() ? MSR_VSX : 0);
        var out = new Struct(ELF_NGREG * 8, ORDER);
        for (int i = 0; i < Math.min(GPRS, r.getGprCount()); i++) {
            out.u64(8 * i, r.getGpr(i));
        }
        return out.u64(8 * NIP, r.getNip()).u64(8 * MSR, msr).u64(8 * ORIG_GPR3, r.getOrigGpr3())
                .u64(8 * CTR, r.getCtr()).u64(8 * LINK, r.getLink()).u64(8 * XER, r.getXer())
                .u64(8 * CCR, r.getCcr()).u64(8 * SOFTE, SOFTE_ENABLED).u64(8 * TRAP, r.getTrap())
                .toBytes();
    }

    @Override
    public boolean fpValid(core_entry core) {
        return true; // the kernel writes NT_PRFPREG for every thread
    }

    private static byte[] fpregs(core_entry core) {
        var fp = core.getTiPpc64().getFpstate();
        var out = new Struct(FPREGS_SIZE, ORDER);
        for (int i = 0; i < Math.min(FPREGS_SIZE / 8, fp.getFpregsCount()); i++) {
            out.u64(8 * i, fp.getFpregs(i));
        }
        return out.toBytes();
    }

    /** CRIU keeps the PTRACE_GETVRREGS buffer as u64s in the task's order: vr0-31, vscr, vrsave. */
    private static byte[] vmx(core_entry core) {
        if (!core.getTiPpc64().hasVrstate()) {
            return null; // a CPU without Altivec: no note
        }
        var vr = core.getTiPpc64().getVrstate();
        var out = new Struct(VMX_SIZE, ORDER);
        for (int i = 0; i < Math.min(VMX_VRSAVE / 8, vr.getVrregsCount()); i++) {
            out.u64(8 * i, vr.getVrregs(i));
        }
        return out.u32(VMX_VRSAVE, Integer.toUnsignedLong(vr.getVrsave())).toBytes();
    }

    private static byte[] vsx(core_entry core) {
        if (!core.getTiPpc64().hasVsxstate()) {
            return null; // a CPU without VSX: no note
        }
        var vsx = core.getTiPpc64().getVsxstate();
        var out = new Struct(VSX_SIZE, ORDER);
        for (int i = 0; i < Math.min(VSX_SIZE / 8, vsx.getVsxregsCount()); i++) {
            out.u64(8 * i, vsx.getVsxregs(i));
        }
        return out.toBytes();
    }

    /**
     * What the images cannot give: trap (CRIU sets it to 0: "we are now coming from user space"),
     * dar, dsisr and result (not saved), and whether the FP, VMX and VSX units were on in msr,
     * which the kernel's own core shows for the thread that dumps it as it was at the signal.
     */
    @Override
    public long registerBitsNotInImages(int index) {
        return switch (index) {
            case TRAP, DAR, DSISR, RESULT -> -1L;
            case MSR -> MSR_FP | MSR_VEC | MSR_VSX;
            default -> 0;
        };
    }

    /**
     * CRIU stores a thread stopped in a restartable call as compel resumes it: for -ERESTARTSYS,
     * -ERESTARTNOINTR and -ERESTARTNOHAND r3 = orig_gpr3 and nip back over the sc instruction; for
     * -ERESTART_RESTARTBLOCK, r3 = EINTR (-EINTR after scv). The kernel's core shows the stop.
     */
    @Override
    public boolean restartedSyscall(long[] kernel, long[] candidate) {
        long trap = kernel[TRAP] & ~0xfL;
        long result;
        if (trap == TRAP_SCV) {
            result = -kernel[3];
        } else if (trap == TRAP_SC && (kernel[CCR] & CR0_SO) != 0) {
            result = kernel[3];
        } else {
            return false;
        }
        if (ERESTART.contains(result)) {
            return candidate[3] == kernel[ORIG_GPR3] && candidate[NIP] == kernel[NIP] - INSN;
        }
        return result == ERESTART_RESTARTBLOCK && candidate[NIP] == kernel[NIP]
                && candidate[3] == (trap == TRAP_SCV ? -EINTR : EINTR);
    }

    /** PPR, DSCR, TAR and the PMU registers are not in the images: only their size is compared. */
    @Override
    public List<String> noteDifferences(int type, byte[] expected, byte[] actual, CoreFile expectedCore,
                                        CoreFile actualCore) {
        if (type == NT_PPC_PPR || type == NT_PPC_DSCR || type == NT_PPC_TAR || type == NT_PPC_PMU) {
            return expected.length == actual.length ? List.of()
                    : List.of("is " + actual.length + " bytes, expected " + expected.length);
        }
        return Arrays.equals(expected, actual) ? List.of() : List.of("differs");
    }

    /** The kernel writes NT_PPC_VMX and NT_PPC_VSX only for a thread that used them (used_vr, used_vsr). */
    @Override
    public boolean writtenOnlyOnceUsed(int type) {
        return type == NT_PPC_VMX || type == NT_PPC_VSX;
    }
}
