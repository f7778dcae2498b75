package org.criu2core.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Standard error is a terminal only where it is one: the progress bar is drawn there. */
class TerminalTest {
    @TempDir
    Path tmp;

    /** Prints whether standard error is a terminal, for the test to run under a pty and without. */
    public static void main(String[] args) {
        System.out.println("stderr is a terminal: " + Linux.isTerminal(Linux.STDERR));
    }

    @Test
    void aFileIsNoTerminal() throws IOException {
        try (var file = OpenFile.openRegular(Files.writeString(tmp.resolve("f"), "x"), "f")) {
            assertFalse(Linux.isTerminal(file.fd()));
        }
    }

    @Test
    void aPseudoTerminalIsOneAndAPipeIsNot() throws Exception {
        Assumptions.assumeTrue(Linux.available(), "native calls unavailable: " + Linux.unavailable().orElse(""));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String command = java + " -cp " + System.getProperty("java.class.path") + " " + TerminalTest.class.getName();
        // script(1) runs the command with a pseudo-terminal as its standard streams
        Assumptions.assumeTrue(new ProcessBuilder("script", "--version").start().waitFor() == 0,
                "script(1) of util-linux is not installed");
        assertEquals("stderr is a terminal: true", run("script", "-qec", command, "/dev/null"));
        assertEquals("stderr is a terminal: false", run("sh", "-c", command + " 2>&1 | cat"));
    }

    private static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(0, p.waitFor(), out);
        return out;
    }
}
