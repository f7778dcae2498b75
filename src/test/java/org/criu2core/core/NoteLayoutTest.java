package org.criu2core.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.criu2core.Fixtures;
import org.criu2core.SyntheticCheckpoint;
import org.criu2core.arch.Arch;
import org.criu2core.container.RootFs;
import org.criu2core.elf.Elf;
import org.criu2core.elf.Note;
import org.criu2core.model.Checkpoint;
import org.criu2core.model.Process;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Notes byte for byte. The offsets here are worked out by hand from the C structs (quoted), not
 * taken from the code under test, so that a wrong constant there shows up here.
 */
class NoteLayoutTest {
    @TempDir
    Path tmp;

    private static final long STACK = 0x7ffd_0000_0000L;
    private static final long ARGS = STACK + 0x1f00;

    private List<Note> notes(Checkpoint checkpoint, Process process) throws Exception {
        try (var root = new RootFs(tmp); var memory = ProcessMemory.open(checkpoint, process, root)) {
            return ProcessNotes.build(process, memory.arch(), memory, memory.auxv());
        }
    }

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static byte[] desc(List<Note> notes, int index, int type) {
        assertEquals(type, notes.get(index).type(), "note " + index);
        return notes.get(index).desc();
    }

    private Checkpoint synthetic() throws Exception {
        Path dir = new SyntheticCheckpoint(4242).thread(4243).comm("layout-test")
                .anon(STACK, STACK + 0x2000, 3)
                .file(0x400000, 0x402000, 0x3000, 5, "/usr/bin/layout-test", 0100755, 0x10000)
                .args(ARGS, "layout-test", "--flag")
                .write(tmp.resolve("images"));
        return Checkpoint.load(dir);
    }

    @Test
    void x86_64NotesAreInTheKernelsOrderWithTheKernelsSizes() throws Exception {
        Checkpoint cp = synthetic();
        List<Note> notes = notes(cp, cp.processes().get(0));
        List<Integer> types = notes.stream().map(Note::type).toList();
        assertEquals(List.of(Elf.NT_PRSTATUS, Elf.NT_PRPSINFO, Elf.NT_SIGINFO, Elf.NT_AUXV, Elf.NT_FILE,
                Elf.NT_PRFPREG, Elf.NT_X86_XSTATE, Elf.NT_PRSTATUS, Elf.NT_PRFPREG, Elf.NT_X86_XSTATE,
                Elf.NT_X86_XSAVE_LAYOUT), types);
        assertEquals(List.of("CORE", "CORE", "CORE", "CORE", "CORE", "CORE", "LINUX", "CORE", "CORE", "LINUX", "LINUX"),
                notes.stream().map(Note::owner).toList());
        // sizeof(struct elf_prstatus) 336, elf_prpsinfo 136, siginfo_t 128, fxregs_state 512
        assertEquals(List.of(336, 136, 128, 512), List.of(notes.get(0).desc().length, notes.get(1).desc().length,
                notes.get(2).desc().length, notes.get(5).desc().length));
    }

    @Test
    void x86_64Prstatus() throws Exception {
        Checkpoint cp = synthetic();
        Process p = cp.processes().get(0);
        var b = le(desc(notes(cp, p), 7, Elf.NT_PRSTATUS)); // the second thread's
        /*
         * struct elf_prstatus { struct elf_siginfo pr_info; 0  short pr_cursig; 12
         *   unsigned long pr_sigpend; 16  unsigned long pr_sighold; 24
         *   pid_t pr_pid 32, pr_ppid 36, pr_pgrp 40, pr_sid 44;  4 x struct timeval 48..111
         *   elf_gregset_t pr_reg; 112 (27 x 8: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx
         *   rsi rdi orig_rax rip cs eflags rsp ss fs_base gs_base ds es fs gs)  int pr_fpvalid; 328 }
         */
        assertEquals(336, b.capacity());
        assertEquals(1L << 1, b.getLong(24), "pr_sighold: the thread's own mask");
        assertEquals(4243, b.getInt(32));
        assertEquals(0, b.getInt(36));
        assertEquals(4242, b.getInt(40));
        assertEquals(4242, b.getInt(44));
        assertEquals(SyntheticCheckpoint.register(1, 0), b.getLong(112), "r15");
        assertEquals(SyntheticCheckpoint.register(1, 10), b.getLong(112 + 10 * 8), "rax");
        assertEquals(-1L, b.getLong(112 + 15 * 8), "orig_rax");
        assertEquals(SyntheticCheckpoint.register(1, 16), b.getLong(112 + 16 * 8), "rip");
        assertEquals(0x33, b.getLong(112 + 17 * 8), "cs");
        assertEquals(SyntheticCheckpoint.register(1, 21), b.getLong(112 + 21 * 8), "fs_base");
        assertEquals(1, b.getInt(328), "pr_fpvalid");
    }

