package org.criu2core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.criu2core.image.CheckpointException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The parent links of incremental dumps: followed, but never in a loop or out of the checkpoint. */
class ParentChainTest {
    @TempDir
    Path tmp;

    private Path dump(String name) throws Exception {
        return Files.createDirectories(tmp.resolve("ckpt").resolve(name));
    }

    @Test
    void aChainIsFollowedAsOftenAsAsked() throws Exception {
        Path one = dump("1");
        Path two = dump("2");
        Files.createSymbolicLink(two.resolve("parent"), Path.of("../1"));
        var dir = new CheckpointDir(two);
        assertEquals(one.toRealPath(), dir.parent().orElseThrow().path().toRealPath());
        assertEquals(one.toRealPath(), dir.parent().orElseThrow().path().toRealPath(), "asking again is no loop");
        assertTrue(new CheckpointDir(one).parent().isEmpty());
    }

    @Test
    void aLoopIsAnError() throws Exception {
        Path one = dump("1");
        Path two = dump("2");
        Files.createSymbolicLink(two.resolve("parent"), Path.of("../1"));
        Files.createSymbolicLink(one.resolve("parent"), Path.of("../2"));
        var e = assertThrows(CheckpointException.class, () -> new CheckpointDir(two).parent().orElseThrow().parent());
        assertEquals(two + ": the parent snapshot links loop back to this directory",
                e.getMessage().replace(one.resolve("../2").normalize().toString(), two.toString()));
    }

    @Test
    void aParentOutsideTheCheckpointIsAnError() throws Exception {
        Path two = dump("2");
        Files.createSymbolicLink(two.resolve("parent"), Path.of("/etc"));
        var e = assertThrows(CheckpointException.class, () -> new CheckpointDir(two).parent());
        assertTrue(e.getMessage().startsWith(two.resolve("parent") + ": the parent snapshot /etc is outside "), e.getMessage());
    }

    @Test
    void aMissingParentIsAnError() throws Exception {
        Path two = dump("2");
        Files.createSymbolicLink(two.resolve("parent"), Path.of("../1"));
        var e = assertThrows(CheckpointException.class, () -> new CheckpointDir(two).parent());
        assertEquals(two.resolve("parent") + ": the parent snapshot ../1 is missing", e.getMessage());
    }
}
