package org.criu2core.debug;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;
import org.criu2core.container.RootFs;
import org.criu2core.elf.ElfObject;

/**
 * The language runtime whose own stacks a process has besides its native ones: Go's goroutines
 * (read by Delve), CPython's frames (py-bt), HotSpot's Java frames (jhsdb). It is recognised from
 * what the images say the process mapped and from those files in the root, never from names on
 * the command line: a Go executable has Go's build info, CPython is the python3.X executable or
 * libpython3.X, HotSpot is libjvm.so.
 */
public enum LanguageRuntime {
    NONE, GO, PYTHON, JAVA;

    /**
     * Go's build info section starts with this (cmd/link, runtime/debug): then the pointer size
     * and a flags byte; with flag 2 the version and module info follow inline (Go 1.18 on) as
     * varint-prefixed strings from byte 32.
     */
    private static final byte[] GO_BUILDINFO_MAGIC = "\u00ff Go buildinf:".getBytes(StandardCharsets.ISO_8859_1);
    private static final int GO_BUILDINFO_INLINE = 2;
    private static final int GO_BUILDINFO_HEADER = 32;

    /** How --runtime and the output name it. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** --runtime's value: none, go, python or java. */
    public static LanguageRuntime parse(String label) {
        for (var r : values()) {
            if (r.label().equals(label)) {
                return r;
            }
        }
        throw new IllegalArgumentException("--runtime is none, go, python or java, not " + label);
    }

    /**
     * What was recognised: the runtime, the file that says so (inside the root, as the process
     * named it) and the runtime's version where that file tells it (go1.19.8, 3.11), else null.
     */
    public record Recognised(LanguageRuntime runtime, String file, String version) {
        static final Recognised NONE = new Recognised(LanguageRuntime.NONE, null, null);
    }

    /** The runtime of {@code process}, from the files it mapped and those files in {@code root}. */
    public static Recognised recognise(ProcessFacts process, RootFs root) throws IOException {
        var go = go(process, root);
        if (go.isPresent()) {
            return go.get();
        }
        var libjvm = HotSpot.libjvm(process);
        if (libjvm.isPresent()) {
            return new Recognised(JAVA, libjvm.get(), null);
        }
        var python = CPython.interpreter(process);
        if (python.isPresent()) {
            return new Recognised(PYTHON, python.get(), CPython.version(python.get()).orElse(null));
        }
        return Recognised.NONE;
    }

    /** {@code forced} (--runtime) for {@code process}, with what the files tell of it. */
    public static Recognised forced(LanguageRuntime forced, ProcessFacts process, RootFs root) throws IOException {
        return switch (forced) {
            case NONE -> Recognised.NONE;
            case GO -> go(process, root).orElse(new Recognised(GO, process.exe(), null));
            case JAVA -> new Recognised(JAVA, HotSpot.libjvm(process).orElse(null), null);
            case PYTHON -> {
                var file = CPython.interpreter(process);
                yield new Recognised(PYTHON, file.orElse(process.exe()), file.flatMap(CPython::version).orElse(null));
            }
        };
    }

    /** The process's executable in the root, when it is a Go program: Go's build info or build id in it. */
    private static Optional<Recognised> go(ProcessFacts process, RootFs root) throws IOException {
        if (process.exe() == null || root == null) {
            return Optional.empty();
        }
        var file = root.open(process.exe());
        if (file.isEmpty()) {
            return Optional.empty();
        }
        ElfObject elf;
        try {
            elf = ElfObject.read(file.get().channel(), process.exe());
        } catch (IOException e) {
            return Optional.empty(); // not an ELF file it can read: no runtime recognised by it
        }
        var buildInfo = elf.sections().get(".go.buildinfo");
        boolean goNote = elf.notes().stream().anyMatch(n -> n.owner().equals("Go") && n.type() == ElfObject.NT_GO_BUILD_ID);
        if (buildInfo == null && !goNote) {
            return Optional.empty();
        }
        String version = buildInfo == null ? null : goVersion(elf.bytes(buildInfo, 4096));
        return Optional.of(new Recognised(GO, process.exe(), version));
    }

    /** The Go version in a build info section (Go 1.18 on); null for older layouts, which point at it instead. */
    static String goVersion(byte[] info) {
        if (info.length < GO_BUILDINFO_HEADER || !java.util.Arrays.equals(info, 0, GO_BUILDINFO_MAGIC.length,
                GO_BUILDINFO_MAGIC, 0, GO_BUILDINFO_MAGIC.length)) {
            return null;
        }
        if ((info[GO_BUILDINFO_MAGIC.length + 1] & GO_BUILDINFO_INLINE) == 0) {
            return null;
        }
        long length = 0;
        int at = GO_BUILDINFO_HEADER;
        for (int shift = 0; at < info.length && shift < 35; shift += 7) {
            int b = info[at++] & 0xff;
            length |= (long) (b & 0x7f) << shift;
            if (b < 0x80) {
                if (length == 0 || length > 64 || at + length > info.length) {
                    return null;
                }
                String version = new String(info, at, (int) length, StandardCharsets.ISO_8859_1);
                return version.matches("[\\x21-\\x7e]+") ? version : null;
            }
        }
        return null;
    }
}