    @Test
    void x86_64Prpsinfo() throws Exception {
        Checkpoint cp = synthetic();
        byte[] d = desc(notes(cp, cp.processes().get(0)), 1, Elf.NT_PRPSINFO);
        var b = le(d);
        /*
         * struct elf_prpsinfo { char pr_state 0, pr_sname 1, pr_zomb 2, pr_nice 3;
         *   unsigned long pr_flag 8; __kernel_uid_t pr_uid 16; __kernel_gid_t pr_gid 20;
         *   pid_t pr_pid 24, pr_ppid 28, pr_pgrp 32, pr_sid 36; char pr_fname[16] 40;
         *   char pr_psargs[80] 56 }
         */
        assertEquals(136, d.length);
        assertEquals('R', d[1]);
        assertEquals(0, d[3], "pr_nice of the main thread");
        assertEquals(1000, b.getInt(16));
        assertEquals(1000, b.getInt(20));
        assertEquals(4242, b.getInt(24));
        assertEquals("layout-test\0\0\0\0\0", new String(d, 40, 16, StandardCharsets.US_ASCII));
        assertEquals("layout-test --flag \0", new String(d, 56, 20, StandardCharsets.US_ASCII));
    }

    @Test
    void auxvEndsWithAtNullAndNtFileCountsPages() throws Exception {
        Checkpoint cp = synthetic();
        List<Note> notes = notes(cp, cp.processes().get(0));
        var auxv = le(desc(notes, 3, Elf.NT_AUXV));
        assertEquals(10 * 8, auxv.capacity(), "4 pairs from the image, then AT_NULL");
        assertEquals(6, auxv.getLong(0));
        assertEquals(4096, auxv.getLong(8));
        assertEquals(0, auxv.getLong(64));
        assertEquals(0, auxv.getLong(72));
        byte[] file = desc(notes, 4, Elf.NT_FILE);
        var f = le(file);
        // long count; long page_size; {start, end, file_ofs} x count; names
        assertEquals(1, f.getLong(0));
        assertEquals(4096, f.getLong(8));
        assertEquals(0x400000, f.getLong(16));
        assertEquals(0x402000, f.getLong(24));
        assertEquals(3, f.getLong(32), "file_ofs in pages");
        assertEquals("/usr/bin/layout-test\0", new String(file, 40, file.length - 40, StandardCharsets.US_ASCII));
    }

    @Test
    void xsaveUsesTheStandardLayoutAndSaysSo() throws Exception {
        Checkpoint cp = synthetic();
        List<Note> notes = notes(cp, cp.processes().get(0));
        byte[] fx = desc(notes, 5, Elf.NT_PRFPREG);
        var x = le(desc(notes, 6, Elf.NT_X86_XSTATE));
        // legacy area: u16 cwd 0; u32 mxcsr 24; u32 xmm_space[64] 160; then XCR0 at 464
        assertEquals(2696, x.capacity(), "XCR0 0x207: PKRU at 2688 + 8");
        assertEquals(0x37f, x.getShort(0));
        assertEquals(0x1f80, x.getInt(24));
        assertEquals(0x40000000, x.getInt(160));
        assertEquals(0x207, x.getLong(464), "XCR0");
        assertEquals(0x207, x.getLong(512), "xstate_bv");
        assertEquals(0, x.getLong(520), "xcomp_bv: standard format");
        assertEquals(0x50000000, x.getInt(576), "ymm0 upper half");
        assertEquals(0x5000003f, x.getInt(576 + 63 * 4));
        assertEquals(0x55555554, x.getInt(2688), "pkru");
        assertArrayEquals(Arrays.copyOf(x.array(), 464), Arrays.copyOf(fx, 464), "NT_PRFPREG is the same legacy area");
        var layout = le(desc(notes, 10, Elf.NT_X86_XSAVE_LAYOUT));
        // struct x86_xfeat_component { u32 type; u32 size; u32 offset; u32 flags; }
        assertEquals(32, layout.capacity());
        assertEquals(List.of(2, 256, 576, 0, 9, 8, 2688, 0), List.of(layout.getInt(0), layout.getInt(4),
                layout.getInt(8), layout.getInt(12), layout.getInt(16), layout.getInt(20), layout.getInt(24),
                layout.getInt(28)));
    }

