package org.criu2core.arch;

import static org.criu2core.elf.Elf.CORE;
import static org.criu2core.elf.Elf.NT_PRFPREG;

import java.nio.ByteOrder;
import java.util.List;
import java.util.function.ToLongFunction;
import org.criu2core.elf.Elf;
import org.criu2core.elf.ElfClass;
import org.criu2core.elf.Struct;
import org.criu2core.image.proto.Core.core_entry;
import org.criu2core.image.proto.CoreRiscv64.user_riscv64_regs_entry;

/**
 * riscv64 tasks, as arch/riscv/kernel/ptrace.c riscv_user_regset[] describes them (no vector
 * state: CRIU does not save it). The thread pointer is x4 (tp), in the general registers.
 */
final class Riscv64 extends RegsetTable {
    /** riscv64 is little-endian. */
    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    /** struct user_regs_struct (arch/riscv/include/uapi/asm/ptrace.h): pc, then x1-x31. */
    private static final List<ToLongFunction<user_riscv64_regs_entry>> GPREGS = List.of(
            user_riscv64_regs_entry::getPc, user_riscv64_regs_entry::getRa, user_riscv64_regs_entry::getSp,
            user_riscv64_regs_entry::getGp, user_riscv64_regs_entry::getTp, user_riscv64_regs_entry::getT0,
            user_riscv64_regs_entry::getT1, user_riscv64_regs_entry::getT2, user_riscv64_regs_entry::getS0,
            user_riscv64_regs_entry::getS1, user_riscv64_regs_entry::getA0, user_riscv64_regs_entry::getA1,
            user_riscv64_regs_entry::getA2, user_riscv64_regs_entry::getA3, user_riscv64_regs_entry::getA4,
            user_riscv64_regs_entry::getA5, user_riscv64_regs_entry::getA6, user_riscv64_regs_entry::getA7,
            user_riscv64_regs_entry::getS2, user_riscv64_regs_entry::getS3, user_riscv64_regs_entry::getS4,
            user_riscv64_regs_entry::getS5, user_riscv64_regs_entry::getS6, user_riscv64_regs_entry::getS7,
            user_riscv64_regs_entry::getS8, user_riscv64_regs_entry::getS9, user_riscv64_regs_entry::getS10,
            user_riscv64_regs_entry::getS11, user_riscv64_regs_entry::getT3, user_riscv64_regs_entry::getT4,
            user_riscv64_regs_entry::getT5, user_riscv64_regs_entry::getT6);
    private static final List<String> NAMES = List.of("pc", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1",
            "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10",
            "s11", "t3", "t4", "t5", "t6");

    /*
     * struct __riscv_d_ext_state { __u64 f[32]; __u32 fcsr; }: 260 bytes, 264 with the padding
     * to 8 that sizeof gives; the regset is ELF_NFPREG = 33 words.
     */
    static final int D_EXT_SIZE = 33 * 8;
    static final int FCSR = 32 * 8;

    static final Riscv64 INSTANCE = new Riscv64();

    private Riscv64() {
        super("riscv64", ElfClass.ELF64, ORDER, Elf.EM_RISCV, NAMES,
                List.of(new Regset(NT_PRFPREG, CORE, D_EXT_SIZE, Riscv64::dExt)));
    }

    /* include/uapi/linux/elf-em.h, elf/riscv.h of binutils */
    private static final int EF_RISCV_RVC = 0x1;
    private static final int EF_RISCV_FLOAT_ABI_SINGLE = 0x2;
    private static final int EF_RISCV_FLOAT_ABI_DOUBLE = 0x4;

    /**
     * The kernel writes e_flags 0, and gdb, which takes the width of the FP registers from the
     * float ABI in e_flags, then shows none of them unless the executable is loaded too. The
     * flags of the ABI the CPU's extensions (AT_HWCAP, a bit per letter) make the Linux default:
     * lp64d with D, lp64f with F alone.
     */
    @Override
    public int elfFlags(long[] auxv) {
        long hwcap = Auxv.value(auxv, Auxv.AT_HWCAP);
        int flags = (hwcap & extension('c')) != 0 ? EF_RISCV_RVC : 0;
        if ((hwcap & extension('d')) != 0) {
            flags |= EF_RISCV_FLOAT_ABI_DOUBLE;
        } else if ((hwcap & extension('f')) != 0) {
            flags |= EF_RISCV_FLOAT_ABI_SINGLE;
        }
        return flags;
    }

    private static long extension(char letter) {
        return 1L << (letter - 'a');
    }

    @Override
    public String ociPlatform() {
        return "linux/riscv64";
    }

    @Override
    public boolean hasRegisters(core_entry core) {
        return core.hasTiRiscv64();
    }

    @Override
    public byte[] generalRegisters(core_entry core) {
        return words(core.getTiRiscv64().getGpregs(), GPREGS);
    }

    @Override
    public boolean fpValid(core_entry core) {
        return core.getTiRiscv64().hasFpsimd();
    }

    private static byte[] dExt(core_entry core) {
        var d = core.getTiRiscv64().getFpsimd();
        var out = new Struct(D_EXT_SIZE, ORDER);
        for (int i = 0; i < Math.min(32, d.getFCount()); i++) {
            out.u64(8 * i, d.getF(i));
        }
        return out.u32(FCSR, Integer.toUnsignedLong(d.getFcsr())).toBytes();
    }
}
