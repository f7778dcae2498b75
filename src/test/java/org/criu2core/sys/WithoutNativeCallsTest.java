package org.criu2core.sys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where JNA cannot load, conversion goes on with Java's own calls and writes the same core. */
class WithoutNativeCallsTest {
    @TempDir
    Path tmp;

    @Test
    void convertsTheSameWithoutNativeCalls() throws Exception {
        Path checkpoint = Fixtures.checkpoint("threads").resolve("images");
        Path root = Fixtures.checkpoint("threads").resolve("root");
        Path withNative = Files.createDirectories(tmp.resolve("native"));
        Path without = Files.createDirectories(tmp.resolve("java"));
        assertEquals(0, KernelCores.cli("convert", "-q", "-D", checkpoint.toString(), "-o", withNative.toString(),
                "--root", root.toString()).status());
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        var process = new ProcessBuilder(List.of(java.toString(), "-D" + Linux.PROPERTY + "=false", "-cp",
                System.getProperty("java.class.path"), "org.criu2core.cli.Main", "convert", "-q", "-D",
                checkpoint.toString(), "-o", without.toString(), "--root", root.toString()))
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertEquals(0, process.waitFor(), output);
        try (var cores = Files.list(withNative)) {
            for (Path core : cores.toList()) {
                assertArrayEquals(Files.readAllBytes(core), Files.readAllBytes(without.resolve(core.getFileName())),
                        core.getFileName().toString());
            }
        }
    }
}
