package org.criu2core.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.criu2core.image.ImageJson;
import org.criu2core.image.ImageReader;
import org.criu2core.image.PythonJson;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "decode", mixinStandardHelpOptions = true,
        description = "Print a CRIU image as JSON, as crit decode does.",
        footer = {"", "Examples:", "  criu2core decode -i core-8229.img --pretty",
                "  criu2core decode -i pstree.img -o pstree.json"})
final class DecodeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-i", "--in"}, required = true, paramLabel = "IMAGE", description = "image file to decode")
    Path in;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", description = "write the JSON here instead of to stdout")
    Path out;

    @Option(names = "--pretty", description = "indent, and print hex, flag and dict fields by name")
    boolean pretty;

    @Mixin
    DebugOption debugOption;

    @Override
    public Integer call() throws Exception {
        var json = ImageJson.toJson(ImageReader.read(in), pretty);
        if (out == null) {
            var writer = spec.commandLine().getOut();
            PythonJson.write(json, pretty, writer);
            writer.println();
            writer.flush();
        } else {
            try (var writer = Files.newBufferedWriter(out)) {
                PythonJson.write(json, pretty, writer);
                writer.write('\n');
            }
        }
        return 0;
    }
}
