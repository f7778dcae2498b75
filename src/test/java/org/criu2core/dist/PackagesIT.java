package org.criu2core.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.criu2core.Fixtures;
import org.criu2core.core.Converter;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packages `mvn package` makes, installed as a user would and run from the installed files
 * alone, from another directory: the .deb unpacked into a throwaway root, the tarball anywhere.
 * Runs after package (mvn verify).
 */
class PackagesIT {
    private static final Path TARGET = Path.of("target");
    /** A man page per command, and one for criu2core itself. */
    private static final List<String> PAGES = List.of("criu2core", "criu2core-convert", "criu2core-info",
            "criu2core-grep", "criu2core-diff", "criu2core-decode", "criu2core-encode", "criu2core-debug",
            "criu2core-stacks", "criu2core-mount");

    @TempDir
    Path tmp;

    private record Run(int status, String out, String err) {
    }

    @Test
    void theDebianPackageInstallsAndRuns() throws Exception {
        Path deb = only("criu2core_*_all.deb").toAbsolutePath();
        Assumptions.assumeTrue(onPath("dpkg-deb"), "skipped: dpkg-deb is not installed");
        var fields = run(tmp, List.of("dpkg-deb", "-f", deb.toString(), "Package", "Depends", "Suggests"));
        assertEquals(0, fields.status(), fields.err());
        assertEquals(List.of("Package: criu2core",
                "Depends: default-jre-headless (>= 2:1.17) | java17-runtime-headless",
                "Suggests: gdb, gdb-multiarch, fuse3"), fields.out().lines().toList());

        Path root = tmp.resolve("root");
        var unpack = run(tmp, List.of("dpkg-deb", "-x", deb.toString(), root.toString()));
        assertEquals(0, unpack.status(), unpack.err());
        Path launcher = root.resolve("usr/bin/criu2core");
        assertTrue(Files.isSymbolicLink(launcher) && Files.isExecutable(launcher), "usr/bin/criu2core");
        usable(launcher);
        Path man = root.resolve("usr/share/man");
        for (String page : PAGES) {
            rendered(man.resolve("man1/" + page + ".1.gz"), page);
        }
        // `man criu2core-convert` finds it where the package put it
        var byName = run(tmp, List.of("man", "-M", man.toString(), "criu2core-convert"));
        assertEquals(0, byName.status(), byName.err());
        assertTrue(byName.out().contains("criu2core convert"), byName.out());
        completes(root.resolve("usr/share/bash-completion/completions/criu2core"));
        assertTrue(Files.isRegularFile(root.resolve("usr/share/zsh/vendor-completions/_criu2core")));
        assertTrue(Files.isRegularFile(root.resolve("usr/share/doc/criu2core/README.md")));
        assertTrue(Files.readString(root.resolve("usr/share/doc/criu2core/copyright")).contains("License: Apache-2.0"));
    }

    @Test
    void theTarballRunsFromWhereverItIsUnpacked() throws Exception {
        Path tarball = only("criu2core-*.tar.gz");
        Path into = Files.createDirectories(tmp.resolve("unpacked"));
        var unpack = run(tmp, List.of("tar", "-xzf", tarball.toAbsolutePath().toString(), "-C", into.toString()));
        assertEquals(0, unpack.status(), unpack.err());
        Path top;
        try (Stream<Path> s = Files.list(into)) {
            top = s.findFirst().orElseThrow();
        }
        for (String file : List.of("bin/criu2core", "lib/criu2core.jar", "README.md", "LICENSE",
                "share/bash-completion/completions/criu2core", "share/zsh/site-functions/_criu2core")) {
            assertTrue(Files.isRegularFile(top.resolve(file)), file);
        }
        for (String page : PAGES) {
            rendered(top.resolve("share/man/man1/" + page + ".1.gz"), page);
        }
        usable(top.resolve("bin/criu2core"));
        // and through a link from a folder on PATH, as `ln -s` into ~/bin makes
        Path link = Files.createDirectories(tmp.resolve("bin")).resolve("criu2core");
        Files.createSymbolicLink(link, top.resolve("bin/criu2core").toAbsolutePath());
        var version = run(Path.of("/"), List.of(link.toString(), "--version"));
        assertEquals(0, version.status(), version.err());
        completes(top.resolve("share/bash-completion/completions/criu2core"));
    }

    /**
     * Every command that reads a zstd archive, through the launcher on the newest JDK here: JDK 24
     * and later warn on stderr of libraries that use sun.misc.Unsafe or load native code without
     * leave, and a user must see none of it.
     */
    @Test
    void theLauncherOnANewJdkPrintsNoWarnings() throws Exception {
        Path newest = newestJdk().orElse(null);
        Assumptions.assumeTrue(newest != null, "skipped: no JDK 24 or later under /usr/lib/jvm (this machine's kind "
                + "has Temurin 25 there)");
        Path shared = Fixtures.sharedCase("archives", "podman-image");
        Path tarball = only("criu2core-*.tar.gz");
        Path into = Files.createDirectories(tmp.resolve("jdk-unpacked"));
        assertEquals(0, run(tmp, List.of("tar", "-xzf", tarball.toAbsolutePath().toString(), "-C", into.toString()))
                .status());
        Path launcher;
        try (Stream<Path> s = Files.list(into)) {
            launcher = s.findFirst().orElseThrow().resolve("bin/criu2core").toAbsolutePath();
        }
        String archive = shared.resolve("podman-export.tar.zst").toAbsolutePath().toString();
        String image = shared.resolve("image.oci.tar").toAbsolutePath().toString();
        String cache = tmp.resolve("roots").toString();
        for (List<String> args : List.of(List.of("info", archive, "--cache-dir", cache),
                List.of("convert", "-D", archive, "-o", tmp.resolve("jdk-out").toString(), "--image", image,
                        "--cache-dir", cache),
                List.of("grep", "C2C-IMAGE-MARKER-A", archive, "--cache-dir", cache))) {
            List<String> command = new ArrayList<>(List.of(launcher.toString()));
            command.addAll(args);
            var run = run(tmp, command, Map.of("JAVA_HOME", newest.toString()));
            assertEquals(0, run.status(), run.err());
            assertEquals(List.of(), run.err().lines().filter(l -> l.startsWith("WARNING")).toList(), args.get(0));
        }
    }

