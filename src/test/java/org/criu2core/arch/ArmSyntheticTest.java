package org.criu2core.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.criu2core.Fixtures;
import org.criu2core.Gdb;
import org.criu2core.KernelCores;
import org.criu2core.elf.Elf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The synthetic aarch64 and armv7l checkpoints of fixtures/synthetic, kept as JSON and encoded
 * here with `criu2core encode`, converted on this host and read back with gdb-multiarch: every
 * register of every thread, memory, auxv, mappings, threads, as the JSON says they are.
 */
class ArmSyntheticTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private Path images(String arch) throws Exception {
        return Fixtures.encodeSynthetic(arch, tmp.resolve("images-" + arch));
    }

    private static JsonNode entry(String arch, String image) throws Exception {
        return JSON.readTree(Fixtures.ROOT.resolve("synthetic").resolve(arch).resolve(image).toFile())
                .get("entries").get(0);
    }

    private static String hex(JsonNode value) {
        BigInteger n = value.isTextual() ? new BigInteger(value.asText().substring(2), 16) : value.bigIntegerValue();
        return "0x" + n.toString(16);
    }

    /**
     * Each thread's block of gdb output (after an "@@THREAD" line): register name to value, the
     * hex column of `info registers` or what follows "NAME=" of an `output` line.
     */
    private static List<Map<String, String>> registers(String output) {
        List<Map<String, String>> threads = new ArrayList<>();
        String[] blocks = output.split("@@THREAD\n");
        for (int b = 1; b < blocks.length; b++) {
            Map<String, String> regs = new HashMap<>();
            for (String line : blocks[b].split("\n")) {
                int eq = line.indexOf('=');
                if (eq > 0 && line.substring(0, eq).matches("[a-z]+\\d*")) {
                    regs.put(line.substring(0, eq), line.substring(eq + 1).strip());
                    continue;
                }
                String[] f = line.trim().split("\\s+", 2);
                if (f.length < 2) {
                    continue;
                }
                if (f[1].startsWith("0x")) {
                    regs.put(f[0], f[1].split("\\s+")[0]);
                }
            }
            threads.add(regs);
        }
        return threads;
    }

    @ParameterizedTest
    @ValueSource(strings = {"aarch64", "armv7l"})
    void gdbMultiarchSeesEveryRegisterMemoryAndAuxv(String arch) throws Exception {
        Path out = tmp.resolve("out");
        var run = KernelCores.cli("convert", "-D", images(arch).toString(), "-o", out.toString(), "--root",
                tmp.toString());
        assertEquals(0, run.status(), run.err());
        assertTrue(run.err().contains("warning: /usr/bin/absent-app is not under"), run.err());
        JsonNode pstree = entry(arch, "pstree.json");
        int pid = pstree.get("pid").asInt();
        List<Integer> tids = new ArrayList<>();
        pstree.get("threads").forEach(t -> tids.add(t.asInt()));
        boolean a64 = arch.equals("aarch64");
        int machine = a64 ? Elf.EM_AARCH64 : Elf.EM_ARM;
        Path core = out.resolve("core." + pid);

        List<String> commands = new ArrayList<>(List.of("info threads"));
        for (int t = 0; t < tids.size(); t++) {
            commands.addAll(List.of("thread " + (t + 1), "echo @@THREAD\\n", "info registers"));
            for (int v = 0; v < 32; v++) {
                commands.add(a64 ? "echo v" + v + "=" : "echo d" + v + "=");
                commands.add(a64 ? "output/x $v" + v + ".d.u" : "output/x $d" + v);
                commands.add("echo \\n");
            }
            commands.add(a64 ? "info registers tpidr" : "info registers fpscr");
        }
        String gdb = Gdb.run(machine, null, null, core, commands.toArray(String[]::new));
        for (int tid : tids) {
            assertTrue(gdb.contains("LWP " + tid), gdb);
        }
        List<Map<String, String>> threads = registers(gdb);
        assertEquals(tids.size(), threads.size(), gdb);
        for (int t = 0; t < tids.size(); t++) {
            JsonNode ti = entry(arch, "core-" + tids.get(t) + ".json").get(a64 ? "ti_aarch64" : "ti_arm");
            Map<String, String> regs = threads.get(t);
            JsonNode g = ti.get("gpregs");
            if (a64) {
                for (int r = 0; r < 31; r++) {
                    assertEquals(hex(g.get("regs").get(r)), regs.get("x" + r), "thread " + t + " x" + r);
                }
                assertEquals(hex(g.get("sp")), regs.get("sp"));
                assertEquals(hex(g.get("pc")), regs.get("pc"));
                assertEquals(hex(g.get("pstate")), regs.get("cpsr"));
                assertEquals(hex(ti.get("fpsimd").get("fpsr")), regs.get("fpsr"));
                assertEquals(hex(ti.get("fpsimd").get("fpcr")), regs.get("fpcr"));
                assertEquals(hex(ti.get("tls")), regs.get("tpidr"));
                JsonNode v = ti.get("fpsimd").get("vregs");
                for (int r = 0; r < 32; r++) {
                    assertEquals("{" + hex(v.get(2 * r)) + ", " + hex(v.get(2 * r + 1)) + "}", regs.get("v" + r),
                            "thread " + t + " v" + r);
                }
            } else {
                String[] names = {"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "fp", "ip",
                        "sp", "lr", "pc", "cpsr"};
                String[] gdbNames = {"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11",
                        "r12", "sp", "lr", "pc", "cpsr"};
                for (int r = 0; r < names.length; r++) {
                    assertEquals(hex(g.get(names[r])), regs.get(gdbNames[r]), "thread " + t + " " + names[r]);
                }
                assertEquals(hex(ti.get("fpstate").get("fpscr")), regs.get("fpscr"));
                JsonNode d = ti.get("fpstate").get("vfp_regs");
                for (int r = 0; r < 32; r++) {
                    assertEquals(hex(d.get(r)), regs.get("d" + r), "thread " + t + " d" + r);
                }
            }
        }

        JsonNode mm = entry(arch, "mm-" + pid + ".json");
        long argsPage = Long.decode(mm.get("mm_arg_start").asText()) & ~0xfffL;
        String memory = Gdb.run(machine, null, null, core, "x/s 0x410000", "x/s 0x411000",
                "x/s 0x" + Long.toHexString(argsPage), "info auxv", "info proc mappings");
        assertTrue(memory.contains("\"CRIU2CORE-SYNTH-STACK-" + arch + "\""), memory);
        assertTrue(memory.contains("\"CRIU2CORE-SYNTH-DATA-" + arch + "\""), memory);
        assertTrue(memory.contains("\"CRIU2CORE-SYNTH-DATA2-" + arch + "\""), memory);
        assertTrue(memory.contains("Core was generated by `/usr/bin/absent-app alpha beta'"), memory);
        JsonNode auxv = mm.get("mm_saved_auxv");
        for (int i = 0; i < auxv.size(); i += 2) {
            long type = auxv.get(i).asLong();
            long value = auxv.get(i + 1).asLong();
            assertTrue(memory.lines().anyMatch(l -> l.startsWith(type + " ")
                    && (l.contains("0x" + Long.toHexString(value)) || l.contains(" " + value))), "auxv " + type + "\n" + memory);
        }
        assertTrue(memory.lines().anyMatch(l -> l.startsWith("0    AT_NULL")), memory);
        assertTrue(memory.lines().anyMatch(l -> l.contains("0x400000") && l.contains("/usr/bin/absent-app")), memory);
    }

    @Test
    void threadsOfDifferentArchitecturesAreAnError() throws Exception {
        Path images = images("aarch64");
        Path arm = images("armv7l");
        Files.copy(arm.resolve("core-311.img"), images.resolve("core-301.img"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        var run = KernelCores.cli("convert", "-D", images.toString(), "-o", tmp.resolve("out").toString(),
                "--root", tmp.toString());
        assertEquals(1, run.status());
        assertEquals("criu2core: " + images.resolve("core-300.img")
                + ": thread 301 is armv7l while thread 300 is aarch64\n"
                + "0 cores written (0 bytes), 0 skipped, 1 failed, 0 warnings\n", run.err());
    }
}
