package org.criu2core.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Java stacks of the real JVM of ../shared/checkpoints/jvm, read by the JDK's jhsdb. */
class JavaStacksTest {
    /** The release of the case's libjvm.so (OpenJDK 17.0.21.1 of Debian, says its README). */
    private static final String JVM_RELEASE = "17.0.21.1+2-1-deb12u1-Debian";
    private static final String LIBJVM = "usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so";
    private static final int PID = 18975;
    /** The thread that runs Java's main (jstack's nid=0x4a25); the launcher's own waits for it. */
    private static final int JAVA_MAIN_TID = 0x4a25;

    @TempDir
    Path tmp;

    @Test
    void theReleaseIsTheOneHotSpotBuiltIntoLibjvm() throws Exception {
        Path jvm = Fixtures.sharedCase("checkpoints", "jvm");
        try (var channel = FileChannel.open(jvm.resolve("root").resolve(LIBJVM), StandardOpenOption.READ)) {
            assertEquals(Optional.of(JVM_RELEASE), HotSpot.release(channel));
        }
        // the JVM running this test names the same release in its libjvm.so as it reports
        Path own = Path.of(System.getProperty("java.home"), "lib/server/libjvm.so");
        Assumptions.assumeTrue(Files.isRegularFile(own), "skipped: this JVM has no lib/server/libjvm.so");
        try (var channel = FileChannel.open(own, StandardOpenOption.READ)) {
            assertEquals(Optional.of(System.getProperty("java.vm.version")), HotSpot.release(channel));
        }
    }

    /**
     * What stacks says of the jvm case's Java stacks ({@code process}, from --json): read by a JDK
     * of its release, else by one of its feature release (17) with a note saying so, else a note
     * that there is none here and which are. The run is SharedCasesTest's, on the root of
     * ../shared as it is (its links flattened, where jhsdb may fail to attach: the frames are
     * checked on a root with its links by {@link #theJvmCasesJavaFramesWithThisMachinesJdk17}).
     */
    static void javaStacksOrWhyNot(JsonNode process) {
        var installed = HotSpot.installed();
        List<String> notes = new ArrayList<>();
        process.get("notes").forEach(n -> notes.add(n.asText()));
        var exact = installed.stream().filter(j -> j.release().equals(JVM_RELEASE)).findFirst();
        var feature = HotSpot.sameFeature(installed, JVM_RELEASE);
        if (exact.isPresent() || feature.isPresent()) {
            var jdk = exact.orElse(feature.orElseThrow());
            assertEquals("jhsdb jstack of " + jdk.home() + " (" + jdk.release() + ")", process.get("java").asText());
            assertEquals(exact.isEmpty(), notes.contains(sameFeatureNote(jdk)), notes.toString());
            return;
        }
        String line = notes.stream().filter(l -> l.contains("Java stacks:")).findFirst().orElse("");
        assertTrue(line.startsWith("Java stacks: none: the JVM is HotSpot " + JVM_RELEASE + " and jhsdb must be of"
                + " that same release, or at least of its feature release; no JDK here is ("), notes.toString());
        for (var jdk : installed) {
            assertTrue(line.contains(jdk.home() + " is " + jdk.release()), line);
        }
        assertTrue(line.endsWith("Install JDK " + JVM_RELEASE + " (with jhsdb) or name one with --jdk DIR"), line);
        assertTrue(process.get("java").isNull(), process.toString());
        process.get("threads").forEach(t -> assertTrue(t.get("java").isNull(), t.toString()));
    }

    private static String sameFeatureNote(HotSpot.Jdk jdk) {
        return "Java stacks: no JDK of the JVM's release HotSpot " + JVM_RELEASE + " is here; read with " + jdk.home()
                + " (" + jdk.release() + "), of the same feature release 17, with the serviceability agent's version"
                + " check off (install JDK " + JVM_RELEASE + " or name one with --jdk DIR for an exact reading)";
    }

    /**
     * Without --jdk, the jvm case (HotSpot 17.0.21.1) is read by this machine's JDK 17 of
     * another update, with the agent's version check off: the Java stacks are line for line what
     * that jhsdb prints, so set, on the kernel's own core.
     */
    @Test
    void theJvmCasesJavaFramesWithThisMachinesJdk17() throws Exception {
        Path jvm = Fixtures.sharedCase("checkpoints", "jvm");
        var installed = HotSpot.installed();
        var exact = installed.stream().filter(j -> j.release().equals(JVM_RELEASE)).findFirst();
        var jdk = exact.or(() -> HotSpot.sameFeature(installed, JVM_RELEASE));
        Assumptions.assumeTrue(jdk.isPresent(), "skipped: no JDK 17 with jhsdb under JAVA_HOME or /usr/lib/jvm "
                + "(found: " + installed + ")");
        Path root = rootWithLinks(jvm.resolve("root"), tmp.resolve("root"));
        var run = KernelCores.cli("stacks", jvm.resolve("images").toString(), "--root", root.toString(), "--json",
                "--cache-dir", tmp.resolve("cache").toString());
        assertEquals(0, run.status(), run.err());
        JsonNode process = new ObjectMapper().readTree(run.out()).get("processes").get(0);
        assertEquals("jhsdb jstack of " + jdk.get().home() + " (" + jdk.get().release() + ")", process.get("java").asText());
        List<String> notes = new ArrayList<>();
        process.get("notes").forEach(n -> notes.add(n.asText()));
        assertEquals(exact.isPresent() ? List.of() : List.of(sameFeatureNote(jdk.get())), notes);

        Path exe = root.resolve("usr/lib/jvm/java-17-openjdk-amd64/bin/java");
        List<String> kernel = jstack(jdk.get().home(), KernelCores.unpack(jvm, PID, tmp), exe, root, exact.isPresent());
        assertTrue(kernel.contains(" - Idle.main(java.lang.String[]) @bci=138, line=26 (Interpreted frame)"),
                String.join("\n", kernel));
        assertEquals(threadLines(kernel), shownLines(process));
        JsonNode main = null;
        for (JsonNode thread : process.get("threads")) {
            if (thread.get("tid").asInt() == JAVA_MAIN_TID) {
                main = thread.get("java");
            }
        }
        assertEquals("main", main.get("name").asText());
        assertEquals("Idle.main(java.lang.String[])", main.get("frames").get(3).get("method").asText());
        assertEquals(26, main.get("frames").get(3).get("line").asInt());
    }

