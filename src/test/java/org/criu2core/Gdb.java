package org.criu2core;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.criu2core.elf.Elf;
import org.junit.jupiter.api.Assumptions;

/** Runs gdb in batch mode on a core, as a user would, and reads what it prints. */
public final class Gdb {
    private static final Pattern THREAD = Pattern.compile("^Thread \\d+ \\(.*?LWP (\\d+)\\)");
    private static final Pattern FRAME = Pattern.compile("^#\\d+\\s+(?:0x[0-9a-f]+ in )?(\\S+) \\(");

    private Gdb() {
    }

    /** gdb for x86 cores, gdb-multiarch for the others; the test is skipped, saying so, without it. */
    public static String command(int machine) {
        String gdb = machine == Elf.EM_X86_64 || machine == Elf.EM_386 ? "gdb" : "gdb-multiarch";
        Assumptions.assumeTrue(onPath(gdb), "skipped: " + gdb + " is not installed (.ci/run installs it)");
        return gdb;
    }

    private static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Path.of(dir, program).toFile().canExecute()) {
                return true;
            }
        }
        return false;
    }

    /** Output of gdb loading {@code exe} (may be null) and {@code core}, then running {@code commands}. */
    public static String run(int machine, Path sysroot, Path exe, Path core, String... commands) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(command(machine), "-nx", "-batch",
                "-ex", "set pagination off", "-ex", "set width 0", "-ex", "set confirm off"));
        if (sysroot != null) {
            cmd.addAll(List.of("-ex", "set sysroot " + sysroot.toAbsolutePath()));
        }
        if (exe != null) {
            cmd.addAll(List.of("-ex", "file " + exe.toAbsolutePath()));
        }
        cmd.addAll(List.of("-ex", "core " + core.toAbsolutePath()));
        for (String c : commands) {
            cmd.addAll(List.of("-ex", c));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("gdb did not finish in 300 s");
            }
        } catch (InterruptedException e) {
            java.lang.Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    /** {LWP: the lines gdb printed for it} from the output of `thread apply all CMD`. */
    private static Map<Integer, List<String>> byThread(String output) {
        Map<Integer, List<String>> threads = new LinkedHashMap<>();
        List<String> current = null;
        for (String line : output.split("\n")) {
            Matcher t = THREAD.matcher(line);
            if (t.find()) {
                current = threads.computeIfAbsent(Integer.parseInt(t.group(1)), k -> new ArrayList<>());
            } else if (current != null && !line.isBlank()) {
                current.add(line);
            }
        }
        return threads;
    }

    /** {LWP: function names of its frames} from `thread apply all bt`. */
    public static Map<Integer, List<String>> backtraces(String output) {
        Map<Integer, List<String>> frames = new LinkedHashMap<>();
        byThread(output).forEach((lwp, lines) -> frames.put(lwp, lines.stream().map(FRAME::matcher)
                .filter(Matcher::find).map(m -> m.group(1)).toList()));
        return frames;
    }

    /** {LWP: register lines, blanks folded} from `thread apply all info all-registers`. */
    public static Map<Integer, List<String>> registersByThread(String output) {
        Map<Integer, List<String>> registers = new LinkedHashMap<>();
        byThread(output).forEach((lwp, lines) -> registers.put(lwp, lines.stream()
                .map(l -> String.join(" ", l.trim().split("\\s+"))).toList()));
        return registers;
    }

    /** Lines of gdb's output that are warnings. */
    public static List<String> warnings(String output) {
        return output.lines().filter(l -> l.toLowerCase().contains("warning:")).map(String::strip).toList();
    }

    /** The values gdb printed for `print` commands, in order. */
    public static List<String> values(String output) {
        List<String> values = new ArrayList<>();
        Matcher m = Pattern.compile("^\\$\\d+ = (.*)$", Pattern.MULTILINE).matcher(output);
        while (m.find()) {
            values.add(m.group(1));
        }
        return values;
    }
}
