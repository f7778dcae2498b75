package org.criu2core.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import org.criu2core.api.Criu2Core;
import org.criu2core.cache.CacheFolder;
import org.criu2core.container.ContainerRoots;
import org.criu2core.core.Converter;
import org.criu2core.debug.CoreCache;
import org.criu2core.debug.ProcessFacts;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Where debug and stacks keep the cores they convert, and what they say about it. */
final class CacheOptions {
    @Option(names = "--clean", description = "remove every cached core and container root first (with no "
            + "CHECKPOINT: only that)")
    boolean clean;

    @Option(names = "--cache-dir", paramLabel = "DIR",
            description = "where converted cores (DIR/cores) and containers' roots (DIR/roots) are kept (default: "
                    + "$${XDG_CACHE_HOME:-~/.cache}/criu2core)")
    Path dir;

    @Option(names = "--cache-limit", paramLabel = "SIZE", converter = SizeConverter.class,
            description = "remove the cores and roots used least recently while the cache is larger than this "
                    + "(bytes, or with K, M, G, T; default: 16G)")
    long limit = CoreCache.DEFAULT_LIMIT;

    @Mixin
    FilterOption filterOption;

    @Option(names = {"-q", "--quiet"}, description = "print nothing about converting or reusing cores")
    boolean quiet;

    /** The cache's folder: cores/ and roots/ are in it. */
    Path folder() {
        return dir != null ? dir : CacheFolder.defaultCache();
    }

    CoreCache cache() {
        return new CoreCache(folder().resolve(CoreCache.FOLDER), limit);
    }

    /** Removes every cached core, and every root no other command uses now. */
    void cleanAll() throws java.io.IOException {
        cache().clean();
        ContainerRoots.clean(folder());
    }

    /** What debug and stacks may unpack (the defaults) and where roots are built (this cache). */
    Criu2Core.Limits limits(RootOption root) {
        return new Criu2Core.Limits(null, Criu2Core.Limits.DEFAULTS.maxUnpackBytes(),
                Criu2Core.Limits.DEFAULTS.fileNoteLimit(), root.lookupTime(), folder(), limit);
    }

    /** Notes on the root, unless quiet. */
    void say(PrintWriter err, List<String> notes) {
        if (!quiet) {
            notes.forEach(err::println);
            err.flush();
        }
    }

    /** Lines on stderr: a conversion, a reuse (no conversion), a process without a core, a failure. */
    CoreCache.Listener listener(PrintWriter err, Path root, boolean debug) {
        return new CoreCache.Listener() {
            @Override
            public void converted(ProcessFacts p, Converter.Result r, long millis) {
                say(String.format("process %d (%s): converted into %s (%s, %d bytes, %d ms)", p.pid(), p.comm(),
                        r.core(), r.arch(), r.size(), millis));
            }

            @Override
            public void reused(ProcessFacts p, Path core) {
                say(String.format("process %d (%s): cached core %s (checkpoint unchanged, not converted again)",
                        p.pid(), p.comm(), core));
            }

            @Override
            public void mounted(ProcessFacts p, Path core, long size, long millis) {
                say(String.format("process %d (%s): core mounted at %s (%d bytes read on demand, none written; "
                        + "%d ms)", p.pid(), p.comm(), core, size, millis));
            }

            @Override
            public void notMounted(String why) {
                say("not mounted: " + why + "; converting into the cache instead");
            }

            @Override
            public void noMemory(ProcessFacts p) {
                say(String.format("process %d (%s): %s, no memory image; no core", p.pid(), p.comm(), p.state()));
            }

            @Override
            public void failed(int pid, java.io.IOException error) {
                err.println("criu2core: " + Main.describe(error));
                if (debug) {
                    error.printStackTrace(err);
                }
                err.flush();
            }

            @Override
            public void missingFiles(List<String> names) {
                for (String name : names) {
                    say("warning: " + name + " is not under " + root + ": its pages are zeros in the core");
                }
            }

            private void say(String line) {
                if (!quiet) {
                    err.println(line);
                    err.flush();
                }
            }
        };
    }

    /** A size in bytes, with an optional K, M, G or T (powers of 1024). */
    static final class SizeConverter implements picocli.CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            String v = value.strip().toUpperCase();
            int shift = 0;
            if (!v.isEmpty() && "KMGT".indexOf(v.charAt(v.length() - 1)) >= 0) {
                shift = 10 * ("KMGT".indexOf(v.charAt(v.length() - 1)) + 1);
                v = v.substring(0, v.length() - 1);
            }
            try {
                long n = Long.parseLong(v);
                if (n < 0 || n > Long.MAX_VALUE >> shift) {
                    throw new NumberFormatException();
                }
                return n << shift;
            } catch (NumberFormatException e) {
                throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not a size (like 512M or 16G)");
            }
        }
    }
}