    /** The newest JDK of feature release 24 or later under /usr/lib/jvm, by its release file. */
    private static java.util.Optional<Path> newestJdk() throws IOException {
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) {
            return java.util.Optional.empty();
        }
        Path best = null;
        int bestVersion = 23;
        try (Stream<Path> s = Files.list(jvms)) {
            for (Path home : s.sorted().toList()) {
                Path release = home.resolve("release");
                if (!Files.isExecutable(home.resolve("bin/java")) || !Files.isRegularFile(release)) {
                    continue;
                }
                var m = java.util.regex.Pattern.compile("JAVA_VERSION=\"(\\d+)").matcher(Files.readString(release));
                if (m.find() && Integer.parseInt(m.group(1)) > bestVersion) {
                    bestVersion = Integer.parseInt(m.group(1));
                    best = home;
                }
            }
        }
        return java.util.Optional.ofNullable(best);
    }

    /** --version and a conversion of the bundled example, run from another folder. */
    private void usable(Path launcher) throws Exception {
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere-" + launcher.hashCode()));
        var version = run(elsewhere, List.of(launcher.toAbsolutePath().toString(), "--version"));
        assertEquals(0, version.status(), version.err());
        assertTrue(version.out().strip().matches("criu2core \\d+\\.\\d+\\.\\d+.*"), version.out());
        Path threads = Fixtures.checkpoint("threads").toAbsolutePath();
        Path out = elsewhere.resolve("out");
        var convert = run(elsewhere, List.of(launcher.toAbsolutePath().toString(), "convert", "-D",
                threads.resolve("images").toString(), "-o", out.toString(), "--root", threads.resolve("root").toString()));
        assertEquals(0, convert.status(), convert.err());
        assertTrue(convert.err().contains("1 core written"), convert.err());
        byte[] header = Files.readAllBytes(out.resolve(Converter.coreName(8229))).length > 0
                ? Files.newInputStream(out.resolve(Converter.coreName(8229))).readNBytes(4) : new byte[0];
        assertEquals("\u007fELF", new String(header, StandardCharsets.ISO_8859_1));
    }

    /** man renders the page: a NAME section naming the command, and no complaint from troff. */
    private void rendered(Path page, String name) throws Exception {
        assertTrue(Files.isRegularFile(page), page.toString());
        Assumptions.assumeTrue(onPath("man"), "skipped: man is not installed (.ci/run installs man-db)");
        var man = run(tmp, List.of("man", "-l", page.toString()));
        assertEquals(0, man.status(), man.err());
        assertEquals("", man.err(), "troff's warnings for " + page);
        List<String> lines = man.out().lines().map(String::strip).toList();
        int at = lines.indexOf("NAME");
        assertTrue(at >= 0 && lines.get(at + 1).startsWith(name + " - "), man.out());
        assertTrue(lines.contains("SYNOPSIS") && lines.contains("OPTIONS"), man.out());
    }

    /** bash loads the completion and completes the commands after criu2core. */
    private void completes(Path script) throws Exception {
        var bash = run(tmp, List.of("bash", "-c", "source \"$1\" && COMP_WORDS=(criu2core st) COMP_CWORD=1 "
                + "&& _complete_criu2core && echo \"${COMPREPLY[@]}\"", "bash", script.toString()));
        assertEquals(0, bash.status(), bash.err());
        assertEquals("stacks", bash.out().strip());
    }

    private static Path only(String glob) throws IOException {
        List<Path> found = new ArrayList<>();
        try (var s = Files.newDirectoryStream(TARGET, glob)) {
            s.forEach(found::add);
        }
        assertEquals(1, found.size(), "one " + glob + " in target/ (mvn package makes it): " + found);
        return found.get(0);
    }

    private Run run(Path dir, List<String> command) throws Exception {
        return run(dir, command, Map.of());
    }

    private Run run(Path dir, List<String> command, Map<String, String> more) throws Exception {
        var pb = new ProcessBuilder(command).directory(dir.toFile());
        Map<String, String> env = pb.environment();
        env.putAll(more);
        env.put("XDG_CACHE_HOME", tmp.resolve("cache").toString()); // the launcher's class archive
        env.put("MANWIDTH", "80");
        env.put("MAN_DISABLE_SECCOMP", "1");
        Path out = Files.createTempFile(tmp, "out", ".txt");
        Path err = Files.createTempFile(tmp, "err", ".txt");
        var p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.PIPE)
                .start();
        p.getOutputStream().close();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(command + " did not finish in 120 s");
        }
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    private static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }
}
