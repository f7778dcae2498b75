package org.criu2core.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.criu2core.elf.Elf;
import org.criu2core.image.CheckpointException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which gdb reads a LoongArch core. The real gdb of this machine is asked in SharedCasesTest;
 * here stand-ins answer as a gdb with and one without LoongArch does, so that both answers are
 * tested on every machine, whichever gdb it has.
 */
class DebuggerTest {
    @TempDir
    Path tmp;

    /** A directory for PATH with gdb and gdb-multiarch that print {@code answer} and note that they ran. */
    private Path gdbAnswering(String name, String answer) throws Exception {
        Path bin = Files.createDirectories(tmp.resolve(name));
        for (String program : new String[] {"gdb", "gdb-multiarch"}) {
            Path script = bin.resolve(program);
            Files.writeString(script, "#!/bin/sh\ntouch '" + bin.resolve("asked") + "'\necho \"$*\" > '"
                    + bin.resolve("args") + "'\nprintf '%s\\n' 'GNU gdb (Stand-in 13.1-3) 13.1' "
                    + "'Copyright (C) 2023 Free Software Foundation, Inc.' '" + answer + "'\n");
            assertTrue(script.toFile().setExecutable(true));
        }
        return bin;
    }

    @Test
    void aGdbWithoutLoongArchIsOneLineNamingTheGdbThatReadsIt() throws Exception {
        Path bin = gdbAnswering("old", "Undefined item: \"Loongarch64\".");
        var e = assertThrows(CheckpointException.class,
                () -> Debugger.GDB.find(Elf.EM_LOONGARCH, "loongarch64", bin.toString()));
        String program = bin.resolve(Debugger.GDB.program(Elf.EM_LOONGARCH)).toString();
        assertEquals(program + ": GNU gdb (Stand-in 13.1-3) 13.1 cannot read LoongArch cores (this one is "
                + "loongarch64); gdb 14 or newer can", e.getMessage());
        assertEquals("-nx -batch -ex show version -ex set architecture Loongarch64",
                Files.readString(bin.resolve("args")).strip());
    }

    @Test
    void aGdbWithLoongArchIsTaken() throws Exception {
        Path bin = gdbAnswering("new", "The target architecture is set to \"Loongarch64\".");
        assertEquals(bin.resolve(Debugger.GDB.program(Elf.EM_LOONGARCH)),
                Debugger.GDB.find(Elf.EM_LOONGARCH, "loongarch64", bin.toString()));
        assertTrue(Files.exists(bin.resolve("asked")));
    }

    /** Every gdb-multiarch reads aarch64, and lldb is not gdb: neither is asked. */
    @Test
    void onlyGdbIsAskedAndOnlyForLoongArch() throws Exception {
        Path bin = gdbAnswering("any", "Undefined item: \"Loongarch64\".");
        Path lldb = bin.resolve("lldb");
        Files.writeString(lldb, "#!/bin/sh\nexit 1\n");
        assertTrue(lldb.toFile().setExecutable(true));
        assertEquals(bin.resolve(Debugger.GDB.program(Elf.EM_AARCH64)),
                Debugger.GDB.find(Elf.EM_AARCH64, "aarch64", bin.toString()));
        assertEquals(lldb, Debugger.LLDB.find(Elf.EM_LOONGARCH, "loongarch64", bin.toString()));
        assertFalse(Files.exists(bin.resolve("asked")));
    }
}
