package org.criu2core.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import org.criu2core.api.Criu2Core;
import org.criu2core.container.CheckpointArchive;
import org.criu2core.container.RootFs;
import org.criu2core.core.ProcessMemory;
import org.criu2core.inspect.CheckpointInfo;
import org.criu2core.inspect.MemorySearch;
import org.criu2core.model.Checkpoint;
import org.criu2core.model.Process;
import org.criu2core.model.Vma;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "grep", mixinStandardHelpOptions = true,
        description = {"Find a string or bytes in the memory of a checkpoint's processes, without making cores: "
                + "address, VMA and mapped file of each match. Exit 0 when something matched, 1 when nothing did."},
        footer = {"", "Examples:", "  criu2core grep 'BEGIN RSA PRIVATE KEY' /var/lib/checkpoint",
                "  criu2core grep --hex 'de ad be ef' checkpoint.tar.zst --pid 6"})
final class GrepCommand implements Callable<Integer> {
    private static final int CONTEXT = 48;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PATTERN", description = "text (UTF-8), or hex bytes with --hex")
    String pattern;

    @Parameters(index = "1", paramLabel = "CHECKPOINT", description = "a directory of images, or a container checkpoint archive")
    Path checkpoint;

    @Option(names = "--hex", description = "PATTERN is hex bytes, spaces allowed: 'de ad be ef'")
    boolean hex;

    @Option(names = "--pid", paramLabel = "PID", description = "search only this process (repeatable)")
    List<Integer> pids = new ArrayList<>();

    @Mixin
    RootOption rootOption;

    @Mixin
    ArchiveOptions archiveOptions;

    @Option(names = "--max", paramLabel = "N", defaultValue = "1000", description = "stop after N matches (default: ${DEFAULT-VALUE})")
    int max;

    @Mixin
    DebugOption debugOption;

    @Override
    public Integer call() throws Exception {
        byte[] bytes = hex ? parseHex(pattern) : pattern.getBytes(StandardCharsets.UTF_8);
        PrintWriter out = spec.commandLine().getOut();
        int[] matches = {0};
        var limits = archiveOptions.limits(rootOption);
        try (var opened = Criu2Core.open(checkpoint, rootOption.root, rootOption.image, limits,
                CheckpointArchive.Parts.ALL)) {
            opened.notes().forEach(spec.commandLine().getErr()::println);
            Checkpoint cp = opened.checkpoint();
            RootFs rootFs = opened.rootFs();
            for (var entry : cp.tree()) {
                if (!pids.isEmpty() && !pids.contains(entry.pid()) || matches[0] >= max) {
                    continue;
                }
                Process p = cp.process(entry);
                if (!p.hasMemory()) {
                    continue;
                }
                try (var memory = ProcessMemory.open(cp, p, rootFs)) {
                    MemorySearch.search(memory, bytes, (address, vma) -> {
                        out.printf("%d 0x%x  %s  %s%n", p.pid(), address, describe(vma),
                                context(memory.read(address, CONTEXT)));
                        return ++matches[0] < max;
                    });
                }
            }
        }
        out.flush();
        return matches[0] > 0 ? 0 : Main.EXIT_FAILURE;
    }

    /** start-end perms kind [file], as /proc/PID/maps shows a VMA. */
    static String describe(Vma vma) {
        String perms = ((vma.prot() & Vma.PROT_READ) != 0 ? "r" : "-") + ((vma.prot() & Vma.PROT_WRITE) != 0 ? "w" : "-")
                + ((vma.prot() & Vma.PROT_EXEC) != 0 ? "x" : "-") + (vma.shared() ? "s" : "p");
        String what = vma.file() != null ? vma.file().kernelName() : "[" + CheckpointInfo.kind(vma) + "]";
        return String.format("0x%x-0x%x %s %s", vma.start(), vma.end(), perms, what);
    }

    private static String context(byte[] bytes) {
        var s = new StringBuilder();
        for (byte b : bytes) {
            s.append(b >= 0x20 && b < 0x7f ? (char) b : '.');
        }
        return s.toString();
    }

    private static byte[] parseHex(String text) {
        String digits = text.replaceAll("(0x)|[\\s:]", "");
        try {
            return HexFormat.of().parseHex(digits);
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(new GrepCommand()),
                    "'" + text + "' is not hex bytes");
        }
    }
}
