package org.criu2core.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Roots are built once, whole or not at all, and removed least recently used first, never while held. */
class RootCacheTest {
    @TempDir
    Path cache;

    private static final String KEY = key('0');

    /** A root's key: 32 hex digits, as the digests of what went into it give them. */
    private static String key(char c) {
        return String.valueOf(c).repeat(32);
    }

    private RootCache roots(long limit) {
        return new RootCache(cache.resolve("roots"), cache, limit);
    }

    private static RootCache.Build file(int bytes) {
        return folder -> Files.write(folder.resolve("data"), new byte[bytes]);
    }

    @Test
    void aRootIsBuiltOnceAndReused() throws IOException {
        try (var first = roots(1 << 20).obtain(KEY, file(10))) {
            assertTrue(first.built);
        }
        try (var again = roots(1 << 20).obtain(KEY, folder -> {
            throw new AssertionError("built again");
        })) {
            assertFalse(again.built);
            assertEquals(10, Files.size(again.root().resolve("data")));
        }
    }

    @Test
    void aFailedBuildLeavesNothing() throws IOException {
        var e = assertThrows(IOException.class, () -> roots(1 << 20).obtain(KEY, folder -> {
            Files.write(folder.resolve("half"), new byte[5]);
            throw new IOException("broken layer");
        }));
        assertEquals("broken layer", e.getMessage());
        try (Stream<Path> left = Files.walk(cache.resolve("roots"))) {
            assertEquals(List.of(".lock"), left.filter(Files::isRegularFile).map(p -> p.getFileName().toString())
                    .toList());
        }
    }

    @Test
    void theLeastRecentlyUsedRootGoesFirstButNeverOneInUse() throws Exception {
        try (var a = roots(1000).obtain(key('a'), file(400))) {
            Thread.sleep(20);
            roots(1000).obtain(key('b'), file(400)).close();
            Thread.sleep(20);
            // a is held (a debugger reads it): b goes though it is newer
            roots(1000).obtain(key('c'), file(400)).close();
            assertTrue(Files.isDirectory(cache.resolve("roots/" + key('a') + "/root")));
            assertFalse(Files.exists(cache.resolve("roots/" + key('b'))));
            assertTrue(Files.isDirectory(cache.resolve("roots/" + key('c') + "/root")));
        }
        roots(1000).obtain(key('d'), file(400)).close();
        assertFalse(Files.exists(cache.resolve("roots/" + key('a'))), "a, free now and the oldest, goes");
        assertTrue(Files.isDirectory(cache.resolve("roots/" + key('c') + "/root")));
    }
}
