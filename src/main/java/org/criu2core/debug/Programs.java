package org.criu2core.debug;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** The helper programs the stacks come from (jhsdb, Delve), found on PATH and run to their end, bounded in time. */
final class Programs {
    private Programs() {
    }

    /** What a program printed (stdout and stderr together, in order) and its exit status. */
    record Output(int status, String text) {
    }



    /** {@code program} in a directory of {@code searchPath} (directories as in PATH), executable. */
    static Optional<Path> onPath(String program, String searchPath) {
        for (String dir : searchPath.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, program);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** {@code program} on this process's PATH. */
    static Optional<Path> onPath(String program) {
        return onPath(program, System.getenv().getOrDefault("PATH", ""));
    }

    /**
     * Runs {@code command} in {@code dir} (null: this process's), its environment changed by
     * {@code environment}, with nothing on its stdin, until it ends; killed after
     * {@code timeoutSeconds}, which is then an IOException naming {@code what}.
     */
    static Output run(List<String> command, Path dir, Consumer<Map<String, String>> environment, long timeoutSeconds,
                      String what) throws IOException {
        StringBuilder text = new StringBuilder();
        int status = runLines(command, dir, environment, timeoutSeconds, what, line -> text.append(line).append('\n'));
        return new Output(status, text.toString());
    }

    /**
     * As {@link #run}, each line handed to {@code lines} as it comes rather than kept: a Go
     * server's goroutines are tens of megabytes of text. Returns the exit status.
     */
    static int runLines(List<String> command, Path dir, Consumer<Map<String, String>> environment, long timeoutSeconds,
                        String what, Consumer<String> lines) throws IOException {
        var builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        if (dir != null) {
            builder.directory(dir.toFile());
        }
        environment.accept(builder.environment());
        Process p = builder.start();
        IOException[] failure = new IOException[1];
        RuntimeException[] thrown = new RuntimeException[1];
        Thread reader = new Thread(() -> {
            try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    lines.accept(line);
                }
            } catch (IOException e) {
                failure[0] = e;
            } catch (RuntimeException e) {
                thrown[0] = e;
                p.destroyForcibly();
            }
        }, "criu2core-" + what + "-output");
        reader.setDaemon(true);
        reader.start();
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(what + " did not finish in " + timeoutSeconds + " s");
            }
            reader.join();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while " + what + " ran");
        }
        if (thrown[0] != null) {
            throw thrown[0];
        }
        if (failure[0] != null) {
            throw failure[0];
        }
        return p.exitValue();
    }
}
