package org.criu2core.debug;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Java stacks of a HotSpot JVM, read from its core by the JDK's own serviceability agent
 * ({@code jhsdb jstack --core}), which must be of the same version as the target's libjvm.so:
 * the agent reads the VM's data structures with the offsets of its own build.
 */
public final class HotSpot {
    /** Where Debian, Ubuntu, Fedora and most JDK packages install JDKs. */
    static final Path JVM_DIR = Path.of("/usr/lib/jvm");
    /**
     * HotSpot's vm info string, built from literals into every libjvm.so
     * (Abstract_VM_Version::internal_vm_info_string): "NAME VM (RELEASE) for OS-ARCH JRE
     * (VERSION), built on ...". RELEASE is what the agent compares with its own.
     */
    private static final Pattern VM_INFO = Pattern.compile("^(.* VM) \\(([^()]+)\\) for \\S+ JRE \\(([^()]+)\\), built on ");
    private static final byte[] BUILT_ON = "), built on ".getBytes(StandardCharsets.US_ASCII);
    private static final Pattern THREAD = Pattern.compile("^\"(.*)\" .*\\bnid=(0x[0-9a-fA-F]+|\\d+)");
    private static final Pattern FRAME = Pattern.compile("^ - (.+?)(?: @bci=(\\d+))?(?:, line=(-?\\d+))?(?: \\((.+)\\))?$");
    private static final long TIMEOUT_SECONDS = 300;
    private static final Pattern VERSION_NUMBERS = Pattern.compile("^\\d+(?:\\.\\d+)*");

    private HotSpot() {
    }

    /** A JDK that has jhsdb, and the release of its libjvm.so. */
    public record Jdk(Path home, String release) {
    }

    /** A Java frame as jstack prints it: method, bytecode index, source line, kind of frame. */
    public record JavaFrame(String method, Integer bci, Integer line, String kind) {
    }

    /** A Java thread: its name, Thread.State, frames, and jstack's lines for it as printed. */
    public record JavaThread(String name, String state, List<JavaFrame> frames, List<String> lines) {
    }

    /** What jhsdb printed: Java threads by native thread id, or why there are none. */
    public record Result(Jdk jdk, Map<Integer, JavaThread> threads, String problem) {
    }

    /** The path of the libjvm.so a process mapped, if it runs HotSpot. */
    public static Optional<String> libjvm(ProcessFacts process) {
        return process.mappedFiles().stream().filter(f -> f.endsWith("/libjvm.so")).findFirst();
    }

    /** The VM release HotSpot built into a libjvm.so, e.g. 17.0.15+6-Debian-1deb12u1. */
    public static Optional<String> release(FileChannel libjvm) throws IOException {
        long size = libjvm.size();
        if (size > Integer.MAX_VALUE) {
            return Optional.empty();
        }
        ByteBuffer file = libjvm.map(FileChannel.MapMode.READ_ONLY, 0, size);
        for (int i = 0; i + BUILT_ON.length <= file.limit(); i++) {
            if (!matchesAt(file, i, BUILT_ON)) {
                continue;
            }
            int start = i;
            while (start > 0 && file.get(start - 1) != 0 && i - start < 512) {
                start--;
            }
            byte[] text = new byte[i + BUILT_ON.length - start];
            file.get(start, text);
            Matcher m = VM_INFO.matcher(new String(text, StandardCharsets.ISO_8859_1));
            if (m.find()) {
                return Optional.of(m.group(2));
            }
        }
        return Optional.empty();
    }

    private static boolean matchesAt(ByteBuffer b, int at, byte[] pattern) {
        for (int k = 0; k < pattern.length; k++) {
            if (b.get(at + k) != pattern[k]) {
                return false;
            }
        }
        return true;
    }

