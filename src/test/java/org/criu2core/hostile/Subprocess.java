package org.criu2core.hostile;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.criu2core.cli.Main;

/**
 * criu2core in a JVM of its own, as a user runs it, with a heap of a given size: a memory bound
 * holds when the run ends without "out of memory", a time bound when it ends before its timeout
 * (it is killed then, and the test fails).
 */
final class Subprocess {
    /** Exit status, what it printed, and how long it took. */
    record Run(int status, String out, String err, Duration time) {
        /** The lines criu2core printed as errors ("criu2core: ..."). */
        List<String> errors() {
            return err.lines().filter(l -> l.startsWith("criu2core: ")).toList();
        }
    }

    private Subprocess() {
    }

    /** The command line that runs criu2core with {@code heapMiB} of heap, before its arguments. */
    static List<String> java(int heapMiB, String... jvmOptions) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx" + heapMiB + "m");
        command.add("-XX:+UseSerialGC");
        command.addAll(List.of(jvmOptions));
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Main.class.getName());
        return command;
    }

    static Run criu2core(int heapMiB, Duration timeout, String... args) throws IOException, InterruptedException {
        List<String> command = java(heapMiB);
        command.addAll(List.of(args));
        return run(command, timeout);
    }

    static Run run(List<String> command, Duration timeout) throws IOException, InterruptedException {
        Path out = Files.createTempFile("c2c-test-", ".out");
        Path err = Files.createTempFile("c2c-test-", ".err");
        try {
            long start = System.nanoTime();
            var process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor();
                fail("still running after " + timeout + ": " + String.join(" ", command) + "\n"
                        + Files.readString(err, StandardCharsets.UTF_8));
            }
            var time = Duration.ofNanos(System.nanoTime() - start);
            return new Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8), time);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** A run in a tmpfs of its own, and what was left in the tmpfs after it (relative paths). */
    record InTmpfs(Run run, List<String> left) {
    }

    /**
     * Runs {@code command} with a tmpfs mounted at {@code mountPoint} ({@code options}: size=,
     * nr_inodes=), in a mount namespace of its own (unshare: as root, or through a user
     * namespace), so that nothing outlives the run. Skips the test, saying so, where that is not
     * allowed.
     */
    static InTmpfs inTmpfs(Path mountPoint, String options, List<String> command, Duration timeout)
            throws IOException, InterruptedException {
        List<String> unshare = List.of("unshare", "--user", "--map-root-user", "--mount");
        var probe = new ProcessBuilder(concat(unshare, List.of("sh", "-c", "mount -t tmpfs c2c-probe \"$0\"",
                mountPoint.toString()))).redirectErrorStream(true).start();
        String why = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        org.junit.jupiter.api.Assumptions.assumeTrue(probe.waitFor() == 0,
                "skipped: no private tmpfs here (unshare --user --mount: " + why.strip() + ")");
        Path list = Files.createTempFile("c2c-test-", ".list");
        try {
            String script = "mp=$1; options=$2; list=$3; shift 3; mount -t tmpfs -o \"$options\" c2c \"$mp\" || exit 99; "
                    + "\"$@\"; status=$?; (cd \"$mp\" && find . -mindepth 1 | sed 's|^\\./||' | sort) > \"$list\"; "
                    + "exit $status";
            List<String> full = concat(unshare, concat(List.of("sh", "-c", script, "sh", mountPoint.toString(), options,
                    list.toString()), command));
            Run run = run(full, timeout);
            return new InTmpfs(run, Files.readAllLines(list));
        } finally {
            Files.deleteIfExists(list);
        }
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** Everything under {@code dir}, folders too, relative to it; empty when it does not exist. */
    static List<String> tree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(p -> !p.equals(dir)).map(p -> dir.relativize(p).toString()).sorted().toList();
        }
    }
}