    /**
     * With a JDK named by --jdk, Java stacks are what that JDK's jhsdb prints on the kernel's own
     * core: line for line. This machine's JDK 17 is of another release than the JVM's; its
     * agent reads it with its version check off, as stacks runs it.
     */
    @Test
    void javaStacksAreWhatJhsdbPrintsOnTheKernelsCore() throws Exception {
        Path jvm = Fixtures.sharedCase("checkpoints", "jvm");
        Path jdk = Path.of(System.getProperty("java.home"));
        Assumptions.assumeTrue(Files.isExecutable(jdk.resolve("bin/jhsdb")), "skipped: " + jdk + " has no jhsdb");
        Path root = rootWithLinks(jvm.resolve("root"), tmp.resolve("root"));
        var run = KernelCores.cli("stacks", jvm.resolve("images").toString(), "--root", root.toString(), "--json",
                "--jdk", jdk.toString(), "--cache-dir", tmp.resolve("cache").toString(), "--no-mount");
        assertEquals(0, run.status(), run.err());
        JsonNode process = new ObjectMapper().readTree(run.out()).get("processes").get(0);
        Path exe = root.resolve("usr/lib/jvm/java-17-openjdk-amd64/bin/java");
        List<String> kernel = jstack(jdk, KernelCores.unpack(jvm, PID, tmp), exe, root, false);
        List<String> ours = jstack(jdk, Path.of(process.get("core").asText()), exe, root, false);
        assertTrue(kernel.size() > 80 && kernel.contains(" - Idle.main(java.lang.String[]) @bci=138, line=26 (Interpreted frame)"),
                String.join("\n", kernel));
        assertEquals(kernel, ours);

        assertEquals(threadLines(kernel), shownLines(process));
    }

    /** The lines of jstack's threads, from the first thread on, blank ones left out, sorted. */
    private static List<String> threadLines(List<String> jstack) {
        return jstack.subList(jstack.indexOf(jstack.stream().filter(l -> l.startsWith("\"")).findFirst().orElseThrow()),
                jstack.size()).stream().filter(l -> !l.isBlank()).sorted().toList();
    }

    /** The lines stacks shows of each thread's Java stack, blank ones left out, sorted. */
    private static List<String> shownLines(JsonNode process) {
        List<String> shown = new ArrayList<>();
        for (JsonNode thread : process.get("threads")) {
            if (!thread.get("java").isNull()) {
                thread.get("java").get("lines").forEach(l -> shown.add(l.asText()));
            }
        }
        return shown.stream().filter(l -> !l.isBlank()).sorted().toList();
    }

    /** jhsdb jstack's output without the line naming the core; with the agent's version check or without. */
    private static List<String> jstack(Path jdk, Path core, Path exe, Path root, boolean versionCheck) throws Exception {
        List<String> command = new ArrayList<>(List.of(jdk.resolve("bin/jhsdb").toString()));
        if (!versionCheck) {
            command.add("-J-Dsun.jvm.hotspot.runtime.VM.disableVersionCheck=true");
        }
        command.addAll(List.of("jstack", "--core", core.toString(), "--exe", exe.toString()));
        var pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("SA_ALTROOT", root.toAbsolutePath().toString());
        var p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out.lines().filter(l -> !l.startsWith("Attaching to core")).toList();
    }

    /**
     * A copy of the root with its links as links. ../shared keeps each symbolic link of a root as a
     * small file holding the link's target (lib -> usr/lib); jhsdb's SA_ALTROOT walk needs them
     * as links to find the dynamic linker, so those become links again.
     */
    static Path rootWithLinks(Path shared, Path into) throws IOException {
        Path from = shared.toAbsolutePath();
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : files.toList()) {
                Path target = into.resolve(from.relativize(p).toString());
                if (Files.isSymbolicLink(p)) {
                    Files.createSymbolicLink(target, Files.readSymbolicLink(p));
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectories(target);
                } else {
                    String link = Files.size(p) < 256 ? Files.readString(p, StandardCharsets.ISO_8859_1).strip() : "";
                    boolean flattened = !link.isEmpty() && !link.startsWith("/") && link.matches("[\\x21-\\x7e]+")
                            && Files.exists(p.getParent().resolve(link));
                    if (flattened) {
                        Files.createSymbolicLink(target, Path.of(link));
                    } else {
                        Files.copy(p, target); // a copy, not a link: --root reads nothing outside itself
                    }
                }
            }
        }
        return into;
    }
}
