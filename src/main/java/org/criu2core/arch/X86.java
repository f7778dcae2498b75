package org.criu2core.arch;

import static org.criu2core.elf.Elf.CORE;
import static org.criu2core.elf.Elf.LINUX;
import static org.criu2core.elf.Elf.NT_386_TLS;
import static org.criu2core.elf.Elf.NT_PRFPREG;
import static org.criu2core.elf.Elf.NT_PRXFPREG;
import static org.criu2core.elf.Elf.NT_X86_XSAVE_LAYOUT;
import static org.criu2core.elf.Elf.NT_X86_XSTATE;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToLongFunction;
import org.criu2core.elf.CoreFile;
import org.criu2core.elf.Elf;
import org.criu2core.elf.ElfClass;
import org.criu2core.elf.Note;
import org.criu2core.elf.Struct;
import org.criu2core.image.proto.Core.core_entry;
import org.criu2core.image.proto.CoreX86.thread_info_x86;
import org.criu2core.image.proto.CoreX86.user_desc_t;
import org.criu2core.image.proto.CoreX86.user_x86_fpregs_entry;
import org.criu2core.image.proto.CoreX86.user_x86_regs_entry;
import org.criu2core.image.proto.CoreX86.user_x86_regs_mode;
import org.criu2core.image.proto.CoreX86.user_x86_xsave_entry;
import org.criu2core.model.Process;

/**
 * x86_64 tasks, and 32-bit tasks on x86_64 (gpregs.mode COMPAT), as arch/x86/kernel/ptrace.c
 * describes them: x86_64_regsets[] and, for 32-bit tasks, ia32_regsets[].
 */
final class X86 extends RegsetTable {
    /** x86 is little-endian. */
    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    /** struct user_regs_struct (arch/x86/include/asm/user_64.h), in order: 27 x u64. */
    private static final List<ToLongFunction<user_x86_regs_entry>> GPREGS_64 = List.of(
            user_x86_regs_entry::getR15, user_x86_regs_entry::getR14, user_x86_regs_entry::getR13,
            user_x86_regs_entry::getR12, user_x86_regs_entry::getBp, user_x86_regs_entry::getBx,
            user_x86_regs_entry::getR11, user_x86_regs_entry::getR10, user_x86_regs_entry::getR9,
            user_x86_regs_entry::getR8, user_x86_regs_entry::getAx, user_x86_regs_entry::getCx,
            user_x86_regs_entry::getDx, user_x86_regs_entry::getSi, user_x86_regs_entry::getDi,
            user_x86_regs_entry::getOrigAx, user_x86_regs_entry::getIp, user_x86_regs_entry::getCs,
            user_x86_regs_entry::getFlags, user_x86_regs_entry::getSp, user_x86_regs_entry::getSs,
            user_x86_regs_entry::getFsBase, user_x86_regs_entry::getGsBase, user_x86_regs_entry::getDs,
            user_x86_regs_entry::getEs, user_x86_regs_entry::getFs, user_x86_regs_entry::getGs);

    /** struct user_regs_struct32 (arch/x86/include/asm/user32.h), in order: 17 x u32. */
    private static final List<ToLongFunction<user_x86_regs_entry>> GPREGS_32 = List.of(
            user_x86_regs_entry::getBx, user_x86_regs_entry::getCx, user_x86_regs_entry::getDx,
            user_x86_regs_entry::getSi, user_x86_regs_entry::getDi, user_x86_regs_entry::getBp,
            user_x86_regs_entry::getAx, user_x86_regs_entry::getDs, user_x86_regs_entry::getEs,
            user_x86_regs_entry::getFs, user_x86_regs_entry::getGs, user_x86_regs_entry::getOrigAx,
            user_x86_regs_entry::getIp, user_x86_regs_entry::getCs, user_x86_regs_entry::getFlags,
            user_x86_regs_entry::getSp, user_x86_regs_entry::getSs);

