package org.criu2core.inspect;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.criu2core.arch.Arch;
import org.criu2core.elf.CoreFile.NoteEntry;
import org.criu2core.elf.CoreFile.Segment;
import org.criu2core.elf.CoreFile;
import org.criu2core.elf.CoreStructs;
import org.criu2core.elf.Elf;
import org.criu2core.image.ImageFormatException;

/**
 * Compares two cores field by field and page by page, and says in words where they differ.
 *
 * <p>Two of our own cores (a CI regression check) must agree exactly. Against a core the kernel
 * wrote ({@link Options#kernelReference}), the comparison allows what CRIU images cannot know:
 * the contents of the areas named {@link Options#unknownContents} (vvar, vsyscall, a thread's
 * rseq area) and how the kernel splits them into segments, ppid 0 for the root of the tree, the
 * registers of a thread stopped in a restartable system call as CRIU prepared them for the
 * restart, the signal that made the kernel's core, process state letters, notes of register
 * sets the images do not hold, the registers (or bits of them) and note contents the
 * architecture says CRIU does not save, and notes the kernel writes only for a thread that used
 * the state. Both cores are read in their own byte order, which must be the same.
 */
public final class CoreDiff {
    /** A range of addresses, end exclusive. */
    public record Range(long start, long end) {
        boolean contains(long address) {
            return Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) < 0;
        }
    }

    public record Options(boolean kernelReference, List<Range> unknownContents) {
        public static final Options EXACT = new Options(false, List.of());

        /** Ranges that touch are one area: the kernel splits [vvar] where the images have one VMA. */
        public Options {
            List<Range> sorted = new ArrayList<>(unknownContents);
            sorted.sort((x, y) -> Long.compareUnsigned(x.start(), y.start()));
            List<Range> merged = new ArrayList<>();
            for (Range r : sorted) {
                Range last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
                if (last != null && Long.compareUnsigned(r.start(), last.end()) <= 0) {
                    merged.set(merged.size() - 1, new Range(last.start(),
                            Long.compareUnsigned(r.end(), last.end()) > 0 ? r.end() : last.end()));
                } else {
                    merged.add(r);
                }
            }
            unknownContents = List.copyOf(merged);
        }

        public static Options kernel(List<Range> unknownContents) {
            return new Options(true, unknownContents);
        }
    }

    private static final int PAGE = 4096;
    private static final int MAX_PAGE_REPORTS = 40;
    private static final Map<Integer, String> NOTE_NAMES = Map.ofEntries(
            Map.entry(Elf.NT_PRSTATUS, "NT_PRSTATUS"), Map.entry(Elf.NT_PRFPREG, "NT_PRFPREG"),
            Map.entry(Elf.NT_PRPSINFO, "NT_PRPSINFO"), Map.entry(Elf.NT_AUXV, "NT_AUXV"),
            Map.entry(Elf.NT_SIGINFO, "NT_SIGINFO"), Map.entry(Elf.NT_FILE, "NT_FILE"),
            Map.entry(Elf.NT_X86_XSTATE, "NT_X86_XSTATE"), Map.entry(Elf.NT_PRXFPREG, "NT_PRXFPREG"),
            Map.entry(Elf.NT_386_TLS, "NT_386_TLS"), Map.entry(Elf.NT_ARM_VFP, "NT_ARM_VFP"),
            Map.entry(Elf.NT_ARM_TLS, "NT_ARM_TLS"), Map.entry(Elf.NT_X86_XSAVE_LAYOUT, "NT_X86_XSAVE_LAYOUT"),
            Map.entry(Elf.NT_PPC_VMX, "NT_PPC_VMX"), Map.entry(Elf.NT_PPC_VSX, "NT_PPC_VSX"),
            Map.entry(Elf.NT_PPC_PPR, "NT_PPC_PPR"), Map.entry(Elf.NT_PPC_DSCR, "NT_PPC_DSCR"),
            Map.entry(Elf.NT_PPC_TAR, "NT_PPC_TAR"), Map.entry(Elf.NT_PPC_PMU, "NT_PPC_PMU"),
            Map.entry(Elf.NT_S390_SYSTEM_CALL, "NT_S390_SYSTEM_CALL"),
            Map.entry(Elf.NT_S390_LAST_BREAK, "NT_S390_LAST_BREAK"), Map.entry(Elf.NT_S390_TDB, "NT_S390_TDB"),
            Map.entry(Elf.NT_S390_VXRS_LOW, "NT_S390_VXRS_LOW"), Map.entry(Elf.NT_S390_VXRS_HIGH, "NT_S390_VXRS_HIGH"),
            Map.entry(Elf.NT_S390_GS_CB, "NT_S390_GS_CB"), Map.entry(Elf.NT_S390_GS_BC, "NT_S390_GS_BC"),
            Map.entry(Elf.NT_S390_RI_CB, "NT_S390_RI_CB"));

    private final CoreFile expected;
    private final CoreFile actual;
    private final Options options;
    private final List<String> out = new ArrayList<>();

    private CoreDiff(CoreFile expected, CoreFile actual, Options options) {
        this.expected = expected;
        this.actual = actual;
        this.options = options;
    }

    /** The differences of {@code actual} from {@code expected}; empty when they match. */
    public static List<String> compare(CoreFile expected, CoreFile actual, Options options) throws IOException {
        var diff = new CoreDiff(expected, actual, options);
        diff.run();
        return List.copyOf(diff.out);
    }

    static String noteName(int type) {
        return NOTE_NAMES.getOrDefault(type, String.format("note 0x%x", type));
    }

    private void say(String format, Object... args) {
        out.add(String.format(format, args));
    }

    private void run() throws IOException {
        header();
        if (!out.isEmpty()) {
            return;
        }
        segments();
        if (options.kernelReference()) {
            fileSizes();
        }
        memory();
        threads();
        processNotes();
        noteOrder();
    }

    private void header() {
        compareField("ELF class", expected.elfClass().ident(), actual.elfClass().ident());
        compareField("ELF data", Elf.elfData(expected.byteOrder()), Elf.elfData(actual.byteOrder()));
        compareField("ELF OSABI", expected.osabi(), actual.osabi());
        compareField("ELF type", expected.type(), actual.type());
        compareField("ELF machine", expected.machine(), actual.machine());
        compareField("ELF flags", expected.flags(), actual.flags());
        if (actual.segments().isEmpty() || actual.segments().get(0).type() != Elf.PT_NOTE) {
            say("the first program header is not PT_NOTE");
        }
    }

    private void compareField(String what, long want, long got) {
        if (want != got) {
            say("%s %d, expected %d", what, got, want);
        }
    }

    // --- segments and memory ---

    private String unknownArea(long address) {
        for (Range r : options.unknownContents()) {
            if (r.contains(address)) {
                return r.toString();
            }
        }
        return null;
    }

    /** (start, end, flags[, file size]) of each load, with splits inside one unknown area joined. */
    private List<List<Long>> segmentKeys(CoreFile core) {
        List<List<Long>> keys = new ArrayList<>();
        for (Segment s : core.loads()) {
            List<Long> key = new ArrayList<>(List.of(s.vaddr(), s.end(), (long) s.flags()));
            if (!options.kernelReference()) {
                key.add(s.fileSize());
            }
            if (!keys.isEmpty()) {
                List<Long> last = keys.get(keys.size() - 1);
                String area = unknownArea(s.vaddr());
                if (options.kernelReference() && area != null && last.get(1) == s.vaddr()
                        && last.get(2) == s.flags() && area.equals(unknownArea(last.get(0)))) {
                    last.set(1, s.end());
                    continue;
                }
            }
            keys.add(key);
        }
        return keys;
    }

    private void segments() {
        var want = new java.util.LinkedHashSet<>(segmentKeys(expected));
        var got = new java.util.LinkedHashSet<>(segmentKeys(actual));
        for (List<Long> k : want) {
            if (!got.contains(k)) {
                say("segment 0x%x-0x%x flags %d%s is missing or different", k.get(0), k.get(1), k.get(2),
                        k.size() > 3 ? " with " + k.get(3) + " bytes" : "");
            }
        }
        for (List<Long> k : got) {
            if (!want.contains(k)) {
                say("segment 0x%x-0x%x flags %d%s is not in the expected core", k.get(0), k.get(1), k.get(2),
                        k.size() > 3 ? " with " + k.get(3) + " bytes" : "");
            }
        }
    }

    /**
     * Against the kernel's core each segment must carry as many bytes as the kernel's, but for
     * one thing the images cannot tell: whether a private anonymous area has an anon_vma. The
     * kernel dumps such an area whole though no page of it was saved (written, then split or
     * emptied by MADV_DONTNEED); that is accepted where ours has none of it, it has no NT_FILE
     * entry and all the kernel wrote of it is zeros.
     */
    private void fileSizes() throws IOException {
        Map<Long, Segment> ours = new HashMap<>();
        for (Segment s : actual.loads()) {
            ours.put(s.vaddr(), s);
        }
        List<CoreFile.MappedFile> mapped = expected.mappedFiles();
        for (Segment want : expected.loads()) {
            Segment got = ours.get(want.vaddr());
            if (got == null || got.end() != want.end() || got.fileSize() == want.fileSize()
                    || unknownArea(want.vaddr()) != null) {
                continue;
            }
            boolean anonymous = mapped.stream().noneMatch(f -> Long.compareUnsigned(f.start(), want.end()) < 0
                    && Long.compareUnsigned(want.vaddr(), f.end()) < 0);
            if (got.fileSize() == 0 && want.fileSize() == want.memSize() && anonymous && zeros(expected, want)) {
                continue;
            }
            say("segment 0x%x-0x%x carries %d bytes, expected %d", want.vaddr(), want.end(), got.fileSize(),
                    want.fileSize());
        }
    }

    private static boolean zeros(CoreFile core, Segment s) throws IOException {
        for (long at = 0; at < s.fileSize(); at += PAGE) {
            byte[] page = core.bytesAt(s.vaddr() + at, (int) Math.min(PAGE, s.fileSize() - at));
            if (page != null && !zero(page)) {
                return false;
            }
        }
        return true;
    }

    private void memory() throws IOException {
        List<String> bad = new ArrayList<>();
        for (CoreFile core : List.of(expected, actual)) {
            for (Segment s : core.loads()) {
                for (long address = s.vaddr(); Long.compareUnsigned(address, s.end()) < 0 && address != 0;
                     address += PAGE) {
                    // pages of the expected core, then pages only the actual core has
                    if (core == actual && expected.segmentWithData(address) != null) {
                        continue;
                    }
                    comparePage(address, bad);
                }
            }
        }
        out.addAll(bad.subList(0, Math.min(bad.size(), MAX_PAGE_REPORTS)));
        if (bad.size() > MAX_PAGE_REPORTS) {
            say("... and %d more page differences", bad.size() - MAX_PAGE_REPORTS);
        }
    }

    private void comparePage(long address, List<String> bad) throws IOException {
        if (options.kernelReference() && unknownArea(address) != null) {
            return;
        }
        byte[] want = expected.bytesAt(address, PAGE);
        byte[] got = actual.bytesAt(address, PAGE);
        boolean exact = !options.kernelReference();
        if (want == null && got != null && (exact || !zero(got))) {
            bad.add(String.format("page 0x%x is written but the expected core leaves it out", address));
        } else if (want != null && got == null && (exact || !zero(want))) {
            bad.add(String.format("page 0x%x is missing", address));
        } else if (want != null && got != null && !Arrays.equals(want, got)) {
            for (int i = 0; i < PAGE; i++) {
                if (want[i] != got[i] && (exact || unknownArea(address + i) == null)) {
                    bad.add(String.format("page 0x%x differs first at byte %d", address, i));
                    return;
                }
            }
        }
    }

    private static boolean zero(byte[] bytes) {
        for (byte b : bytes) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    // --- threads ---

    private record ThreadNotes(int tid, byte[] prstatus, Map<Integer, byte[]> regsets) {
    }

    private Map<Integer, ThreadNotes> threads(CoreFile core, CoreStructs.Prstatus layout) {
        Map<Integer, ThreadNotes> threads = new LinkedHashMap<>();
        for (List<NoteEntry> notes : core.threads()) {
            byte[] prstatus = notes.get(0).desc();
            if (prstatus.length < layout.prPid() + 4) {
                say("%s: an NT_PRSTATUS of %d bytes", core.name(), prstatus.length);
                continue;
            }
            int tid = ordered(prstatus).getInt(layout.prPid());
            Map<Integer, byte[]> regsets = new HashMap<>();
            for (NoteEntry n : notes.subList(1, notes.size())) {
                regsets.putIfAbsent(n.type(), n.desc());
            }
            threads.put(tid, new ThreadNotes(tid, prstatus, regsets));
        }
        return threads;
    }

    private void threads() {
        Optional<Arch> arch = Arch.forMachine(expected.machine(), expected.elfClass());
        if (arch.isEmpty()) {
            compareNotesExactly();
            return;
        }
        Arch a = arch.get();
        CoreStructs.Prstatus layout = a.prstatus();
        var want = threads(expected, layout);
        var got = threads(actual, layout);
        if (!want.keySet().equals(got.keySet())) {
            say("threads %s, expected %s", got.keySet(), want.keySet());
        }
        for (int tid : want.keySet()) {
            ThreadNotes w = want.get(tid);
            ThreadNotes g = got.get(tid);
            if (g == null) {
                continue;
            }
            if (g.prstatus().length != layout.size()) {
                say("thread %d: NT_PRSTATUS is %d bytes, expected %d", tid, g.prstatus().length, layout.size());
                continue;
            }
            prstatus(a, layout, tid, w.prstatus(), g.prstatus());
            regsets(a, tid, w.regsets(), g.regsets());
        }
    }

    private void prstatus(Arch arch, CoreStructs.Prstatus layout, int tid, byte[] want, byte[] got) {
        var w = ordered(want);
        var g = ordered(got);
        int word = layout.word();
        Map<String, Integer> fields = new LinkedHashMap<>();
        fields.put("pr_sigpend", CoreStructs.Prstatus.PR_SIGPEND);
        fields.put("pr_sighold", layout.prSighold());
        for (var f : fields.entrySet()) {
            long a = word(w, f.getValue(), word);
            long b = word(g, f.getValue(), word);
            if (a != b) {
                say("thread %d: %s 0x%x, expected 0x%x", tid, f.getKey(), b, a);
            }
        }
        int[] ids = {layout.prPpid(), layout.prPgrp(), layout.prSid(), layout.prFpvalid()};
        String[] idNames = {"pr_ppid", "pr_pgrp", "pr_sid", "pr_fpvalid"};
        for (int i = 0; i < ids.length; i++) {
            int a = w.getInt(ids[i]);
            int b = g.getInt(ids[i]);
            boolean rootPpid = options.kernelReference() && idNames[i].equals("pr_ppid") && b == 0;
            if (a != b && !rootPpid) {
                say("thread %d: %s %d, expected %d", tid, idNames[i], b, a);
            }
        }
        if (!options.kernelReference()) {
            for (int off : new int[] {CoreStructs.Prstatus.PR_SI_SIGNO, CoreStructs.Prstatus.PR_CURSIG}) {
                if (w.getShort(off) != g.getShort(off)) {
                    say("thread %d: the signal fields differ", tid);
                }
            }
        }
        List<String> names = arch.registerNames();
        long[] wr = new long[names.size()];
        long[] gr = new long[names.size()];
        for (int i = 0, at = layout.prReg(); i < names.size(); at += arch.registerSize(i), i++) {
            wr[i] = word(w, at, arch.registerSize(i));
            gr[i] = word(g, at, arch.registerSize(i));
        }
        boolean restart = options.kernelReference() && arch.restartedSyscall(wr, gr);
        for (int i = 0; i < names.size(); i++) {
            long unknown = options.kernelReference() ? arch.registerBitsNotInImages(i) : 0;
            if (((wr[i] ^ gr[i]) & ~unknown) != 0 && !restart) {
                say("thread %d: %s 0x%x, expected 0x%x", tid, names.get(i), gr[i], wr[i]);
            }
        }
    }

    private void regsets(Arch arch, int tid, Map<Integer, byte[]> want, Map<Integer, byte[]> got) {
        List<Integer> types = new ArrayList<>(want.keySet());
        for (int type : got.keySet()) {
            if (!types.contains(type)) {
                types.add(type);
            }
        }
        for (int type : types) {
            byte[] w = want.get(type);
            byte[] g = got.get(type);
            boolean required = arch.requiredThreadNotes().contains(type);
            if (options.kernelReference() && !required) {
                continue; // a register set the images do not hold
            }
            if (w == null || g == null) {
                if (!(options.kernelReference() && arch.writtenOnlyOnceUsed(type))) {
                    say("thread %d: %s is %s", tid, noteName(type), w == null ? "extra" : "missing");
                }
                continue;
            }
            List<String> differences = options.kernelReference()
                    ? arch.kernelNoteDifferences(type, w, g, expected, actual)
                    : arch.noteDifferences(type, w, g, expected, actual);
            for (String d : differences) {
                say("thread %d: %s %s", tid, noteName(type), d);
            }
        }
    }

    private void compareNotesExactly() {
        List<NoteEntry> w = expected.notes();
        List<NoteEntry> g = actual.notes();
        if (w.size() != g.size()) {
            say("%d notes, expected %d", g.size(), w.size());
        }
        for (int i = 0; i < Math.min(w.size(), g.size()); i++) {
            if (w.get(i).type() != g.get(i).type() || !Arrays.equals(w.get(i).desc(), g.get(i).desc())) {
                say("note %d (%s) differs", i, noteName(w.get(i).type()));
            }
        }
    }

    // --- process notes ---

    private void processNotes() {
        prpsinfo();
        for (int type : new int[] {Elf.NT_AUXV, Elf.NT_FILE, Elf.NT_SIGINFO}) {
            byte[] w = expected.note(type);
            byte[] g = actual.note(type);
            if (w == null) {
                if (g != null && !options.kernelReference()) {
                    say("%s is not in the expected core", noteName(type));
                }
                continue; // past about 65 000 VMAs the kernel leaves NT_FILE out
            }
            if (g == null) {
                say("no %s", noteName(type));
            } else if (type == Elf.NT_SIGINFO && options.kernelReference()) {
                if (w.length != g.length) {
                    say("NT_SIGINFO is %d bytes, expected %d", g.length, w.length);
                }
            } else if (type == Elf.NT_FILE) {
                ntFile(w, g);
            } else if (!Arrays.equals(w, g)) {
                say("%s differs (%d bytes, expected %d)", noteName(type), g.length, w.length);
            }
        }
    }

    private void prpsinfo() {
        byte[] w = expected.note(Elf.NT_PRPSINFO);
        byte[] g = actual.note(Elf.NT_PRPSINFO);
        if (w == null || g == null) {
            if (g == null) {
                say("no NT_PRPSINFO");
            }
            return;
        }
        if (!options.kernelReference()) {
            if (!Arrays.equals(w, g)) {
                say("NT_PRPSINFO differs");
            }
            return;
        }
        var layout = expected.elfClass().word() == 8 ? CoreStructs.Prpsinfo.LP64 : CoreStructs.Prpsinfo.ILP32_UID16;
        if (g.length != layout.size()) {
            say("NT_PRPSINFO is %d bytes, expected %d", g.length, layout.size());
            return;
        }
        var a = ordered(w);
        var b = ordered(g);
        Map<String, long[]> fields = new LinkedHashMap<>();
        fields.put("pr_zomb", new long[] {a.get(CoreStructs.Prpsinfo.PR_ZOMB), b.get(CoreStructs.Prpsinfo.PR_ZOMB)});
        fields.put("pr_nice", new long[] {a.get(CoreStructs.Prpsinfo.PR_NICE), b.get(CoreStructs.Prpsinfo.PR_NICE)});
        fields.put("pr_uid", new long[] {id(a, layout.prUid(), layout), id(b, layout.prUid(), layout)});
        fields.put("pr_gid", new long[] {id(a, layout.prGid(), layout), id(b, layout.prGid(), layout)});
        fields.put("pr_pid", new long[] {a.getInt(layout.prPid()), b.getInt(layout.prPid())});
        fields.put("pr_ppid", new long[] {a.getInt(layout.prPpid()), b.getInt(layout.prPpid())});
        fields.put("pr_pgrp", new long[] {a.getInt(layout.prPgrp()), b.getInt(layout.prPgrp())});
        fields.put("pr_sid", new long[] {a.getInt(layout.prSid()), b.getInt(layout.prSid())});
        for (var f : fields.entrySet()) {
            long want = f.getValue()[0];
            long got = f.getValue()[1];
            if (want != got && !(f.getKey().equals("pr_ppid") && got == 0)) {
                say("NT_PRPSINFO %s %d, expected %d", f.getKey(), got, want);
            }
        }
        String wf = cString(w, layout.prFname(), CoreStructs.Prpsinfo.FNAME_LENGTH);
        String gf = cString(g, layout.prFname(), CoreStructs.Prpsinfo.FNAME_LENGTH);
        if (!wf.equals(gf)) {
            say("NT_PRPSINFO pr_fname \"%s\", expected \"%s\"", gf, wf);
        }
        String wa = cString(w, layout.prPsargs(), CoreStructs.Prpsinfo.ELF_PRARGSZ);
        String ga = cString(g, layout.prPsargs(), CoreStructs.Prpsinfo.ELF_PRARGSZ);
        if (!wa.equals(ga)) {
            say("NT_PRPSINFO pr_psargs \"%s\", expected \"%s\"", ga, wa);
        }
    }

    private static long id(ByteBuffer b, int offset, CoreStructs.Prpsinfo layout) {
        return layout.idWidth() == 2 ? b.getShort(offset) & 0xffff : Integer.toUnsignedLong(b.getInt(offset));
    }

    private List<CoreFile.MappedFile> fileEntries(CoreFile core, String which) {
        try {
            return core.mappedFiles();
        } catch (ImageFormatException e) {
            say("NT_FILE of the %s core: %s", which, e.getMessage());
            return List.of();
        }
    }

    private void ntFile(byte[] want, byte[] got) {
        int word = expected.elfClass().word();
        if (word(ordered(want), word, word) != word(ordered(got), word, word)) {
            say("NT_FILE page size %d, expected %d", word(ordered(got), word, word), word(ordered(want), word, word));
        }
        var w = fileEntries(expected, "expected");
        var g = fileEntries(actual, "actual");
        for (var e : w) {
            if (!g.contains(e)) {
                say("NT_FILE lacks 0x%x-0x%x at page %d %s", e.start(), e.end(), e.pageOffset(), e.name());
            }
        }
        for (var e : g) {
            if (!w.contains(e)) {
                say("NT_FILE has an extra 0x%x-0x%x at page %d %s", e.start(), e.end(), e.pageOffset(), e.name());
            }
        }
        if (new java.util.HashSet<>(w).equals(new java.util.HashSet<>(g)) && !w.equals(g)) {
            say("NT_FILE entries are out of order");
        }
    }

    /** The kernel's order: first thread's PRSTATUS, the process notes, its regsets, other threads. */
    private void noteOrder() {
        List<Integer> known = new ArrayList<>(NOTE_NAMES.keySet());
        if (expected.note(Elf.NT_FILE) == null && options.kernelReference()) {
            known.remove(Integer.valueOf(Elf.NT_FILE));
        }
        if (options.kernelReference()) {
            known.remove(Integer.valueOf(Elf.NT_X86_XSAVE_LAYOUT));
            // written by the kernel for a thread in a state the images do not record
            known.remove(Integer.valueOf(Elf.NT_S390_TDB));
            // and those it writes only for threads that used the state, where some thread did not
            Optional<Arch> arch = Arch.forMachine(expected.machine(), expected.elfClass());
            for (int type : NOTE_NAMES.keySet()) {
                if (arch.isPresent() && arch.get().writtenOnlyOnceUsed(type)
                        && count(expected, type) != count(actual, type)) {
                    known.remove(Integer.valueOf(type));
                }
            }
        }
        List<Integer> w = expected.notes().stream().map(NoteEntry::type).filter(known::contains).toList();
        List<Integer> g = actual.notes().stream().map(NoteEntry::type).filter(known::contains).toList();
        if (!w.equals(g)) {
            say("note order %s, expected %s", names(g), names(w));
        }
    }

    private static String names(List<Integer> types) {
        return String.join(" ", types.stream().map(CoreDiff::noteName).toList());
    }

    private static long count(CoreFile core, int type) {
        return core.notes().stream().filter(n -> n.type() == type).count();
    }

    /** The bytes of a note, to read in the byte order of the cores (the header check makes them agree). */
    private ByteBuffer ordered(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(expected.byteOrder());
    }

    private static long word(ByteBuffer b, int offset, int word) {
        return word == 8 ? b.getLong(offset) : Integer.toUnsignedLong(b.getInt(offset));
    }

    private static String cString(byte[] bytes, int offset, int max) {
        int end = offset;
        while (end < Math.min(bytes.length, offset + max) && bytes[end] != 0) {
            end++;
        }
        return new String(bytes, offset, end - offset, StandardCharsets.ISO_8859_1);
    }
}
