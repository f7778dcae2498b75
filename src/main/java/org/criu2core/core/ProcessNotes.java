package org.criu2core.core;

import static org.criu2core.elf.Elf.CORE;
import static org.criu2core.elf.Elf.NT_AUXV;
import static org.criu2core.elf.Elf.NT_FILE;
import static org.criu2core.elf.Elf.NT_PRPSINFO;
import static org.criu2core.elf.Elf.NT_PRSTATUS;
import static org.criu2core.elf.Elf.NT_SIGINFO;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.criu2core.arch.Arch;
import org.criu2core.arch.Regset;
import org.criu2core.elf.CoreStructs;
import org.criu2core.elf.CoreStructs.Prpsinfo;
import org.criu2core.elf.Note;
import org.criu2core.elf.Struct;
import org.criu2core.model.MappedFile;
import org.criu2core.model.Process;
import org.criu2core.model.Thread;
import org.criu2core.model.Vma;

/**
 * The notes of a process's core, in the kernel's order (fs/binfmt_elf.c fill_note_info and
 * write_note_info): the first thread's NT_PRSTATUS, then NT_PRPSINFO, NT_SIGINFO, NT_AUXV and
 * NT_FILE, then the first thread's other regsets, then each other thread's NT_PRSTATUS and
 * regsets, then the architecture's process-wide extras.
 */
public final class ProcessNotes {
    /** "RSDTZW"[state]: the letter ps shows, from fs/binfmt_elf.c fill_psinfo. */
    private static final String STATE_LETTERS = "RSDTZW";
    private static final int STATE_RUNNING = 0;
    private static final int STATE_STOPPED = 3;
    /** 16-bit ids above this show as the overflow id (include/linux/highuid.h). */
    private static final long OVERFLOW_ID = 65534;

    /**
     * The kernel's default kernel.core_file_note_size_limit (fs/coredump.c
     * CORE_FILE_NOTE_SIZE_DEFAULT): an NT_FILE this large or larger is left out of the core.
     */
    public static final long DEFAULT_FILE_NOTE_LIMIT = 4L << 20;

    private ProcessNotes() {
    }

    public static List<Note> build(Process process, Arch arch, ProcessMemory memory, long[] auxv) throws IOException {
        return build(process, arch, memory, auxv, DEFAULT_FILE_NOTE_LIMIT, warning -> { });
    }

    /**
     * The notes; NT_FILE only when it is smaller than {@code fileNoteLimit}, else {@code warnings}
     * is told why it is not there.
     */
    public static List<Note> build(Process process, Arch arch, ProcessMemory memory, long[] auxv, long fileNoteLimit,
                                   Consumer<String> warnings) throws IOException {
        List<Note> notes = new ArrayList<>();
        List<Thread> threads = process.threads();
        for (int i = 0; i < threads.size(); i++) {
            Thread t = threads.get(i);
            notes.add(new Note(CORE, NT_PRSTATUS, prstatus(process, t, arch)));
            if (i == 0) {
                notes.add(new Note(CORE, NT_PRPSINFO, prpsinfo(process, arch, memory)));
                // no signal caused this core: a well-formed siginfo_t of zeros
                notes.add(new Note(CORE, NT_SIGINFO, new byte[CoreStructs.SIGINFO_SIZE]));
                notes.add(new Note(CORE, NT_AUXV, words(auxv, arch.elfClass().word(), arch.byteOrder())));
                long fileNote = ntFileSize(process, arch.elfClass().word());
                if (fileNote < fileNoteLimit) {
                    notes.add(new Note(CORE, NT_FILE, ntFile(process, arch.elfClass().word(), arch.byteOrder(),
                            memory.pageSize())));
                } else {
                    warnings.accept("NT_FILE left out: it would be " + fileNote + " bytes, and the limit is "
                            + fileNoteLimit + " (the kernel's core_file_note_size_limit; --file-note-limit)");
                }
            }
            for (Regset regset : arch.regsets()) {
                byte[] desc = regset.fill().apply(t.core());
                if (desc != null) {
                    notes.add(new Note(regset.owner(), regset.noteType(), desc));
                }
            }
        }
        notes.addAll(arch.trailingNotes(process));
        return notes;
    }

    static byte[] prstatus(Process process, Thread thread, Arch arch) {
        CoreStructs.Prstatus layout = arch.prstatus();
        int word = layout.word();
        long wordMask = word == 8 ? -1L : 0xffff_ffffL;
        return new Struct(layout.size(), arch.byteOrder())
                .word(CoreStructs.Prstatus.PR_SIGPEND, thread.pendingSignals(arch.byteOrder()) & wordMask, word)
                .word(layout.prSighold(), thread.blockedSignals() & wordMask, word)
                .s32(layout.prPid(), thread.tid())
                .s32(layout.prPpid(), process.ppid())
                .s32(layout.prPgrp(), process.pgid())
                .s32(layout.prSid(), process.sid())
                .bytes(layout.prReg(), arch.generalRegisters(thread.core()))
                .s32(layout.prFpvalid(), arch.fpValid(thread.core()) ? 1 : 0)
                .toBytes();
    }