    /*
     * struct fxregs_state (arch/x86/include/asm/fpu/types.h): the legacy FXSAVE area, 512 bytes.
     *   u16 cwd 0; u16 swd 2; u16 twd 4; u16 fop 6; u64 rip 8; u64 rdp 16; u32 mxcsr 24;
     *   u32 mxcsr_mask 28; u32 st_space[32] 32; u32 xmm_space[64] 160; u32 padding[12] 416;
     *   u64 sw_reserved[6] 464
     */
    static final int FXSAVE_SIZE = 512;
    static final int FX_CWD = 0;
    static final int FX_SWD = 2;
    static final int FX_TWD = 4;
    static final int FX_FOP = 6;
    static final int FX_RIP = 8;
    static final int FX_RDP = 16;
    static final int FX_MXCSR = 24;
    static final int FX_MXCSR_MASK = 28;
    static final int FX_ST_SPACE = 32;
    static final int FX_XMM_SPACE = 160;
    static final int FX_PADDING = 416;
    /** gdb's I386_LINUX_XSAVE_XCR0_OFFSET: the kernel puts XCR0 in the software-reserved bytes. */
    static final int XSAVE_XCR0 = 464;
    /** struct xstate_header follows the legacy area: u64 xfeatures; u64 xcomp_bv; u64 reserved[6]. */
    static final int XSAVE_HDR_XFEATURES = 512;
    static final int XSAVE_HDR_END = 576;

    /**
     * The user XSAVE components CRIU saves, at their standard (non-compacted) offsets, which every
     * gdb reads (the CPUID leaf 0xD layout of Intel CPUs). The kernel's own core uses the CPU's
     * offsets, which on AMD put PKRU at 2432 where gdb 13 does not look.
     */
    record XComponent(int bit, int offset, int size, Filler fill) {
    }

    interface Filler {
        void fill(user_x86_xsave_entry x, Struct out, int offset, int size);
    }

    static final List<XComponent> XSAVE_COMPONENTS = List.of(
            new XComponent(2, 576, 256, (x, s, o, n) -> u32s(s, o, x.getYmmhSpaceList(), n)),      // AVX: ymm upper halves
            new XComponent(3, 960, 64, (x, s, o, n) -> u64s(s, o, x.getBndregStateList(), n)),     // MPX bound registers
            new XComponent(4, 1024, 64, (x, s, o, n) -> u64s(s, o, x.getBndcsrStateList(), n)),    // MPX config and status
            new XComponent(5, 1088, 64, (x, s, o, n) -> u64s(s, o, x.getOpmaskRegList(), n)),      // AVX-512 k0-k7
            new XComponent(6, 1152, 512, (x, s, o, n) -> u64s(s, o, x.getZmmUpperList(), n)),      // AVX-512 zmm0-15 upper
            new XComponent(7, 1664, 1024, (x, s, o, n) -> u64s(s, o, x.getHi16ZmmList(), n)),      // AVX-512 zmm16-31
            new XComponent(9, 2688, 8, (x, s, o, n) -> u32s(s, o, x.getPkruList(), n)));           // protection keys

    private static boolean saved(XComponent c, user_x86_xsave_entry x) {
        return switch (c.bit()) {
            case 2 -> x.getYmmhSpaceCount() > 0;
            case 3 -> x.getBndregStateCount() > 0;
            case 4 -> x.getBndcsrStateCount() > 0;
            case 5 -> x.getOpmaskRegCount() > 0;
            case 6 -> x.getZmmUpperCount() > 0;
            case 7 -> x.getHi16ZmmCount() > 0;
            case 9 -> x.getPkruCount() > 0;
            default -> false;
        };
    }

    /**
     * XCR0 of the task. CRIU does not save it, but allocates a component's array exactly when the
     * CPU has the feature enabled (criu/arch/x86/crtools.c alloc_xsave_extends), so the arrays
     * present tell it; x87 and SSE are always on.
     */
    static long xcr0(user_x86_xsave_entry x) {
        long xcr0 = 0x3;
        for (XComponent c : XSAVE_COMPONENTS) {
            if (saved(c, x)) {
                xcr0 |= 1L << c.bit();
            }
        }
        return xcr0;
    }

    static int xsaveSize(long xcr0) {
        int size = XSAVE_HDR_END;
        for (XComponent c : XSAVE_COMPONENTS) {
            if ((xcr0 >> c.bit() & 1) != 0) {
                size = Math.max(size, c.offset() + c.size());
            }
        }
        return size;
    }

