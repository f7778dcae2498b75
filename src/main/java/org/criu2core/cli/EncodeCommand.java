package org.criu2core.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.criu2core.image.CheckpointException;
import org.criu2core.image.ImageJson;
import org.criu2core.image.ImageWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "encode", mixinStandardHelpOptions = true,
        description = "Write a CRIU image from JSON, as crit encode does: the inverse of decode.",
        footer = {"", "crit's JSON does not say the byte order of the image it came from: CRIU on s390x writes",
                "its magic and size words big-endian, so give --byte-order big to encode an image of it.",
                "", "Examples:", "  criu2core encode -i core-8229.json -o core-8229.img",
                "  criu2core encode --byte-order big -i core-132.json -o core-132.img"})
final class EncodeCommand implements Callable<Integer> {
    @Option(names = {"-i", "--in"}, required = true, paramLabel = "JSON", description = "JSON written by decode or crit")
    Path in;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "IMAGE", description = "image file to write")
    Path out;

    /** The byte order of the machine the image is for. */
    enum Order {
        little(ByteOrder.LITTLE_ENDIAN), big(ByteOrder.BIG_ENDIAN);

        final ByteOrder order;

        Order(ByteOrder order) {
            this.order = order;
        }
    }

    @Option(names = "--byte-order", paramLabel = "ORDER", defaultValue = "little",
            description = "of the image's magic and size words: little, or big for s390x (default: ${DEFAULT-VALUE})")
    Order byteOrder;

    @Mixin
    DebugOption debugOption;

    @Override
    public Integer call() throws Exception {
        var tree = readJson(in);
        var image = ImageJson.fromJson(tree, in.toString(), byteOrder.order);
        org.criu2core.core.AtomicFile.write(out, file -> file.channel().write(java.nio.ByteBuffer.wrap(ImageWriter.toBytes(image))));
        return 0;
    }

    static com.fasterxml.jackson.databind.JsonNode readJson(Path file) throws java.io.IOException {
        try {
            return new ObjectMapper().readTree(Files.readAllBytes(file));
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            throw new CheckpointException(file.toString(), "not JSON at line " + loc.getLineNr()
                    + ", column " + loc.getColumnNr() + ": " + e.getOriginalMessage());
        }
    }
}
