package org.criu2core.arch;

import static org.criu2core.elf.Elf.CORE;
import static org.criu2core.elf.Elf.LINUX;
import static org.criu2core.elf.Elf.NT_PRFPREG;
import static org.criu2core.elf.Elf.NT_S390_GS_BC;
import static org.criu2core.elf.Elf.NT_S390_GS_CB;
import static org.criu2core.elf.Elf.NT_S390_LAST_BREAK;
import static org.criu2core.elf.Elf.NT_S390_RI_CB;
import static org.criu2core.elf.Elf.NT_S390_SYSTEM_CALL;
import static org.criu2core.elf.Elf.NT_S390_VXRS_HIGH;
import static org.criu2core.elf.Elf.NT_S390_VXRS_LOW;

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
import org.criu2core.image.proto.CoreS390.user_s390_gs_cb_entry;

/**
 * 64-bit s390x tasks, big-endian, as arch/s390/kernel/ptrace.c s390_regsets[] describes them:
 * NT_PRFPREG, NT_S390_SYSTEM_CALL, NT_S390_LAST_BREAK, NT_S390_TDB (only after a transaction
 * abort, which the images do not record), NT_S390_VXRS_LOW and _HIGH (machines with vector
 * registers), NT_S390_GS_CB and _GS_BC (threads that set up guarded storage), NT_S390_RI_CB
 * (threads with a runtime-instrumentation control block).
 */
final class S390 extends RegsetTable {
    private static final ByteOrder ORDER = ByteOrder.BIG_ENDIAN;

    /*
     * elf_gregset_t, s390_regs (arch/s390/include/uapi/asm/ptrace.h), 216 bytes:
     *   psw_t psw { unsigned long mask 0; unsigned long addr 8; }; unsigned long gprs[16] 16;
     *   unsigned int acrs[16] 144; unsigned long orig_gpr2 208
     */
    static final int PSW_MASK = 0;
    static final int PSW_ADDR = 8;
    static final int GPRS = 16;
    static final int ACRS = 144;
    static final int ORIG_GPR2 = 208;
    static final int PR_REG_SIZE = 216;
    private static final int NUM_GPRS = 16;
    private static final int NUM_ACRS = 16;

    /** Register indexes in pr_reg, as {@link #registerNames()} lists them. */
    private static final int R2 = 2 + 2;
    private static final int INDEX_PSW_ADDR = 1;
    private static final int INDEX_ORIG_GPR2 = 2 + NUM_GPRS + NUM_ACRS;

    private static final List<String> NAMES;
    private static final int[] SIZES;

    static {
        List<String> names = new ArrayList<>(List.of("psw_mask", "psw_addr"));
        for (int i = 0; i < NUM_GPRS; i++) {
            names.add("r" + i);
        }
        for (int i = 0; i < NUM_ACRS; i++) {
            names.add("a" + i);
        }
        names.add("orig_gpr2");
        NAMES = List.copyOf(names);
        SIZES = new int[NAMES.size()];
        Arrays.fill(SIZES, 8);
        Arrays.fill(SIZES, 2 + NUM_GPRS, 2 + NUM_GPRS + NUM_ACRS, 4);
    }

    /** PSW_MASK_RI: CRIU turns runtime instrumentation off before it saves the PSW, and notes ri_on. */
    static final long PSW_MASK_RI = 0x0000_0080_0000_0000L;

    /** NT_PRFPREG, s390_fp_regs: u32 fpc 0; u32 pad; freg_t fprs[16] 8. */
    static final int FP_REGS_SIZE = 8 + 16 * 8;
    static final int FP_FPC = 0;
    static final int FP_FPRS = 8;
    /** NT_S390_SYSTEM_CALL: unsigned int thread.system_call. */
    static final int SYSTEM_CALL_SIZE = 4;
    /** NT_S390_LAST_BREAK: unsigned long, the last breaking-event address. */
    static final int LAST_BREAK_SIZE = 8;
    /**
     * copy_thread (arch/s390/kernel/process.c) starts every thread with last_break = 1; the images
     * do not hold the value, which the CPU updates on each branch the kernel records.
     */
    static final long LAST_BREAK_INITIAL = 1;
    /** NT_S390_VXRS_LOW: the low doubleword of v0-v15 (the high one is f0-f15). */
    static final int VXRS_LOW_SIZE = 16 * 8;
    /** NT_S390_VXRS_HIGH: v16-v31, 16 bytes each. */
    static final int VXRS_HIGH_SIZE = 16 * 16;
    /** NT_S390_GS_CB and _GS_BC: struct gs_cb, 4 u64. */
    static final int GS_CB_SIZE = 4 * 8;
    /** NT_S390_RI_CB: struct runtime_instr_cb, 64 bytes. */
    static final int RI_CB_SIZE = 8 * 8;

    private static final Set<Long> ERESTART = Set.of(-512L, -513L, -514L);
    private static final long ERESTART_RESTARTBLOCK = -516;
    private static final long EINTR = 4;

    static final S390 INSTANCE = new S390();