    private static final List<String> NAMES_64 = List.of("r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10",
            "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base",
            "gs_base", "ds", "es", "fs", "gs");
    private static final List<String> NAMES_32 = List.of("ebx", "ecx", "edx", "esi", "edi", "ebp", "eax", "ds", "es",
            "fs", "gs", "orig_eax", "eip", "cs", "eflags", "esp", "ss");

    static final X86 X86_64 = new X86("x86_64", ElfClass.ELF64, Elf.EM_X86_64, GPREGS_64, NAMES_64, false);
    static final X86 I386 = new X86("i386", ElfClass.ELF32, Elf.EM_386, GPREGS_32, NAMES_32, true);

    private final List<ToLongFunction<user_x86_regs_entry>> gpregs;
    private final boolean compat;

    private X86(String name, ElfClass elfClass, int machine, List<ToLongFunction<user_x86_regs_entry>> gpregs,
                List<String> names, boolean compat) {
        super(name, elfClass, ORDER, machine, names, compat
                ? List.of(
                        // ia32_regsets[]: the i387 view, the FXSAVE view, XSAVE, then the TLS slots
                        new Regset(NT_PRFPREG, CORE, I387_SIZE, c -> i387(c.getThreadInfo())),
                        new Regset(NT_PRXFPREG, LINUX, FXSAVE_SIZE, c -> fxsave(c.getThreadInfo().getFpregs())),
                        new Regset(NT_X86_XSTATE, LINUX, -1, c -> xstate(c.getThreadInfo().getFpregs())),
                        new Regset(NT_386_TLS, LINUX, TLS_ENTRIES * USER_DESC_SIZE, c -> tls(c.getThreadInfo())))
                : List.of(
                        // x86_64_regsets[]
                        new Regset(NT_PRFPREG, CORE, FXSAVE_SIZE, c -> fxsave(c.getThreadInfo().getFpregs())),
                        new Regset(NT_X86_XSTATE, LINUX, -1, c -> xstate(c.getThreadInfo().getFpregs()))));
        this.gpregs = gpregs;
        this.compat = compat;
    }

    static boolean isCompat(thread_info_x86 ti) {
        return ti.getGpregs().getMode() == user_x86_regs_mode.COMPAT;
    }

    /** -ERESTARTSYS, -ERESTARTNOINTR, -ERESTARTNOHAND, -ERESTART_RESTARTBLOCK (include/linux/errno.h) */
    private static final List<Long> ERESTART = List.of(-512L, -513L, -514L, -516L);
    private static final long ERESTART_RESTARTBLOCK = -516;
    private static final long EINTR = 4;
    /** The length of the syscall (and int $0x80) instruction, which a restart runs again. */
    private static final int SYSCALL_INSN = 2;

    /**
     * CRIU stores a thread stopped in a restartable call as it will resume it
     * (criu/arch/x86/crtools.c, compel's syscall restart): ip moved back over the syscall
     * instruction with ax holding the call number again, or, for -ERESTART_RESTARTBLOCK, ax =
     * -EINTR with ip in place. The kernel's core shows the registers at the stop.
     */
    @Override
    public boolean restartedSyscall(long[] kernel, long[] candidate) {
        int ax = registerNames().indexOf(compat ? "eax" : "rax");
        int origAx = registerNames().indexOf(compat ? "orig_eax" : "orig_rax");
        int ip = registerNames().indexOf(compat ? "eip" : "rip");
        long mask = compat ? 0xffff_ffffL : -1L;
        long result = compat ? (int) kernel[ax] : kernel[ax];
        long call = compat ? (int) kernel[origAx] : kernel[origAx];
        if (call < 0 || !ERESTART.contains(result)) {
            return false;
        }
        boolean backOverSyscall = candidate[ip] == ((kernel[ip] - SYSCALL_INSN) & mask) && candidate[ax] == kernel[origAx];
        boolean interrupted = result == ERESTART_RESTARTBLOCK && candidate[ip] == kernel[ip]
                && candidate[ax] == (-EINTR & mask);
        return backOverSyscall || interrupted;
    }

