package org.criu2core.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.criu2core.image.Image;
import org.criu2core.image.ImageFormatException;
import org.criu2core.image.ImageJson;
import org.criu2core.image.ImageReader;
import org.criu2core.image.ImageWriter;
import org.criu2core.image.PythonJson;

/**
 * Coverage-guided fuzz tests (Jazzer). `mvn test` replays the inputs kept in
 * src/test/resources/org/criu2core/fuzz/ImageFuzzTestInputs/METHOD/ (seeds, and what fuzzing
 * found); JAZZER_FUZZ=1 mvn test -Dtest=ImageFuzzTest#METHOD fuzzes for new ones.
 */
class ImageFuzzTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Any bytes: an image, or an ImageFormatException naming an offset in them. */
    @FuzzTest(maxDuration = "60s")
    void readImage(byte[] data) {
        try {
            Image image = ImageReader.parse(data, "fuzz.img");
            ImageJson.toJson(image, true);
        } catch (ImageFormatException e) {
            assertTrue(e.getMessage().startsWith("fuzz.img:" + e.offset() + ": "), e.getMessage());
            assertTrue(e.offset() >= 0 && e.offset() <= data.length, e.getMessage());
        }
    }

    /**
     * What decode prints, encode writes back so that decode prints it again. (Not the original
     * bytes: like crit's, the JSON holds no unknown fields and no varint wider than its field,
     * which protobuf cuts, so an image that has them decodes to a tidied copy.)
     */
    @FuzzTest(maxDuration = "60s")
    void decodeEncode(byte[] data) throws IOException {
        Image image;
        try {
            image = ImageReader.parse(data, "fuzz.img");
        } catch (ImageFormatException e) {
            return;
        }
        for (boolean pretty : new boolean[] {true, false}) {
            String text = PythonJson.write(ImageJson.toJson(image, pretty), pretty);
            Image again = ImageJson.fromJson(JSON.readTree(text), "fuzz.json");
            assertEquals(image.magic(), again.magic());
            assertEquals(image.entries().size(), again.entries().size());
            for (int i = 0; i < image.entries().size(); i++) {
                assertArrayEquals(image.entries().get(i).extra(), again.entries().get(i).extra(), "entry " + i);
            }
            Image reread = ImageReader.parse(ImageWriter.toBytes(again), "again.img");
            assertEquals(text, PythonJson.write(ImageJson.toJson(reread, pretty), pretty));
        }
    }

    private static final List<String> IMAGES = List.of("core-7090.img", "mm-7090.img", "pagemap-7090.img",
            "pstree.img", "files.img", "inventory.img");

    /**
     * The compat32 checkpoint with one of its images replaced by fuzzed bytes: converts, or fails
     * with error lines and leaves no core.
     */
    @FuzzTest(maxDuration = "120s")
    void convert(FuzzedDataProvider data) throws IOException {
        String replaced = IMAGES.get(data.consumeInt(0, IMAGES.size() - 1));
        byte[] bytes = data.consumeRemainingAsBytes();
        Path dir = Files.createTempDirectory("criu2core-fuzz");
        try {
            Path images = Fixtures.copyImages("compat32", dir.resolve("images"));
            Files.write(images.resolve(replaced), bytes);
            Path out = dir.resolve("out");
            var run = KernelCores.cli("convert", "-D", images.toString(), "-o", out.toString(), "--root", dir.toString());
            assertFalse(run.err().contains("internal error"), run.err());
            if (run.status() != 0) {
                assertEquals(1, run.status());
                assertTrue(run.err().startsWith("criu2core: "), run.err());
                if (Files.isDirectory(out)) {
                    try (Stream<Path> left = Files.list(out)) {
                        assertEquals(List.of(), left.toList(), run.err());
                    }
                }
            }
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }
}
