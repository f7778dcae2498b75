package org.criu2core.arch;

import static org.criu2core.elf.Elf.CORE;
import static org.criu2core.elf.Elf.LINUX;
import static org.criu2core.elf.Elf.NT_ARM_VFP;
import static org.criu2core.elf.Elf.NT_PRFPREG;

import java.nio.ByteOrder;
import java.util.List;
import java.util.function.ToLongFunction;
import org.criu2core.elf.Elf;
import org.criu2core.elf.ElfClass;
import org.criu2core.elf.Struct;
import org.criu2core.image.proto.Core.core_entry;
import org.criu2core.image.proto.CoreArm.user_arm_regs_entry;

/**
 * 32-bit ARM tasks, as arch/arm/kernel/ptrace.c arm_regsets[] describes them. The kernel's core
 * has no note for the TLS register (TPIDRURO), which CRIU saves; neither has ours.
 */
final class Armv7l extends RegsetTable {
    /** armv7l as CRIU runs on it: little-endian. */
    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    /** struct pt_regs as elf_gregset_t (arch/arm/include/uapi/asm/ptrace.h): 18 x u32. */
    private static final List<ToLongFunction<user_arm_regs_entry>> GPREGS = List.of(
            user_arm_regs_entry::getR0, user_arm_regs_entry::getR1, user_arm_regs_entry::getR2,
            user_arm_regs_entry::getR3, user_arm_regs_entry::getR4, user_arm_regs_entry::getR5,
            user_arm_regs_entry::getR6, user_arm_regs_entry::getR7, user_arm_regs_entry::getR8,
            user_arm_regs_entry::getR9, user_arm_regs_entry::getR10, user_arm_regs_entry::getFp,
            user_arm_regs_entry::getIp, user_arm_regs_entry::getSp, user_arm_regs_entry::getLr,
            user_arm_regs_entry::getPc, user_arm_regs_entry::getCpsr, user_arm_regs_entry::getOrigR0);
    private static final List<String> NAMES = List.of("r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8",
            "r9", "r10", "fp", "ip", "sp", "lr", "pc", "cpsr", "orig_r0");

    /*
     * struct user_fp (arch/arm/include/asm/user.h), the FPA coprocessor's registers, 116 bytes:
     * no ARMv7 CPU has an FPA, and the kernel writes it all zero.
     */
    static final int USER_FP_SIZE = 116;
    /*
     * NT_ARM_VFP: u64 fpregs[32]; u32 fpscr, "the FPSCR is a single word dangling at the end of
     * struct user_vfp" (ARM_VFPREGS_SIZE = 32 * 8 + 4).
     */
    static final int VFP_SIZE = 32 * 8 + 4;

    static final Armv7l INSTANCE = new Armv7l();

    private Armv7l() {
        super("armv7l", ElfClass.ELF32, ORDER, Elf.EM_ARM, NAMES, List.of(
                new Regset(NT_PRFPREG, CORE, USER_FP_SIZE, c -> new byte[USER_FP_SIZE]),
                new Regset(NT_ARM_VFP, LINUX, VFP_SIZE, Armv7l::vfp)));
    }

    @Override
    public String ociPlatform() {
        return "linux/arm/v7";
    }

    @Override
    public boolean hasRegisters(core_entry core) {
        return core.hasTiArm();
    }

    @Override
    public byte[] generalRegisters(core_entry core) {
        return words(core.getTiArm().getGpregs(), GPREGS);
    }

    @Override
    public boolean fpValid(core_entry core) {
        return true; // the FPA note is always written
    }

    private static byte[] vfp(core_entry core) {
        var fp = core.getTiArm().getFpstate();
        var out = new Struct(VFP_SIZE, ORDER);
        for (int i = 0; i < Math.min(32, fp.getVfpRegsCount()); i++) {
            out.u64(8 * i, fp.getVfpRegs(i));
        }
        return out.u32(32 * 8, Integer.toUnsignedLong(fp.getFpscr())).toBytes();
    }
}