    /** Standard offsets; a core may declare others in NT_X86_XSAVE_LAYOUT, as the kernel's does. */
    private static java.util.Map<Integer, int[]> xsaveLayout(CoreFile core) {
        java.util.Map<Integer, int[]> layout = new java.util.HashMap<>();
        byte[] declared = core.note(NT_X86_XSAVE_LAYOUT);
        if (declared == null) {
            for (XComponent c : XSAVE_COMPONENTS) {
                layout.put(c.bit(), new int[] {c.offset(), c.size()});
            }
            return layout;
        }
        var b = java.nio.ByteBuffer.wrap(declared).order(ORDER);
        for (int i = 0; i + 16 <= declared.length; i += 16) {
            layout.put(b.getInt(i), new int[] {b.getInt(i + 8), b.getInt(i + 4)});
        }
        return layout;
    }

    @Override
    public List<String> noteDifferences(int type, byte[] expected, byte[] actual, CoreFile expectedCore,
                                        CoreFile actualCore) {
        if (type == NT_PRFPREG && !compat || type == NT_PRXFPREG) {
            // the FXSAVE area past the XMM registers is padding and software-reserved words
            return java.util.Arrays.equals(expected, 0, FX_PADDING, actual, 0, Math.min(actual.length, FX_PADDING))
                    && actual.length == FXSAVE_SIZE ? List.of() : List.of("differs in the FXSAVE area");
        }
        if (type != NT_X86_XSTATE) {
            return super.noteDifferences(type, expected, actual, expectedCore, actualCore);
        }
        List<String> out = new java.util.ArrayList<>();
        if (actual.length < XSAVE_HDR_END) {
            return List.of("is " + actual.length + " bytes, too short for the XSAVE header");
        }
        if (!java.util.Arrays.equals(expected, 0, FX_PADDING, actual, 0, FX_PADDING)) {
            out.add("legacy area differs");
        }
        var e = java.nio.ByteBuffer.wrap(expected).order(ORDER);
        var a = java.nio.ByteBuffer.wrap(actual).order(ORDER);
        long xcr0 = e.getLong(XSAVE_XCR0);
        if (a.getLong(XSAVE_XCR0) != xcr0) {
            out.add(String.format("XCR0 0x%x, expected 0x%x", a.getLong(XSAVE_XCR0), xcr0));
        }
        if (a.getLong(XSAVE_HDR_XFEATURES) != e.getLong(XSAVE_HDR_XFEATURES)) {
            out.add(String.format("xstate_bv 0x%x, expected 0x%x", a.getLong(XSAVE_HDR_XFEATURES),
                    e.getLong(XSAVE_HDR_XFEATURES)));
        }
        var expectedLayout = xsaveLayout(expectedCore);
        var actualLayout = xsaveLayout(actualCore);
        for (XComponent c : XSAVE_COMPONENTS) {
            if ((xcr0 >> c.bit() & 1) == 0) {
                continue;
            }
            int[] el = expectedLayout.get(c.bit());
            int[] al = actualLayout.get(c.bit());
            if (el == null || al == null || el[0] + el[1] > expected.length || al[0] + el[1] > actual.length) {
                out.add("XSAVE component " + c.bit() + " is missing");
            } else if (!java.util.Arrays.equals(expected, el[0], el[0] + el[1], actual, al[0], al[0] + el[1])) {
                out.add("XSAVE component " + c.bit() + " differs");
            }
        }
        return out;
    }

    @Override
    public String ociPlatform() {
        return compat ? "linux/386" : "linux/amd64";
    }

    @Override
    public boolean hasRegisters(core_entry core) {
        return core.hasThreadInfo();
    }

    @Override
    public byte[] generalRegisters(core_entry core) {
        return words(core.getThreadInfo().getGpregs(), gpregs);
    }

    @Override
    public boolean fpValid(core_entry core) {
        return core.hasThreadInfo() && core.getThreadInfo().hasFpregs();
    }

