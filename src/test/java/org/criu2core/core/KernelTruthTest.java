package org.criu2core.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.criu2core.Fixtures;
import org.criu2core.Gdb;
import org.criu2core.KernelCores;
import org.criu2core.elf.CoreFile;
import org.criu2core.elf.Elf;
import org.criu2core.inspect.CoreDiff;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The real checkpoints, converted from their copies in fixtures/ (or from ../shared), against
 * the cores the kernel wrote for the same processes (../shared): field by field and page by page
 * with our own comparison, then in gdb.
 */
class KernelTruthTest {
    /**
     * gdb's names of the registers whose values CRIU's images do not hold, listed in
     * docs/core-format.md: s390x's orig_gpr2 (CRIU never fills it) and last breaking-event
     * address (not saved), ppc64's trap (CRIU sets it to 0). The images' other registers must show
     * as the kernel's core shows them.
     */
    private static final Map<Integer, Set<String>> NOT_IN_IMAGES = Map.of(
            Elf.EM_S390, Set.of("orig_r2", "last_break"),
            Elf.EM_PPC64, Set.of("trap"));

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"checkpoints/threads", "checkpoints/tree", "checkpoints/compat32",
            "checkpoints/incremental", "checkpoints/manyvmas", "checkpoints/vmakinds",
            "checkpoints-arm/aarch64-threads", "checkpoints-arm/armv7l-threads", "checkpoints-guests/s390x-threads",
            "checkpoints-guests/ppc64le-threads"})
    void coresMatchTheKernels(String groupAndName) throws Exception {
        String name = groupAndName.substring(groupAndName.indexOf('/') + 1);
        Path shared = Fixtures.sharedCase(groupAndName.substring(0, groupAndName.indexOf('/')), name);
        // fixtures/ has copies of the smaller cases; the others are read where they are
        Path copy = Fixtures.ROOT.resolve(groupAndName).resolve("images");
        Path images = java.nio.file.Files.isDirectory(copy) ? copy : shared.resolve("images");
        Path out = tmp.resolve("out");
        var run = KernelCores.cli("convert", "-D", images.toString(), "-o", out.toString(),
                "--root", shared.resolve("root").toString());
        assertEquals(0, run.status(), run.err());
        for (int pid : KernelCores.pids(shared)) {
            Path kernel = KernelCores.unpack(shared, pid, tmp);
            Path ours = out.resolve(Converter.coreName(pid));
            try (var k = CoreFile.open(kernel); var o = CoreFile.open(ours)) {
                var options = CoreDiff.Options.kernel(KernelCores.unknownContents(shared, images, pid));
                assertEquals(List.of(), CoreDiff.compare(k, o, options), "core." + pid + " against the kernel's");
                if (!name.equals("manyvmas")) { // gdb needs minutes to load 70 000 segments twice
                    gdbSeesWhatTheKernelsCoreHolds(shared, pid, kernel, ours, k, options);
                }
            }
        }
    }

    private static void gdbSeesWhatTheKernelsCoreHolds(Path shared, int pid, Path kernel, Path ours, CoreFile k,
                                                       CoreDiff.Options options) throws Exception {
        Path root = shared.resolve("root");
        Path exe = KernelCores.exe(shared, pid);
        String kernelView = Gdb.run(k.machine(), root, exe, kernel, "thread apply all bt");
        String ourView = Gdb.run(k.machine(), root, exe, ours, "thread apply all bt");
        var kernelWarnings = new HashSet<>(Gdb.warnings(kernelView));
        List<String> newWarnings = new ArrayList<>();
        for (String w : Gdb.warnings(ourView)) {
            if (!kernelWarnings.contains(w) || w.contains("reg-xstate")) {
                newWarnings.add(w);
            }
        }
        assertEquals(List.of(), newWarnings, "warnings gdb gives on our core only");
        var backtraces = Gdb.backtraces(kernelView);
        assertTrue(!backtraces.isEmpty(), kernelView);
        assertEquals(backtraces, Gdb.backtraces(ourView));
        if (k.machine() == Elf.EM_X86_64 || k.machine() == Elf.EM_386) {
            try (var o = CoreFile.open(ours)) {
                vectorRegisters(root, exe, ours, k, o);
            }
        } else {
            // every register gdb knows of, per thread, as gdb shows the kernel's core
            String all = "thread apply all info all-registers";
            Set<String> unknown = NOT_IN_IMAGES.getOrDefault(k.machine(), Set.of());
            assertEquals(withoutValues(Gdb.registersByThread(Gdb.run(k.machine(), root, exe, kernel, all)), unknown),
                    withoutValues(Gdb.registersByThread(Gdb.run(k.machine(), root, exe, ours, all)), unknown));
            // memory, the auxiliary vector and the mapped files, as gdb reads them
            String[] reads = gdbReads(k, options);
            String kernelReads = after(Gdb.run(k.machine(), root, exe, kernel, reads));
            assertTrue(kernelReads.contains("AT_PAGESZ"), kernelReads);
            assertEquals(kernelReads, after(Gdb.run(k.machine(), root, exe, ours, reads)));
        }
    }

    /** The register lines, with only the name of those in {@code names}. */
    private static Map<Integer, List<String>> withoutValues(Map<Integer, List<String>> threads, Set<String> names) {
        Map<Integer, List<String>> out = new java.util.LinkedHashMap<>();
        threads.forEach((lwp, lines) -> out.put(lwp, lines.stream()
                .map(l -> names.contains(l.split(" ")[0]) ? l.split(" ")[0] : l).toList()));
        return out;
    }

    private static final String READS = "@@READS";

    /**
     * gdb commands that read the first and last words of each segment the kernel's core carries
     * (but the areas whose contents the images do not hold), the auxiliary vector and the mappings.
     */
    private static String[] gdbReads(CoreFile kernel, CoreDiff.Options options) {
        List<String> commands = new ArrayList<>(List.of("echo " + READS + "\\n", "info auxv", "info proc mappings"));
        for (var s : kernel.loads()) {
            boolean unknown = options.unknownContents().stream()
                    .anyMatch(r -> Long.compareUnsigned(s.vaddr(), r.start()) >= 0
                            && Long.compareUnsigned(s.vaddr(), r.end()) < 0);
            if (s.fileSize() >= 32 && !unknown) {
                commands.add(String.format("x/4xg 0x%x", s.vaddr()));
                commands.add(String.format("x/4xg 0x%x", s.vaddr() + s.fileSize() - 32));
            }
        }
        return commands.toArray(String[]::new);
    }

    /** What gdb printed for the commands after the marker: not the messages of loading the core. */
    private static String after(String output) {
        int at = output.indexOf(READS);
        assertTrue(at >= 0, output);
        return output.substring(at);
    }

    private static int tid(CoreFile core, List<CoreFile.NoteEntry> thread) {
        int word = core.elfClass().word();
        return ByteBuffer.wrap(thread.get(0).desc()).order(core.byteOrder()).getInt(16 + 2 * word);
    }

    /** ymm0-15 (i386: 0-7) and pkru as gdb shows them on our core equal the kernel's saved state. */
    private static void vectorRegisters(Path root, Path exe, Path ours, CoreFile kernel, CoreFile our)
            throws Exception {
        int vectors = kernel.machine() == Elf.EM_X86_64 ? 16 : 8;
        var threads = kernel.threads();
        List<Integer> ourOrder = our.threads().stream().map(t -> tid(our, t)).toList();
        List<String> commands = new ArrayList<>();
        for (int t = 0; t < threads.size(); t++) {
            // gdb numbers a core's threads in the order of their notes
            commands.add("thread " + (ourOrder.indexOf(tid(kernel, threads.get(t))) + 1));
            commands.add("p $_thread");
            for (int r = 0; r < vectors; r++) {
                commands.add("p/x $ymm" + r + ".v8_int32");
            }
            commands.add("p/x $pkru");
        }
        List<String> values = Gdb.values(Gdb.run(kernel.machine(), root, exe, ours, commands.toArray(String[]::new)));
        assertEquals(threads.size() * (vectors + 2), values.size(), "gdb printed every register");
        for (int t = 0; t < threads.size(); t++) {
            byte[] xsave = null;
            for (var n : threads.get(t)) {
                if (n.type() == Elf.NT_X86_XSTATE) {
                    xsave = n.desc();
                }
            }
            if (xsave == null) {
                continue;
            }
            var x = ByteBuffer.wrap(xsave).order(ByteOrder.LITTLE_ENDIAN);
            int ymmOffset = 576;
            int pkruOffset = 2688;
            byte[] layout = kernel.note(Elf.NT_X86_XSAVE_LAYOUT);
            for (int i = 0; layout != null && i + 16 <= layout.length; i += 16) {
                var l = ByteBuffer.wrap(layout).order(ByteOrder.LITTLE_ENDIAN);
                if (l.getInt(i) == 2) {
                    ymmOffset = l.getInt(i + 8);
                } else if (l.getInt(i) == 9) {
                    pkruOffset = l.getInt(i + 8);
                }
            }
            int base = t * (vectors + 2) + 1;
            for (int r = 0; r < vectors; r++) {
                List<String> words = new ArrayList<>();
                for (int w = 0; w < 4; w++) {
                    words.add("0x" + Integer.toHexString(x.getInt(160 + 16 * r + 4 * w)));
                }
                for (int w = 0; w < 4; w++) {
                    words.add("0x" + Integer.toHexString(x.getInt(ymmOffset + 16 * r + 4 * w)));
                }
                assertEquals("{" + String.join(", ", words) + "}", values.get(base + r), "thread " + (t + 1) + " ymm" + r);
            }
            long xcr0 = x.getLong(464);
            if ((xcr0 >> 9 & 1) != 0) {
                assertEquals("0x" + Integer.toHexString(x.getInt(pkruOffset)), values.get(base + vectors),
                        "thread " + (t + 1) + " pkru");
            }
        }
    }
}
