package org.criu2core.arch;

import static org.criu2core.elf.Elf.CORE;
import static org.criu2core.elf.Elf.LINUX;
import static org.criu2core.elf.Elf.NT_ARM_TLS;
import static org.criu2core.elf.Elf.NT_PRFPREG;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.criu2core.elf.CoreFile;
import org.criu2core.elf.Elf;
import org.criu2core.elf.ElfClass;
import org.criu2core.elf.Struct;
import org.criu2core.image.proto.Core.core_entry;

/** aarch64 tasks, as arch/arm64/kernel/ptrace.c aarch64_regsets[] describes them. */
final class Aarch64 extends RegsetTable {
    /** aarch64 as CRIU runs on it: little-endian. */
    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    /** struct user_pt_regs (arch/arm64/include/uapi/asm/ptrace.h): u64 regs[31], sp, pc, pstate. */
    private static final int GPREGS = 31;
    private static final int PR_REG_SIZE = (GPREGS + 3) * 8;

    /*
     * struct user_fpsimd_state: __uint128_t vregs[32] 0; u32 fpsr 512; u32 fpcr 516;
     * u32 __reserved[2] 520; 528 bytes
     */
    static final int FPSIMD_SIZE = 528;
    static final int FPSR = 512;
    static final int FPCR = 516;
    /** NT_ARM_TLS: u64 tpidr_el0, then tpidr2_el0 (SME), which CRIU does not save. */
    static final int TLS_SIZE = 16;

    private static final List<String> NAMES;

    static {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < GPREGS; i++) {
            names.add("x" + i);
        }
        names.addAll(List.of("sp", "pc", "pstate"));
        NAMES = List.copyOf(names);
    }

    static final Aarch64 INSTANCE = new Aarch64();

    private Aarch64() {
        super("aarch64", ElfClass.ELF64, ORDER, Elf.EM_AARCH64, NAMES, List.of(
                new Regset(NT_PRFPREG, CORE, FPSIMD_SIZE, Aarch64::fpsimd),
                new Regset(NT_ARM_TLS, LINUX, TLS_SIZE,
                        c -> new Struct(TLS_SIZE, ORDER).u64(0, c.getTiAarch64().getTls()).toBytes())));
    }

    @Override
    public String ociPlatform() {
        return "linux/arm64";
    }

    @Override
    public boolean hasRegisters(core_entry core) {
        return core.hasTiAarch64();
    }

    @Override
    public byte[] generalRegisters(core_entry core) {
        var regs = core.getTiAarch64().getGpregs();
        var out = new Struct(PR_REG_SIZE, ORDER);
        for (int i = 0; i < Math.min(GPREGS, regs.getRegsCount()); i++) {
            out.u64(8 * i, regs.getRegs(i));
        }
        return out.u64(8 * GPREGS, regs.getSp()).u64(8 * GPREGS + 8, regs.getPc())
                .u64(8 * GPREGS + 16, regs.getPstate()).toBytes();
    }

    @Override
    public boolean fpValid(core_entry core) {
        return core.getTiAarch64().hasFpsimd();
    }

    private static byte[] fpsimd(core_entry core) {
        var fp = core.getTiAarch64().getFpsimd();
        var out = new Struct(FPSIMD_SIZE, ORDER);
        for (int i = 0; i < Math.min(64, fp.getVregsCount()); i++) {
            out.u64(8 * i, fp.getVregs(i)); // each vreg as its low then high 64 bits
        }
        return out.u32(FPSR, Integer.toUnsignedLong(fp.getFpsr())).u32(FPCR, Integer.toUnsignedLong(fp.getFpcr()))
                .toBytes();
    }

    /** The reserved words of the FPSIMD state and tpidr2, which the images do not hold, are not compared. */
    @Override
    public List<String> noteDifferences(int type, byte[] expected, byte[] actual, CoreFile expectedCore,
                                        CoreFile actualCore) {
        int compared = type == NT_PRFPREG ? FPCR + 4 : type == NT_ARM_TLS ? 8 : expected.length;
        if (actual.length != expected.length
                || !java.util.Arrays.equals(expected, 0, compared, actual, 0, compared)) {
            return List.of("differs");
        }
        return List.of();
    }
}
