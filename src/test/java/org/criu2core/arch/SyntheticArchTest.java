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
 * The synthetic aarch64, armv7l and riscv64 checkpoints of fixtures/synthetic, kept as JSON and
 * encoded here with `criu2core encode`, converted on this host and read back with gdb-multiarch:
 * every register of every thread, memory, auxv, mappings, threads, as the JSON says they are.
 */
class SyntheticArchTest {
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

    /** What gdb must show for one architecture: its registers as gdb names them, from the JSON. */
    private record Expected(int machine, String threadInfo, String vectorCommand, String extra) {
        /** gdb register name to the value in the thread's JSON thread_info. */
        Map<String, String> registers(JsonNode ti) {
            Map<String, String> out = new HashMap<>();
            JsonNode g = ti.get("gpregs");
            switch (threadInfo) {
                case "ti_aarch64" -> {
                    for (int r = 0; r < 31; r++) {
                        out.put("x" + r, hex(g.get("regs").get(r)));
                    }
                    out.put("sp", hex(g.get("sp")));
                    out.put("pc", hex(g.get("pc")));
                    out.put("cpsr", hex(g.get("pstate")));
                    out.put("fpsr", hex(ti.get("fpsimd").get("fpsr")));
                    out.put("fpcr", hex(ti.get("fpsimd").get("fpcr")));
                    out.put("tpidr", hex(ti.get("tls")));
                    JsonNode v = ti.get("fpsimd").get("vregs");
                    for (int r = 0; r < 32; r++) {
                        out.put("v" + r, "{" + hex(v.get(2 * r)) + ", " + hex(v.get(2 * r + 1)) + "}");
                    }
                }
                case "ti_arm" -> {
                    String[] names = {"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "fp", "ip",
                            "sp", "lr", "pc", "cpsr"};
                    for (String n : names) {
                        out.put(n.equals("fp") ? "r11" : n.equals("ip") ? "r12" : n, hex(g.get(n)));
                    }
                    out.put("fpscr", hex(ti.get("fpstate").get("fpscr")));
                    for (int r = 0; r < 32; r++) {
                        out.put("d" + r, hex(ti.get("fpstate").get("vfp_regs").get(r)));
                    }
                }
                default -> {
                    g.fieldNames().forEachRemaining(n -> out.put(n.equals("s0") ? "fp" : n, hex(g.get(n))));
                    out.put("fcsr", hex(ti.get("fpsimd").get("fcsr")));
                    for (int r = 0; r < 32; r++) {
                        out.put("f" + r, "{float = 0x" + Long.toHexString(ti.get("fpsimd").get("f").get(r).asLong()
                                & 0xffff_ffffL) + ", double = " + hex(ti.get("fpsimd").get("f").get(r)) + "}");
                    }
                }
            }
            return out;
        }
    }

    private static final Map<String, Expected> EXPECTED = Map.of(
            "aarch64", new Expected(Elf.EM_AARCH64, "ti_aarch64", "output/x $v%d.d.u", "info registers tpidr"),
            "armv7l", new Expected(Elf.EM_ARM, "ti_arm", "output/x $d%d", "info registers fpscr"),
            "riscv64", new Expected(Elf.EM_RISCV, "ti_riscv64", "output/x $f%d", "info registers fcsr"));

    @ParameterizedTest
    @ValueSource(strings = {"aarch64", "armv7l", "riscv64"})
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
        Expected expected = EXPECTED.get(arch);
        int machine = expected.machine();
        Path core = out.resolve("core." + pid);

        List<String> commands = new ArrayList<>(List.of("info threads"));
        for (int t = 0; t < tids.size(); t++) {
            commands.addAll(List.of("thread " + (t + 1), "echo @@THREAD\\n", "info registers"));
            String letter = expected.vectorCommand().replaceAll(".*\\$([a-z]).*", "$1");
            for (int v = 0; v < 32; v++) {
                commands.add("echo " + letter + v + "=");
                commands.add(String.format(expected.vectorCommand(), v));
                commands.add("echo \\n");
            }
            commands.add(expected.extra());
        }
        String gdb = Gdb.run(machine, null, null, core, commands.toArray(String[]::new));
        for (int tid : tids) {
            assertTrue(gdb.contains("LWP " + tid), gdb);
        }
        assertEquals(List.of(), Gdb.warnings(gdb).stream().filter(w -> !w.contains("absent-app")).toList(),
                "no warning but the missing executable's");
        List<Map<String, String>> threads = registers(gdb);
        assertEquals(tids.size(), threads.size(), gdb);
        for (int t = 0; t < tids.size(); t++) {
            int tid = tids.get(t);
            JsonNode ti = entry(arch, "core-" + tid + ".json").get(expected.threadInfo());
            Map<String, String> shown = threads.get(t);
            expected.registers(ti).forEach((name, value) ->
                    assertEquals(value, shown.get(name), arch + " thread " + tid + " " + name));
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
                + "0 cores written (0 bytes), 0 skipped, 1 failed, 0 warnings; mapped files read under "
                + tmp.toRealPath() + "\n", run.err());
    }
}
