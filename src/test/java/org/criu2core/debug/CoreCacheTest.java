package org.criu2core.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.criu2core.core.Converter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cache of converted cores: reused while the checkpoint is unchanged, bounded, cleaned. */
class CoreCacheTest {
    private static final Path ROOT = Fixtures.checkpoint("threads").resolve("root");

    @TempDir
    Path tmp;

    /** What the cache said it did, one word per process. */
    private static final class Events implements CoreCache.Listener {
        final List<String> said = new ArrayList<>();

        @Override
        public void converted(ProcessFacts process, Converter.Result result, long millis) {
            said.add("converted " + process.pid());
        }

        @Override
        public void reused(ProcessFacts process, Path core) {
            said.add("reused " + process.pid());
        }

        @Override
        public void noMemory(ProcessFacts process) {
            said.add("no memory " + process.pid());
        }

        @Override
        public void failed(int pid, IOException error) {
            said.add("failed " + pid + ": " + error.getMessage());
        }

        @Override
        public void missingFiles(List<String> names) {
            said.add("missing " + names);
        }
    }

    @Test
    void aChangedCheckpointIsConvertedAgainAndItsOldCoresGo() throws Exception {
        Path images = Fixtures.copyImages("threads", tmp.resolve("images"));
        var cache = new CoreCache(tmp.resolve("cache"), CoreCache.DEFAULT_LIMIT);
        var events = new Events();
        var first = cache.obtain(images, ROOT, 0x33, List.of(), events);
        var again = cache.obtain(images, ROOT, 0x33, List.of(), events);
        assertEquals(List.of("converted 8229", "reused 8229"), events.said);
        assertEquals(first.dir(), again.dir());
        assertEquals(List.of(8229), first.tree());
        var facts = first.processes().get(0).facts();
        assertEquals("/opt/criu2core/bin/threads", facts.exe());
        assertEquals(List.of(8229, 8233, 8234), facts.threads().stream().map(ProcessFacts.ThreadFacts::tid).toList());
        assertEquals("x86_64", facts.arch());

        Path mm = images.resolve("mm-8229.img");
        Files.setLastModifiedTime(mm, FileTime.fromMillis(Files.getLastModifiedTime(mm).toMillis() + 1000));
        var changed = cache.obtain(images, ROOT, 0x33, List.of(), events);
        assertEquals("converted 8229", events.said.get(2));
        assertFalse(changed.dir().equals(first.dir()));
        assertEquals(List.of(changed.dir()), entries(tmp.resolve("cache")), "the old cores are gone");
        // another filter is another conversion, kept beside the first
        cache.obtain(images, ROOT, 0x3f, List.of(), events);
        assertEquals("converted 8229", events.said.get(3));
        assertEquals(2, entries(tmp.resolve("cache")).size());
    }

    @Test
    void pastItsLimitTheCoresUsedLeastRecentlyGo() throws Exception {
        Path a = Fixtures.copyImages("threads", tmp.resolve("a"));
        Path b = Fixtures.copyImages("threads", tmp.resolve("b"));
        var cache = new CoreCache(tmp.resolve("cache"), 1);
        var events = new Events();
        var first = cache.obtain(a, ROOT, 0x33, List.of(), events);
        var second = cache.obtain(b, ROOT, 0x33, List.of(), events);
        assertEquals(List.of("converted 8229", "converted 8229"), events.said);
        assertEquals(List.of(second.dir()), entries(tmp.resolve("cache")), "the one in use stays, however large");
        assertFalse(Files.exists(first.dir()));
    }

    @Test
    void cleanRemovesEveryCachedCore() throws Exception {
        Path cache = tmp.resolve("cache");
        new CoreCache(cache.resolve(CoreCache.FOLDER), CoreCache.DEFAULT_LIMIT).obtain(Fixtures.checkpoint("threads").resolve("images"), ROOT,
                0x33, List.of(), new Events());
        assertEquals(1, entries(cache.resolve(CoreCache.FOLDER)).size());
        var run = KernelCores.cli("debug", "--clean", "--cache-dir", cache.toString());
        assertEquals(0, run.status(), run.err());
        assertEquals(List.of(), entries(cache.resolve(CoreCache.FOLDER)));
    }

    @Test
    void aProcessWithoutMemoryHasNoCoreToDebug() throws Exception {
        Path tree = Fixtures.checkpoint("tree");
        Path root = Files.createDirectories(tmp.resolve("root")); // fixtures/ keeps no root of this case
        var run = KernelCores.cli("debug", tree.resolve("images").toString(), "--root", root.toString(),
                "--pid", "8717", "--cache-dir", tmp.resolve("cache").toString());
        assertEquals(1, run.status());
        assertTrue(run.err().contains("process 8717 (tree) is dead: it has no memory, so no core to debug; "
                + "the tree has 8714, 8716, 8717 (--pid)"), run.err());
        var unknown = KernelCores.cli("stacks", tree.resolve("images").toString(), "--root",
                root.toString(), "--pid", "1", "--cache-dir", tmp.resolve("cache").toString());
        assertEquals(1, unknown.status());
        assertEquals("criu2core: " + tree.resolve("images").toRealPath() + "/pstree.img: no process 1 in the checkpoint"
                + " (it has 8714, 8716, 8717)", unknown.err().strip());
    }

    @Test
    void aMissingDebuggerIsOneLineNamingItsPackage() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("bin"));
        var e = org.junit.jupiter.api.Assertions.assertThrows(org.criu2core.image.CheckpointException.class,
                () -> Debugger.GDB.find(org.criu2core.elf.Elf.EM_AARCH64, "aarch64", empty.toString()));
        assertEquals("gdb-multiarch: not installed: the core is aarch64, which plain gdb does not read here; "
                + "install the package gdb-multiarch (Debian, Ubuntu: apt-get install gdb-multiarch)", e.getMessage());
        Path lldb = Files.createFile(empty.resolve("lldb"));
        assertThrows(() -> Debugger.LLDB.find(org.criu2core.elf.Elf.EM_X86_64, "x86_64", empty.toString()),
                "lldb: not installed; install the package lldb (Debian, Ubuntu: apt-get install lldb)");
        lldb.toFile().setExecutable(true);
        assertEquals(lldb, Debugger.LLDB.find(org.criu2core.elf.Elf.EM_X86_64, "x86_64", empty.toString()));
    }

    private static void assertThrows(org.junit.jupiter.api.function.Executable call, String message) {
        var e = org.junit.jupiter.api.Assertions.assertThrows(org.criu2core.image.CheckpointException.class, call);
        assertEquals(message, e.getMessage());
    }

    private static List<Path> entries(Path cache) throws IOException {
        try (Stream<Path> s = Files.list(cache)) {
            return s.filter(Files::isDirectory).toList();
        }
    }
}