    /** The 32-bit auxv is u32 pairs, which CRIU saved packed two to a u64. */
    @Override
    public long[] auxv(List<Long> savedAuxv) {
        if (!compat) {
            return super.auxv(savedAuxv);
        }
        long[] words = new long[savedAuxv.size() * 2];
        for (int i = 0; i < savedAuxv.size(); i++) {
            words[2 * i] = savedAuxv.get(i) & 0xffff_ffffL;
            words[2 * i + 1] = savedAuxv.get(i) >>> 32;
        }
        return Auxv.terminate(words);
    }

    /**
     * NT_X86_XSAVE_LAYOUT: struct x86_xfeat_component { u32 type; u32 size; u32 offset; u32 flags; }
     * for each extended component, telling readers the standard layout is used.
     */
    @Override
    public List<Note> trailingNotes(Process process) {
        var fp = process.mainCore().getThreadInfo().getFpregs();
        if (!fp.hasXsave()) {
            return List.of();
        }
        long xcr0 = xcr0(fp.getXsave());
        List<XComponent> present = new ArrayList<>();
        for (XComponent c : XSAVE_COMPONENTS) {
            if ((xcr0 >> c.bit() & 1) != 0) {
                present.add(c);
            }
        }
        var desc = new Struct(16 * present.size(), ORDER);
        for (int i = 0; i < present.size(); i++) {
            XComponent c = present.get(i);
            desc.u32(16 * i, c.bit()).u32(16 * i + 4, c.size()).u32(16 * i + 8, c.offset());
        }
        return List.of(new Note(LINUX, NT_X86_XSAVE_LAYOUT, desc.toBytes()));
    }

    private static void legacy(user_x86_fpregs_entry fp, Struct out) {
        // CRIU keeps these 16-bit FXSAVE fields in uint32s
        out.u16(FX_CWD, fp.getCwd() & 0xffff).u16(FX_SWD, fp.getSwd() & 0xffff).u16(FX_TWD, fp.getTwd() & 0xffff)
                .u16(FX_FOP, fp.getFop() & 0xffff)
                .u64(FX_RIP, fp.getRip()).u64(FX_RDP, fp.getRdp())
                .u32(FX_MXCSR, fp.getMxcsr()).u32(FX_MXCSR_MASK, fp.getMxcsrMask());
        u32s(out, FX_ST_SPACE, fp.getStSpaceList(), FX_XMM_SPACE - FX_ST_SPACE);
        u32s(out, FX_XMM_SPACE, fp.getXmmSpaceList(), FX_PADDING - FX_XMM_SPACE);
    }

    static byte[] fxsave(user_x86_fpregs_entry fp) {
        var out = new Struct(FXSAVE_SIZE, ORDER);
        legacy(fp, out);
        return out.toBytes();
    }

    static byte[] xstate(user_x86_fpregs_entry fp) {
        if (!fp.hasXsave()) {
            return null;
        }
        var x = fp.getXsave();
        long xcr0 = xcr0(x);
        var out = new Struct(xsaveSize(xcr0), ORDER);
        legacy(fp, out);
        out.u64(XSAVE_XCR0, xcr0).u64(XSAVE_HDR_XFEATURES, x.getXstateBv());
        for (XComponent c : XSAVE_COMPONENTS) {
            if ((xcr0 >> c.bit() & 1) != 0) {
                c.fill().fill(x, out, c.offset(), c.size());
            }
        }
        return out.toBytes();
    }

    /*
     * struct user_i387_ia32_struct (arch/x86/include/asm/user32.h), 108 bytes:
     *   u32 cwd 0, swd 4, twd 8, fip 12, fcs 16, foo 20, fos 24; u32 st_space[20] 28
     * made from the FXSAVE area as arch/x86/kernel/fpu/regset.c __convert_from_fxsr does.
     */
    static final int I387_SIZE = 108;

    static byte[] i387(thread_info_x86 ti) {
        var fp = ti.getFpregs();
        var regs = ti.getGpregs();
        var out = new Struct(I387_SIZE, ORDER);
        out.u32(0, fp.getCwd() & 0xffff | 0xffff0000L)
                .u32(4, fp.getSwd() & 0xffff | 0xffff0000L)
                .u32(8, twdFxsrToI387(fp))
                .u32(12, fp.getRip() & 0xffff_ffffL)
                // the selectors at fault time are not kept in 64-bit mode: the kernel uses cs and ds
                .u32(16, regs.getCs() & 0xffff_ffffL)
                .u32(20, fp.getRdp() & 0xffff_ffffL)
                .u32(24, regs.getDs() & 0xffff_ffffL | 0xffff0000L);
        byte[] st = stSpace(fp);
        for (int i = 0; i < 8; i++) {
            out.chars(28 + 10 * i, java.util.Arrays.copyOfRange(st, 16 * i, 16 * i + 10), 10);
        }
        return out.toBytes();
    }

