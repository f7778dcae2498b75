package org.criu2core.elf;

/**
 * ELF constants and field offsets for core files, named as in include/uapi/linux/elf.h. Each group
 * of offsets sits under the C struct it describes; 32- and 64-bit layouts are in {@link ElfClass}.
 */
public final class Elf {
    private Elf() {
    }

    // e_ident[]
    public static final byte[] ELFMAG = {0x7f, 'E', 'L', 'F'};
    public static final int EI_CLASS = 4;
    public static final int EI_DATA = 5;
    public static final int EI_VERSION = 6;
    public static final int EI_OSABI = 7;
    public static final int EI_NIDENT = 16;
    public static final int ELFCLASS32 = 1;
    public static final int ELFCLASS64 = 2;
    public static final int ELFDATA2LSB = 1;
    public static final int ELFDATA2MSB = 2;
    public static final int EV_CURRENT = 1;
    public static final int ELFOSABI_NONE = 0;

    public static final int ET_CORE = 4;

    public static final int EM_386 = 3;
    public static final int EM_PPC64 = 21;
    public static final int EM_S390 = 22;
    public static final int EM_ARM = 40;
    public static final int EM_X86_64 = 62;
    public static final int EM_AARCH64 = 183;
    public static final int EM_RISCV = 243;
    public static final int EM_LOONGARCH = 258;

    public static final int PT_LOAD = 1;
    public static final int PT_NOTE = 4;
    public static final int PF_X = 1;
    public static final int PF_W = 2;
    public static final int PF_R = 4;

    /** e_phnum when the real count is in section header 0's sh_info (include/uapi/linux/elf.h). */
    public static final int PN_XNUM = 0xffff;
    public static final int SHT_NULL = 0;
    public static final int SHN_UNDEF = 0;

    // Elf{32,64}_Ehdr fields common to both classes
    public static final int E_TYPE = 16;     // Elf_Half e_type;
    public static final int E_MACHINE = 18;  // Elf_Half e_machine;
    public static final int E_VERSION = 20;  // Elf_Word e_version;

    // note types: include/uapi/linux/elf.h
    public static final int NT_PRSTATUS = 1;
    public static final int NT_PRFPREG = 2;
    public static final int NT_PRPSINFO = 3;
    public static final int NT_AUXV = 6;
    public static final int NT_PRXFPREG = 0x46e62b7f;
    public static final int NT_386_TLS = 0x200;
    public static final int NT_X86_XSTATE = 0x202;
    /** Offsets and sizes of XSAVE components as laid out in NT_X86_XSTATE (Linux 6.12 on). */
    public static final int NT_X86_XSAVE_LAYOUT = 0x205;
    public static final int NT_PPC_VMX = 0x100;
    public static final int NT_PPC_VSX = 0x102;
    public static final int NT_PPC_TAR = 0x103;
    public static final int NT_PPC_PPR = 0x104;
    public static final int NT_PPC_DSCR = 0x105;
    public static final int NT_PPC_PMU = 0x107;
    public static final int NT_S390_LAST_BREAK = 0x306;
    public static final int NT_S390_SYSTEM_CALL = 0x307;
    public static final int NT_S390_TDB = 0x308;
    public static final int NT_S390_VXRS_LOW = 0x309;
    public static final int NT_S390_VXRS_HIGH = 0x30a;
    public static final int NT_S390_GS_CB = 0x30b;
    public static final int NT_S390_GS_BC = 0x30c;
    public static final int NT_S390_RI_CB = 0x30d;
    public static final int NT_ARM_VFP = 0x400;
    public static final int NT_ARM_TLS = 0x401;
    public static final int NT_LOONGARCH_CPUCFG = 0xa00;
    public static final int NT_LOONGARCH_LSX = 0xa02;
    public static final int NT_LOONGARCH_LASX = 0xa03;
    public static final int NT_LOONGARCH_LBT = 0xa04;
    public static final int NT_LOONGARCH_HW_BREAK = 0xa05;
    public static final int NT_LOONGARCH_HW_WATCH = 0xa06;
    public static final int NT_SIGINFO = 0x53494749;
    public static final int NT_FILE = 0x46494c45;

    /** Owner of the notes every core has. */
    public static final String CORE = "CORE";
    /** Owner of the Linux-specific register notes. */
    public static final String LINUX = "LINUX";

    /** e_ident[EI_DATA] of a core in {@code order}. */
    public static int elfData(java.nio.ByteOrder order) {
        return order == java.nio.ByteOrder.BIG_ENDIAN ? ELFDATA2MSB : ELFDATA2LSB;
    }
}
