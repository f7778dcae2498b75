package org.criu2core.debug;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.criu2core.core.Converter;

/** A checkpoint's root process converted through the cache, as debug and stacks convert it. */
final class Converted {
    private Converted() {
    }

    /** The tree's first process converted with {@code root} into a cache under {@code cacheDir}; fails on any failure. */
    static CoreCache.Cached rootProcess(Path images, Path root, Path cacheDir) throws IOException {
        List<String> failures = new ArrayList<>();
        var cores = new CoreCache(cacheDir, CoreCache.DEFAULT_LIMIT).obtain(images, root, 0x33, List.of(),
                new CoreCache.Listener() {
                    @Override
                    public void converted(ProcessFacts process, Converter.Result result, long millis) {
                    }

                    @Override
                    public void reused(ProcessFacts process, Path core) {
                    }

                    @Override
                    public void noMemory(ProcessFacts process) {
                        failures.add("no memory " + process.pid());
                    }

                    @Override
                    public void failed(int pid, IOException error) {
                        failures.add(pid + ": " + error.getMessage());
                    }

                    @Override
                    public void missingFiles(List<String> names) {
                    }
                });
        if (!failures.isEmpty() || cores.processes().isEmpty()) {
            throw new IOException("converting " + images + ": " + failures);
        }
        return cores.processes().get(0);
    }
}
