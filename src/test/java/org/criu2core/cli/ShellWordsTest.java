package org.criu2core.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class ShellWordsTest {
    @Test
    void splitsAsAShellDoes() {
        assertEquals(List.of("-batch", "-ex", "thread apply all bt"), ShellWords.split("-batch -ex 'thread apply all bt'"));
        assertEquals(List.of("-ex", "p \"x\"", "a b", ""), ShellWords.split("  -ex \"p \\\"x\\\"\" a\\ b ''"));
        assertEquals(List.of(), ShellWords.split("   "));
        assertThrows(IllegalArgumentException.class, () -> ShellWords.split("-ex 'bt"));
    }
}