    @Test
    void i386NotesOfA32BitTask() throws Exception {
        Path images = Fixtures.checkpoint("compat32").resolve("images");
        Checkpoint cp = Checkpoint.load(images);
        Process p = cp.processes().get(0);
        List<Note> notes = notes(cp, p);
        assertEquals(List.of(Elf.NT_PRSTATUS, Elf.NT_PRPSINFO, Elf.NT_SIGINFO, Elf.NT_AUXV, Elf.NT_FILE,
                Elf.NT_PRFPREG, Elf.NT_PRXFPREG, Elf.NT_X86_XSTATE, Elf.NT_386_TLS, Elf.NT_X86_XSAVE_LAYOUT),
                notes.stream().map(Note::type).toList());
        var regs = p.mainCore().getThreadInfo().getGpregs();
        var b = le(desc(notes, 0, Elf.NT_PRSTATUS));
        /*
         * struct compat_elf_prstatus: pr_info 0; short pr_cursig 12; u32 pr_sigpend 16, pr_sighold 20;
         *   pid_t pr_pid 24 ...; 4 x struct old_timeval32 40..71; pr_reg 72 (17 x u32: ebx ecx edx esi
         *   edi ebp eax ds es fs gs orig_eax eip cs eflags esp ss); int pr_fpvalid 140
         */
        assertEquals(144, b.capacity());
        assertEquals(7090, b.getInt(24));
        assertEquals((int) regs.getBx(), b.getInt(72));
        assertEquals((int) regs.getAx(), b.getInt(72 + 6 * 4));
        assertEquals((int) regs.getIp(), b.getInt(72 + 12 * 4));
        assertEquals((int) regs.getSs(), b.getInt(72 + 16 * 4));
        assertEquals(1, b.getInt(140));
        byte[] psinfo = desc(notes, 1, Elf.NT_PRPSINFO);
        // compat_elf_prpsinfo: 16-bit pr_uid 8 and pr_gid 10, pr_pid 12, pr_fname 28, pr_psargs 44
        assertEquals(124, psinfo.length);
        assertEquals(7090, le(psinfo).getInt(12));
        assertEquals(p.comm(), new String(psinfo, 28, p.comm().length(), StandardCharsets.US_ASCII));
        // user_i387_ia32_struct: u32 cwd 0 (upper half set), swd 4, twd 8, fip 12, fcs 16, foo 20, fos 24
        var i387 = le(desc(notes, 5, Elf.NT_PRFPREG));
        assertEquals(108, i387.capacity());
        assertEquals(0xffff0000 | p.mainCore().getThreadInfo().getFpregs().getCwd(), i387.getInt(0));
        assertEquals((int) regs.getCs(), i387.getInt(16));
        assertEquals(512, desc(notes, 6, Elf.NT_PRXFPREG).length);
        assertEquals(3 * 16, desc(notes, 8, Elf.NT_386_TLS).length, "3 x struct user_desc");
        // the auxv of a 32-bit task: u32 pairs
        byte[] auxv = desc(notes, 3, Elf.NT_AUXV);
        assertEquals(0, le(auxv).getInt(auxv.length - 8));
        assertEquals(0, auxv.length % 8);
    }