    private S390() {
        super("s390x", ElfClass.ELF64, ORDER, Elf.EM_S390, NAMES, SIZES, List.of(
                new Regset(NT_PRFPREG, CORE, FP_REGS_SIZE, S390::fpregs),
                new Regset(NT_S390_SYSTEM_CALL, LINUX, SYSTEM_CALL_SIZE, c -> new Struct(SYSTEM_CALL_SIZE, ORDER)
                        .u32(0, Integer.toUnsignedLong(c.getTiS390().getGpregs().getSystemCall())).toBytes()),
                new Regset(NT_S390_LAST_BREAK, LINUX, LAST_BREAK_SIZE,
                        c -> new Struct(LAST_BREAK_SIZE, ORDER).u64(0, LAST_BREAK_INITIAL).toBytes()),
                new Regset(NT_S390_VXRS_LOW, LINUX, VXRS_LOW_SIZE, c -> c.getTiS390().hasVxrsLow()
                        ? u64s(c.getTiS390().getVxrsLow().getRegsList(), VXRS_LOW_SIZE) : null),
                new Regset(NT_S390_VXRS_HIGH, LINUX, VXRS_HIGH_SIZE, c -> c.getTiS390().hasVxrsHigh()
                        ? u64s(c.getTiS390().getVxrsHigh().getRegsList(), VXRS_HIGH_SIZE) : null),
                new Regset(NT_S390_GS_CB, LINUX, GS_CB_SIZE, c -> c.getTiS390().hasGsCb()
                        ? gsCb(c.getTiS390().getGsCb()) : null),
                new Regset(NT_S390_GS_BC, LINUX, GS_CB_SIZE, c -> c.getTiS390().hasGsBc()
                        ? gsCb(c.getTiS390().getGsBc()) : null),
                new Regset(NT_S390_RI_CB, LINUX, RI_CB_SIZE, c -> c.getTiS390().hasRiCb()
                        ? u64s(c.getTiS390().getRiCb().getRegsList(), RI_CB_SIZE) : null)));
    }

    @Override
    public String ociPlatform() {
        return "linux/s390x";
    }

    @Override
    public boolean hasRegisters(core_entry core) {
        return core.hasTiS390();
    }

    /** orig_gpr2 is written as 0: CRIU does not save it (criu/arch/s390/crtools.c), though its image has the field. */
    @Override
    public byte[] generalRegisters(core_entry core) {
        var ti = core.getTiS390();
        var r = ti.getGpregs();
        long mask = r.getPswMask();
        if (ti.hasRiCb() && ti.getRiCb().getRiOn() != 0) {
            mask |= PSW_MASK_RI;
        }
        var out = new Struct(PR_REG_SIZE, ORDER).u64(PSW_MASK, mask).u64(PSW_ADDR, r.getPswAddr());
        for (int i = 0; i < Math.min(NUM_GPRS, r.getGprsCount()); i++) {
            out.u64(GPRS + 8 * i, r.getGprs(i));
        }
        for (int i = 0; i < Math.min(NUM_ACRS, r.getAcrsCount()); i++) {
            out.u32(ACRS + 4 * i, Integer.toUnsignedLong(r.getAcrs(i)));
        }
        return out.u64(ORIG_GPR2, r.getOrigGpr2()).toBytes();
    }

    @Override
    public boolean fpValid(core_entry core) {
        return true; // the kernel writes NT_PRFPREG for every thread, and the images always hold it
    }

    private static byte[] fpregs(core_entry core) {
        var fp = core.getTiS390().getFpregs();
        var out = new Struct(FP_REGS_SIZE, ORDER).u32(FP_FPC, Integer.toUnsignedLong(fp.getFpc()));
        for (int i = 0; i < Math.min(16, fp.getFprsCount()); i++) {
            out.u64(FP_FPRS + 8 * i, fp.getFprs(i));
        }
        return out.toBytes();
    }

    private static byte[] gsCb(user_s390_gs_cb_entry cb) {
        return u64s(cb.getRegsList(), GS_CB_SIZE);
    }

    /** u64s in order: CRIU keeps 128-bit registers as their high then low doubleword, as s390x stores them. */
    private static byte[] u64s(List<Long> values, int size) {
        var out = new Struct(size, ORDER);
        for (int i = 0; i < Math.min(size / 8, values.size()); i++) {
            out.u64(8 * i, values.get(i));
        }
        return out.toBytes();
    }

    /** orig_gpr2: CRIU's image has the field but criu/arch/s390/crtools.c never fills it. */
    @Override
    public long registerBitsNotInImages(int index) {
        return index == INDEX_ORIG_GPR2 ? -1L : 0;
    }

    /**
     * compel/arch/s390/src/lib/infect.c prepares a thread stopped in a restartable call for its
     * restart: for -ERESTARTSYS, -ERESTARTNOINTR and -ERESTARTNOHAND r2 = orig_gpr2 and the PSW
     * address back by the svc's length; for -ERESTART_RESTARTBLOCK, r2 = -EINTR.
     */
    @Override
    public boolean restartedSyscall(long[] kernel, long[] candidate) {
        long result = kernel[R2];
        if (ERESTART.contains(result)) {
            long back = kernel[INDEX_PSW_ADDR] - candidate[INDEX_PSW_ADDR];
            return candidate[R2] == kernel[INDEX_ORIG_GPR2] && (back == 2 || back == 4);
        }
        return result == ERESTART_RESTARTBLOCK && candidate[R2] == -EINTR
                && candidate[INDEX_PSW_ADDR] == kernel[INDEX_PSW_ADDR];
    }

    /** The last breaking-event address is not in the images: only its size is compared. */
    @Override
    public List<String> noteDifferences(int type, byte[] expected, byte[] actual, CoreFile expectedCore,
                                        CoreFile actualCore) {
        if (type == NT_S390_LAST_BREAK) {
            return expected.length == actual.length ? List.of()
                    : List.of("is " + actual.length + " bytes, expected " + expected.length);
        }
        return Arrays.equals(expected, actual) ? List.of() : List.of("differs");
    }
}