    /** The JDK in {@code home}, when it has jhsdb and a libjvm.so that names its release. */
    public static Optional<Jdk> jdk(Path home) {
        Path jhsdb = home.resolve("bin/jhsdb");
        Path libjvm = home.resolve("lib/server/libjvm.so");
        if (!Files.isExecutable(jhsdb) || !Files.isRegularFile(libjvm)) {
            return Optional.empty();
        }
        try (var channel = FileChannel.open(libjvm, StandardOpenOption.READ)) {
            return release(channel).map(r -> new Jdk(home, r));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The JDKs with jhsdb: {@code JAVA_HOME} first, then those under /usr/lib/jvm, each once. */
    public static List<Jdk> installed() {
        Map<Path, Jdk> found = new LinkedHashMap<>();
        List<Path> homes = new ArrayList<>();
        String javaHome = System.getenv("JAVA_HOME");
        if (javaHome != null && !javaHome.isEmpty()) {
            homes.add(Path.of(javaHome));
        }
        homes.add(Path.of(System.getProperty("java.home")));
        if (Files.isDirectory(JVM_DIR)) {
            try (Stream<Path> dirs = Files.list(JVM_DIR)) {
                dirs.sorted().forEach(homes::add);
            } catch (IOException e) {
                // an unreadable /usr/lib/jvm has no JDK for us
            }
        }
        for (Path home : homes) {
            try {
                Path real = home.toRealPath();
                if (!found.containsKey(real)) {
                    jdk(real).ifPresent(j -> found.put(real, j));
                }
            } catch (IOException e) {
                // a dangling link
            }
        }
        return List.copyOf(found.values());
    }

    /**
     * The serviceability agent's switch for its own check that the target is of its release: with
     * it, an agent of another update of the same feature release reads the target (the
     * structures it reads change between feature releases, seldom between updates).
     */
    static final String NO_VERSION_CHECK = "-J-Dsun.jvm.hotspot.runtime.VM.disableVersionCheck=true";

    /** The numbers a release starts with: 17, 0, 21, 1 of 17.0.21.1+2-1-deb12u1-Debian. */
    static List<Integer> versionNumbers(String release) {
        Matcher m = VERSION_NUMBERS.matcher(release);
        if (!m.find()) {
            return List.of();
        }
        List<Integer> numbers = new ArrayList<>();
        for (String n : m.group().split("\\.")) {
            try {
                numbers.add(Integer.valueOf(n));
            } catch (NumberFormatException e) {
                break;
            }
        }
        return List.copyOf(numbers);
    }

    /**
     * Of {@code installed}, a JDK of the feature release of {@code target} (17 for 17.0.21.1),
     * the update nearest to the target's first (then the newer); empty when none is.
     */
    static Optional<Jdk> sameFeature(List<Jdk> installed, String target) {
        List<Integer> wanted = versionNumbers(target);
        if (wanted.isEmpty()) {
            return Optional.empty();
        }
        return installed.stream()
                .filter(j -> !versionNumbers(j.release()).isEmpty() && versionNumbers(j.release()).get(0).equals(wanted.get(0)))
                .min(java.util.Comparator.comparingLong((Jdk j) -> distance(versionNumbers(j.release()), wanted))
                        .thenComparing(j -> versionNumbers(j.release()), HotSpot::newerFirst));
    }

    private static long distance(List<Integer> a, List<Integer> b) {
        long d = 0;
        for (int i = 0; i < Math.max(a.size(), b.size()); i++) {
            d = d * 1000 + Math.abs(number(a, i) - number(b, i));
        }
        return d;
    }

    private static int newerFirst(List<Integer> a, List<Integer> b) {
        for (int i = 0; i < Math.max(a.size(), b.size()); i++) {
            int c = Integer.compare(number(b, i), number(a, i));
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    private static int number(List<Integer> v, int i) {
        return i < v.size() ? v.get(i) : 0;
    }

    /**
     * Runs {@code jdk}'s jhsdb jstack on {@code core} of the java launcher {@code exe}, with the
     * root as SA_ALTROOT, where the agent finds the libraries named in the core; without the
     * agent's version check when {@code versionCheck} is false.
     */
    public static Result jstack(Jdk jdk, Path core, Path exe, Path root, boolean versionCheck) throws IOException {
        List<String> command = new ArrayList<>(List.of(jdk.home().resolve("bin/jhsdb").toString()));
        if (!versionCheck) {
            command.add(NO_VERSION_CHECK);
        }
        command.addAll(List.of("jstack", "--core", core.toAbsolutePath().toString(), "--exe",
                exe.toAbsolutePath().toString()));
        var out = Programs.run(command, null, env -> env.put("SA_ALTROOT", root.toAbsolutePath().toString()),
                TIMEOUT_SECONDS, "jhsdb");
        String text = out.text();
        Map<Integer, JavaThread> threads = parse(text);
        if (out.status() != 0 || !text.contains("Debugger attached successfully")) {
            String last = text.lines().filter(l -> l.contains("rror") || l.contains("xception")).findFirst()
                    .orElse(text.lines().reduce((a, b) -> b).orElse("no output"));
            return new Result(jdk, threads, "jhsdb of " + jdk.home() + " failed (exit status " + out.status()
                    + "): " + last.strip());
        }
        return new Result(jdk, threads, null);
    }

    /** jstack's threads by native id (nid), each with its lines up to the next thread. */
    static Map<Integer, JavaThread> parse(String jstack) {
        Map<Integer, JavaThread> threads = new LinkedHashMap<>();
        String name = null;
        int nid = 0;
        String state = null;
        List<JavaFrame> frames = new ArrayList<>();
        List<String> lines = new ArrayList<>();
        for (String line : jstack.split("\n")) {
            Matcher t = THREAD.matcher(line);
            if (t.find()) {
                if (name != null) {
                    threads.put(nid, new JavaThread(name, state, frames, trim(lines)));
                }
                name = t.group(1);
                String id = t.group(2);
                nid = id.startsWith("0x") ? Integer.parseUnsignedInt(id.substring(2), 16) : Integer.parseInt(id);
                state = null;
                frames = new ArrayList<>();
                lines = new ArrayList<>();
                lines.add(line);
                continue;
            }
            if (name == null) {
                continue;
            }
            lines.add(line);
            String stripped = line.strip();
            if (stripped.startsWith("java.lang.Thread.State: ")) {
                state = stripped.substring("java.lang.Thread.State: ".length());
            }
            Matcher f = FRAME.matcher(line);
            if (f.find()) {
                frames.add(new JavaFrame(f.group(1), integer(f.group(2)), integer(f.group(3)), f.group(4)));
            }
        }
        if (name != null) {
            threads.put(nid, new JavaThread(name, state, frames, trim(lines)));
        }
        return threads;
    }

    private static List<String> trim(List<String> lines) {
        int end = lines.size();
        while (end > 0 && lines.get(end - 1).isBlank()) {
            end--;
        }
        return List.copyOf(lines.subList(0, end));
    }

    private static Integer integer(String s) {
        return s == null ? null : Integer.valueOf(s);
    }
}