    @Test
    void aarch64Notes() throws Exception {
        Checkpoint cp = Checkpoint.load(Fixtures.encodeSynthetic("aarch64", tmp.resolve("a64")));
        Process p = cp.processes().get(0);
        List<Note> notes = notes(cp, p);
        assertEquals(List.of(Elf.NT_PRSTATUS, Elf.NT_PRPSINFO, Elf.NT_SIGINFO, Elf.NT_AUXV, Elf.NT_FILE,
                Elf.NT_PRFPREG, Elf.NT_ARM_TLS, Elf.NT_PRSTATUS, Elf.NT_PRFPREG, Elf.NT_ARM_TLS),
                notes.stream().map(Note::type).toList());
        var ti = cp.processes().get(0).threads().get(1).core().getTiAarch64();
        /*
         * struct elf_prstatus (LP64) with pr_reg = struct user_pt_regs { u64 regs[31]; u64 sp; u64 pc;
         *   u64 pstate; } at 112 (272 bytes), int pr_fpvalid at 384; 392 bytes
         */
        var b = le(desc(notes, 7, Elf.NT_PRSTATUS));
        assertEquals(392, b.capacity());
        assertEquals(301, b.getInt(32));
        assertEquals(ti.getGpregs().getRegs(0), b.getLong(112));
        assertEquals(ti.getGpregs().getRegs(30), b.getLong(112 + 30 * 8));
        assertEquals(ti.getGpregs().getSp(), b.getLong(112 + 31 * 8));
        assertEquals(ti.getGpregs().getPc(), b.getLong(112 + 32 * 8));
        assertEquals(ti.getGpregs().getPstate(), b.getLong(112 + 33 * 8));
        assertEquals(1, b.getInt(384));
        // struct user_fpsimd_state { __uint128_t vregs[32]; u32 fpsr 512; u32 fpcr 516; u32 __reserved[2]; }
        var fp = le(desc(notes, 8, Elf.NT_PRFPREG));
        assertEquals(528, fp.capacity());
        assertEquals(ti.getFpsimd().getVregs(0), fp.getLong(0), "v0 low");
        assertEquals(ti.getFpsimd().getVregs(1), fp.getLong(8), "v0 high");
        assertEquals(ti.getFpsimd().getVregs(63), fp.getLong(504), "v31 high");
        assertEquals(ti.getFpsimd().getFpsr(), fp.getInt(512));
        assertEquals(ti.getFpsimd().getFpcr(), fp.getInt(516));
        // NT_ARM_TLS: u64 tpidr_el0; u64 tpidr2_el0
        var tls = le(desc(notes, 9, Elf.NT_ARM_TLS));
        assertEquals(16, tls.capacity());
        assertEquals(ti.getTls(), tls.getLong(0));
        assertEquals(136, desc(notes, 1, Elf.NT_PRPSINFO).length);
    }