    private static byte[] stSpace(user_x86_fpregs_entry fp) {
        var st = new Struct(FX_XMM_SPACE - FX_ST_SPACE, ORDER);
        u32s(st, 0, fp.getStSpaceList(), st.size());
        return st.toBytes();
    }

    /** The full i387 tag word from FXSAVE's abridged one (twd_fxsr_to_i387). */
    private static long twdFxsrToI387(user_x86_fpregs_entry fp) {
        final int valid = 0;
        final int zero = 1;
        final int special = 2;
        final int empty = 3;
        byte[] st = stSpace(fp);
        int top = (fp.getSwd() >> 11) & 7;
        int twd = fp.getTwd() & 0xff;
        long ret = 0xffff0000L;
        for (int i = 0; i < 8; i++, twd >>= 1) {
            int tag;
            if ((twd & 1) != 0) {
                int slot = 16 * ((i - top) & 7);
                int exponent = (st[slot + 8] & 0xff | (st[slot + 9] & 0xff) << 8) & 0x7fff;
                boolean significandZero = true;
                for (int b = 0; b < 8; b++) {
                    significandZero &= st[slot + b] == 0;
                }
                boolean integerBit = (st[slot + 7] & 0x80) != 0;
                if (exponent == 0x7fff) {
                    tag = special;
                } else if (exponent == 0) {
                    tag = significandZero ? zero : special;
                } else {
                    tag = integerBit ? valid : special;
                }
            } else {
                tag = empty;
            }
            ret |= (long) tag << (2 * i);
        }
        return ret;
    }

    /*
     * struct user_desc (arch/x86/include/uapi/asm/ldt.h), 16 bytes, one per GDT TLS slot:
     *   u32 entry_number 0; u32 base_addr 4; u32 limit 8; then bit fields at 12: seg_32bit:1,
     *   contents:2, read_exec_only:1, limit_in_pages:1, seg_not_present:1, useable:1
     */
    static final int USER_DESC_SIZE = 16;
    static final int TLS_ENTRIES = 3;

    static byte[] tls(thread_info_x86 ti) {
        var out = new Struct(TLS_ENTRIES * USER_DESC_SIZE, ORDER);
        for (int i = 0; i < Math.min(TLS_ENTRIES, ti.getTlsCount()); i++) {
            user_desc_t d = ti.getTls(i);
            int o = i * USER_DESC_SIZE;
            int bits = (d.getSeg32Bit() ? 1 : 0)
                    | (d.getContentsH() ? 1 : 0) << 2 | (d.getContentsL() ? 1 : 0) << 1
                    | (d.getReadExecOnly() ? 1 : 0) << 3
                    | (d.getLimitInPages() ? 1 : 0) << 4
                    | (d.getSegNotPresent() ? 1 : 0) << 5
                    | (d.getUsable() ? 1 : 0) << 6;
            out.u32(o, d.getEntryNumber()).u32(o + 4, d.getBaseAddr()).u32(o + 8, d.getLimit()).u32(o + 12, bits);
        }
        return out.toBytes();
    }

    /** Writes at most {@code bytes} bytes of values: a longer array in a hostile image is cut. */
    private static void u32s(Struct out, int offset, List<Integer> values, int bytes) {
        for (int i = 0; i < Math.min(values.size(), bytes / 4); i++) {
            out.u32(offset + 4 * i, Integer.toUnsignedLong(values.get(i)));
        }
    }

    private static void u64s(Struct out, int offset, List<Long> values, int bytes) {
        for (int i = 0; i < Math.min(values.size(), bytes / 8); i++) {
            out.u64(offset + 8 * i, values.get(i));
        }
    }
}
