package org.criu2core.debug;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real debuginfod (elfutils, Debian's {@code debuginfod} package) on a loopback port, serving
 * the ELF and DWARF files under one directory by their build ids: started by a test, stopped
 * when it closes. It is ready when it serves the debug file of the build id the test needs.
 */
final class DebuginfodServer implements AutoCloseable {
    private static final Duration READY_WITHIN = Duration.ofSeconds(60);

    private final Process process;
    private final String url;

    private DebuginfodServer(Process process, String url) {
        this.process = process;
        this.url = url;
    }

    /**
     * Serves the files under {@code files} (scanned once: -F, no rescan, no grooming) from a
     * database and log under {@code work}, and waits until it has the debug file of {@code buildId}.
     */
    static DebuginfodServer start(Path files, Path work, String buildId) throws Exception {
        Files.createDirectories(work);
        int port;
        try (var socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort(); // free now; debuginfod takes it a moment later
        }
        Process p = new ProcessBuilder("debuginfod", "-F", "-p", Integer.toString(port), "-d",
                work.resolve("index.sqlite").toString(), "-t", "0", "-g", "0", "-c", "1", files.toAbsolutePath().toString())
                .redirectErrorStream(true).redirectOutput(work.resolve("debuginfod.log").toFile()).start();
        var server = new DebuginfodServer(p, "http://127.0.0.1:" + port);
        try {
            server.awaitDebugInfo(buildId, work.resolve("debuginfod.log"));
        } catch (Exception | Error e) {
            server.close();
            throw e;
        }
        return server;
    }

    String url() {
        return url;
    }

    private void awaitDebugInfo(String buildId, Path log) throws Exception {
        var client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        var request = HttpRequest.newBuilder(URI.create(url + "/buildid/" + buildId + "/debuginfo"))
                .GET().timeout(Duration.ofSeconds(30)).build();
        long deadline = System.nanoTime() + READY_WITHIN.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("debuginfod ended (exit status " + process.exitValue() + "): "
                        + String.join("\n", tail(log)));
            }
            try {
                if (client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notListeningYet) {
                // it opens its port after reading its database
            }
            Thread.sleep(200);
        }
        throw new IOException("debuginfod did not serve " + buildId + " within " + READY_WITHIN + ": "
                + String.join("\n", tail(log)));
    }

    private static List<String> tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        return lines.subList(Math.max(0, lines.size() - 10), lines.size());
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor();
        }
    }
}
