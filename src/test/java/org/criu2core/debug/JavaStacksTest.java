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
     * What stacks says of the jvm case's Java stacks ({@code process}, from --json): the JVM's
     * Java stacks with a JDK of its release, or that there is none here and which are. The run is
     * SharedCasesTest's, which also checks the case's native stacks.
     */
    static void javaStacksOrWhyNot(JsonNode process) {
        var installed = HotSpot.installed();
        if (installed.stream().anyMatch(j -> j.release().equals(JVM_RELEASE))) {
            assertTrue(process.toString().contains("Idle.main(java.lang.String[])"), process.toString());
            return;
        }
        List<String> notes = new ArrayList<>();
        process.get("notes").forEach(n -> notes.add(n.asText()));
        String line = notes.stream().filter(l -> l.contains("Java stacks:")).findFirst().orElse("");
        assertTrue(line.startsWith("Java stacks: none: the JVM is HotSpot " + JVM_RELEASE + " and jhsdb must be of"
                + " that same release; no JDK here is ("), notes.toString());
        for (var jdk : installed) {
            assertTrue(line.contains(jdk.home() + " is " + jdk.release()), line);
        }
        assertTrue(line.endsWith("Install JDK " + JVM_RELEASE + " (with jhsdb) or name one with --jdk DIR"), line);
        assertTrue(process.get("java").isNull(), process.toString());
        process.get("threads").forEach(t -> assertTrue(t.get("java").isNull(), t.toString()));
    }

    /**
     * With a JDK named by --jdk, Java stacks are what that JDK's jhsdb prints on the kernel's own
     * core: line for line. This machine's JDK 17 is of another release than the JVM's; its
     * jhsdb only warns about that and reads this VM's structures all the same.
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
        List<String> kernel = jstack(jdk, KernelCores.unpack(jvm, PID, tmp), exe, root);
        List<String> ours = jstack(jdk, Path.of(process.get("core").asText()), exe, root);
        assertTrue(kernel.size() > 80 && kernel.contains(" - Idle.main(java.lang.String[]) @bci=138, line=26 (Interpreted frame)"),
                String.join("\n", kernel));
        assertEquals(kernel, ours);

        List<String> shown = new ArrayList<>();
        int javaThreads = 0;
        for (JsonNode thread : process.get("threads")) {
            if (!thread.get("java").isNull()) {
                javaThreads++;
                thread.get("java").get("lines").forEach(l -> shown.add(l.asText()));
            }
        }
        assertEquals(kernel.stream().filter(l -> l.startsWith("\"")).count(), javaThreads, run.out());
        List<String> kernelThreadLines = kernel.subList(kernel.indexOf(kernel.stream().filter(l -> l.startsWith("\""))
                .findFirst().orElseThrow()), kernel.size()).stream().filter(l -> !l.isBlank()).toList();
        assertEquals(kernelThreadLines.stream().sorted().toList(), shown.stream().filter(l -> !l.isBlank()).sorted().toList());
    }

    /** jhsdb jstack's output without the line naming the core. */
    private static List<String> jstack(Path jdk, Path core, Path exe, Path root) throws Exception {
        var pb = new ProcessBuilder(jdk.resolve("bin/jhsdb").toString(), "jstack", "--core", core.toString(), "--exe",
                exe.toString()).redirectError(ProcessBuilder.Redirect.DISCARD);
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