    static byte[] prpsinfo(Process process, Arch arch, ProcessMemory memory) throws IOException {
        Prpsinfo layout = arch.prpsinfo();
        int state = process.state() == Process.State.STOPPED ? STATE_STOPPED : STATE_RUNNING;
        var creds = process.creds();
        long uid = Integer.toUnsignedLong(creds.getUid());
        long gid = Integer.toUnsignedLong(creds.getGid());
        if (layout.idWidth() == 2) {
            uid = uid > 0xffff ? OVERFLOW_ID : uid;
            gid = gid > 0xffff ? OVERFLOW_ID : gid;
        }
        long flags = process.mainCore().hasTc() ? Integer.toUnsignedLong(process.mainCore().getTc().getFlags()) : 0;
        var out = new Struct(layout.size(), arch.byteOrder())
                .u8(Prpsinfo.PR_STATE, state)
                .u8(Prpsinfo.PR_SNAME, STATE_LETTERS.charAt(state))
                .u8(Prpsinfo.PR_ZOMB, 0)
                .u8(Prpsinfo.PR_NICE, process.mainThread().nice() & 0xff)
                .word(layout.prFlag(), flags, layout.flagWidth())
                .s32(layout.prPid(), process.pid())
                .s32(layout.prPpid(), process.ppid())
                .s32(layout.prPgrp(), process.pgid())
                .s32(layout.prSid(), process.sid())
                .chars(layout.prFname(), process.comm().getBytes(StandardCharsets.UTF_8), Prpsinfo.FNAME_LENGTH - 1)
                .chars(layout.prPsargs(), psargs(process, memory), Prpsinfo.ELF_PRARGSZ - 1);
        if (layout.idWidth() == 2) {
            out.u16(layout.prUid(), uid).u16(layout.prGid(), gid);
        } else {
            out.u32(layout.prUid(), uid).u32(layout.prGid(), gid);
        }
        return out.toBytes();
    }

    /** The command line from the process's memory, NULs made spaces, at most 79 bytes. */
    private static byte[] psargs(Process process, ProcessMemory memory) throws IOException {
        long start = process.mm().getMmArgStart();
        long end = process.mm().getMmArgEnd();
        if (Long.compareUnsigned(end, start) <= 0) {
            return new byte[0];
        }
        int length = (int) Math.min(end - start, Prpsinfo.ELF_PRARGSZ - 1);
        byte[] args = memory.read(start, length);
        for (int i = 0; i < args.length; i++) {
            if (args[i] == 0) {
                args[i] = ' ';
            }
        }
        return args;
    }

    /*
     * NT_FILE (fs/binfmt_elf.c fill_files_note), in words of the task's width:
     *   long count; long page_size; { long start, end, file_ofs (in pages) } [count];
     *   then count NUL-terminated names. The descriptor is exactly this long.
     */
    static byte[] ntFile(Process process, int word, ByteOrder order, long pageSize) {
        List<Vma> mapped = new ArrayList<>();
        for (Vma vma : process.vmas()) {
            if (vma.file() != null) {
                mapped.add(vma);
            }
        }
        long[] header = new long[2 + 3 * mapped.size()];
        header[0] = mapped.size();
        header[1] = pageSize;
        var names = new ByteArrayOutputStream();
        for (int i = 0; i < mapped.size(); i++) {
            Vma vma = mapped.get(i);
            header[2 + 3 * i] = vma.start();
            header[3 + 3 * i] = vma.end();
            header[4 + 3 * i] = vma.pgoff() / pageSize;
            names.writeBytes(vma.file().kernelName().getBytes(StandardCharsets.UTF_8));
            names.write(0);
        }
        var out = new ByteArrayOutputStream();
        out.writeBytes(words(header, word, order));
        out.writeBytes(names.toByteArray());
        return out.toByteArray();
    }

    /**
     * The size {@link #ntFile} would have, counted before it is built: a name may be long and
     * mapped by thousands of VMAs (the kernel checks its limit before it fills the note, too;
     * fill_files_note). Each file's name is measured once, however many VMAs map it.
     */
    static long ntFileSize(Process process, int word) {
        Map<MappedFile, Long> nameBytes = new IdentityHashMap<>();
        long mapped = 0;
        long names = 0;
        for (Vma vma : process.vmas()) {
            if (vma.file() != null) {
                mapped++;
                names += nameBytes.computeIfAbsent(vma.file(),
                        f -> (long) f.kernelName().getBytes(StandardCharsets.UTF_8).length + 1);
            }
        }
        return (2 + 3 * mapped) * word + names;
    }

    static byte[] words(long[] values, int word, ByteOrder order) {
        var out = new Struct(values.length * word, order);
        for (int i = 0; i < values.length; i++) {
            out.word(i * word, values[i], word);
        }
        return out.toBytes();
    }
}
