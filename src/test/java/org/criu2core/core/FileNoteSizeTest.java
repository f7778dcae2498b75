package org.criu2core.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.criu2core.Fixtures;
import org.criu2core.arch.Arch;
import org.criu2core.model.Checkpoint;
import org.junit.jupiter.api.Test;

/** The NT_FILE limit is checked on a size counted before the note is built: it must be the note's. */
class FileNoteSizeTest {
    @Test
    void theCountedSizeIsTheBuiltNotesOnEveryRealCase() throws Exception {
        int checked = 0;
        for (Path dir : Fixtures.cases()) {
            var checkpoint = Checkpoint.load(dir.resolve("images"));
            for (var process : checkpoint.processes()) {
                if (!process.hasMemory()) {
                    continue;
                }
                Arch arch = Arch.of(process, process.pid() + "");
                int word = arch.elfClass().word();
                assertEquals(ProcessNotes.ntFile(process, word, arch.byteOrder(), 4096).length,
                        ProcessNotes.ntFileSize(process, word),
                        dir + " pid " + process.pid());
                checked++;
            }
        }
        assertEquals(true, checked >= 8, checked + " processes");
    }
}