    @Test
    void armv7lNotes() throws Exception {
        Checkpoint cp = Checkpoint.load(Fixtures.encodeSynthetic("armv7l", tmp.resolve("arm")));
        Process p = cp.processes().get(0);
        List<Note> notes = notes(cp, p);
        assertEquals(List.of(Elf.NT_PRSTATUS, Elf.NT_PRPSINFO, Elf.NT_SIGINFO, Elf.NT_AUXV, Elf.NT_FILE,
                Elf.NT_PRFPREG, Elf.NT_ARM_VFP, Elf.NT_PRSTATUS, Elf.NT_PRFPREG, Elf.NT_ARM_VFP),
                notes.stream().map(Note::type).toList());
        var ti = p.threads().get(1).core().getTiArm();
        /*
         * struct elf_prstatus (ILP32): pr_pid 24; pr_reg 72 = 18 x u32 (r0-r10, fp, ip, sp, lr, pc,
         *   cpsr, orig_r0); int pr_fpvalid 144; 148 bytes
         */
        var b = le(desc(notes, 7, Elf.NT_PRSTATUS));
        assertEquals(148, b.capacity());
        assertEquals(311, b.getInt(24));
        assertEquals(ti.getGpregs().getR0(), b.getInt(72));
        assertEquals(ti.getGpregs().getFp(), b.getInt(72 + 11 * 4));
        assertEquals(ti.getGpregs().getSp(), b.getInt(72 + 13 * 4));
        assertEquals(ti.getGpregs().getPc(), b.getInt(72 + 15 * 4));
        assertEquals(ti.getGpregs().getCpsr(), b.getInt(72 + 16 * 4));
        assertEquals(ti.getGpregs().getOrigR0(), b.getInt(72 + 17 * 4));
        assertEquals(1, b.getInt(144));
        assertArrayEquals(new byte[116], desc(notes, 8, Elf.NT_PRFPREG), "struct user_fp: the FPA, all zero");
        // NT_ARM_VFP: u64 fpregs[32]; u32 fpscr at 256; 260 bytes
        var vfp = le(desc(notes, 9, Elf.NT_ARM_VFP));
        assertEquals(260, vfp.capacity());
        assertEquals(ti.getFpstate().getVfpRegs(0), vfp.getLong(0));
        assertEquals(ti.getFpstate().getVfpRegs(31), vfp.getLong(248));
        assertEquals(ti.getFpstate().getFpscr(), vfp.getInt(256));
        // struct elf_prpsinfo (ILP32): 16-bit pr_uid 8 and pr_gid 10; pr_pid 12; pr_fname 28; pr_psargs 44
        byte[] psinfo = desc(notes, 1, Elf.NT_PRPSINFO);
        assertEquals(124, psinfo.length);
        assertEquals(1000, le(psinfo).getShort(8));
        assertEquals(1000, le(psinfo).getShort(10));
        assertEquals(310, le(psinfo).getInt(12));
        assertEquals("/usr/bin/absent-app alpha beta \0", new String(psinfo, 44, 32, StandardCharsets.US_ASCII));
        // u32 words in NT_AUXV and NT_FILE
        var auxv = le(desc(notes, 3, Elf.NT_AUXV));
        assertEquals(6 * 8, auxv.capacity());
        assertEquals(16, auxv.getInt(0));
        var file = le(desc(notes, 4, Elf.NT_FILE));
        assertEquals(1, file.getInt(0));
        assertEquals(4096, file.getInt(4));
        assertEquals(0x400000, file.getInt(8));
    }

    @Test
    void riscv64Notes() throws Exception {
        Checkpoint cp = Checkpoint.load(Fixtures.encodeSynthetic("riscv64", tmp.resolve("rv")));
        Process p = cp.processes().get(0);
        List<Note> notes = notes(cp, p);
        assertEquals(List.of(Elf.NT_PRSTATUS, Elf.NT_PRPSINFO, Elf.NT_SIGINFO, Elf.NT_AUXV, Elf.NT_FILE,
                Elf.NT_PRFPREG, Elf.NT_PRSTATUS, Elf.NT_PRFPREG), notes.stream().map(Note::type).toList());
        var ti = p.threads().get(1).core().getTiRiscv64();
        /*
         * struct elf_prstatus (LP64) with pr_reg = struct user_regs_struct { pc, ra, sp, gp, tp, t0-t2,
         *   s0, s1, a0-a7, s2-s11, t3-t6 } at 112 (32 x 8), int pr_fpvalid at 368; 376 bytes
         */
        var b = le(desc(notes, 6, Elf.NT_PRSTATUS));
        assertEquals(376, b.capacity());
        assertEquals(321, b.getInt(32));
        assertEquals(ti.getGpregs().getPc(), b.getLong(112));
        assertEquals(ti.getGpregs().getRa(), b.getLong(112 + 8));
        assertEquals(ti.getGpregs().getTp(), b.getLong(112 + 4 * 8));
        assertEquals(ti.getGpregs().getT6(), b.getLong(112 + 31 * 8));
        assertEquals(1, b.getInt(368));
        // struct __riscv_d_ext_state { __u64 f[32]; __u32 fcsr; }, as ELF_NFPREG = 33 words: 264 bytes
        var d = le(desc(notes, 7, Elf.NT_PRFPREG));
        assertEquals(264, d.capacity());
        assertEquals(ti.getFpsimd().getF(31), d.getLong(248));
        assertEquals(ti.getFpsimd().getFcsr(), d.getInt(256));
        // e_flags: RVC and the double-float ABI, from AT_HWCAP's C and D
        var arch = org.criu2core.arch.Arch.of(p, "core");
        assertEquals(0x5, arch.elfFlags(arch.auxv(p.mm().getMmSavedAuxvList())));
    }
}
