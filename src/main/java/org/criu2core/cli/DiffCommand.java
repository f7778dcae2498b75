package org.criu2core.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.zip.GZIPInputStream;
import org.criu2core.elf.CoreFile;
import org.criu2core.inspect.CoreDiff;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "diff", mixinStandardHelpOptions = true,
        description = {"Compare two core files: headers, every note field by field per thread, and segment "
                + "contents page by page. Exit 0 when they match, 1 when they differ.",
                "A gzip-compressed core is read as is."},
        footer = {"", "Examples:", "  criu2core diff old/core.8229 new/core.8229",
                "  criu2core diff --kernel --ignore 0x7f867f3fc000-0x7f867f402000 kernel-core.8229.gz core.8229"})
final class DiffCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "EXPECTED", description = "the reference core")
    Path expected;

    @Parameters(index = "1", paramLabel = "ACTUAL", description = "the core to check")
    Path actual;

    @Option(names = "--kernel", description = "EXPECTED was written by the kernel: allow what CRIU images "
            + "cannot know (see docs/user-guide.md)")
    boolean kernel;

    @Option(names = "--ignore", paramLabel = "START-END", converter = RangeConverter.class,
            description = "with --kernel: an area whose contents the images do not hold (vvar, vsyscall, rseq)")
    List<CoreDiff.Range> ignore = new ArrayList<>();

    @Option(names = "--json", description = "print {\"match\": BOOLEAN, \"differences\": [...]} instead of lines")
    boolean json;

    @Mixin
    DebugOption debugOption;

    @Override
    public Integer call() throws Exception {
        List<Path> temporary = new ArrayList<>();
        try (CoreFile a = CoreFile.open(plain(expected, temporary)); CoreFile b = CoreFile.open(plain(actual, temporary))) {
            var options = kernel ? CoreDiff.Options.kernel(ignore) : CoreDiff.Options.EXACT;
            List<String> differences = CoreDiff.compare(a, b, options);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                var node = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
                node.put("match", differences.isEmpty());
                differences.forEach(node.putArray("differences")::add);
                out.println(node.toPrettyString());
            } else if (differences.isEmpty()) {
                out.println("match");
            } else {
                differences.forEach(out::println);
            }
            out.flush();
            return differences.isEmpty() ? 0 : 1;
        } finally {
            for (Path p : temporary) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** A gzip-compressed core is unpacked to a temporary file first: cores are read at random. */
    private static Path plain(Path core, List<Path> temporary) throws IOException {
        byte[] head = new byte[2];
        try (InputStream in = Files.newInputStream(core)) {
            if (in.readNBytes(head, 0, 2) < 2 || (head[0] & 0xff) != 0x1f || (head[1] & 0xff) != 0x8b) {
                return core;
            }
        }
        Path tmp = Files.createTempFile("criu2core-", ".core");
        temporary.add(tmp);
        try (InputStream in = new GZIPInputStream(Files.newInputStream(core))) {
            Files.copy(in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return tmp;
    }

    static final class RangeConverter implements ITypeConverter<CoreDiff.Range> {
        @Override
        public CoreDiff.Range convert(String value) {
            String[] parts = value.split("-");
            if (parts.length != 2) {
                throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not START-END");
            }
            var hex = new HexConverter();
            return new CoreDiff.Range(hex.convert(parts[0]), hex.convert(parts[1]));
        }
    }
}
