package org.criu2core.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.criu2core.Fixtures;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every image of the real checkpoints decodes to what crit printed, and encodes back to its bytes. */
class DecodeFixturesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** (image, crit's JSON of it) for every image but raw pages, in images/ and a parent's pre/. */
    static Stream<Named<Path[]>> images() throws IOException {
        List<Named<Path[]>> out = new ArrayList<>();
        for (Path c : Fixtures.cases()) {
            for (String sub : List.of("images", "pre")) {
                Path dir = c.resolve(sub);
                if (!Files.isDirectory(dir)) {
                    continue;
                }
                Path decoded = c.resolve("decoded").resolve(sub.equals("pre") ? "pre" : "");
                try (Stream<Path> files = Files.list(dir)) {
                    for (Path img : files.sorted().toList()) {
                        String name = img.getFileName().toString();
                        if (name.startsWith("pages-") || name.equals("parent")) {
                            continue;
                        }
                        Path json = decoded.resolve(name.replaceFirst("\\.img$", "") + ".json");
                        out.add(Named.of(Fixtures.ROOT.relativize(img).toString(), new Path[] {img, json}));
                    }
                }
            }
        }
        assertFalse(out.isEmpty(), "no fixture images found under " + Fixtures.ROOT);
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void decodeEqualsCrit(Path[] imageAndJson) throws IOException {
        Image image = ImageReader.read(imageAndJson[0]);
        JsonNode ours = JSON.readTree(PythonJson.write(ImageJson.toJson(image, true), true));
        JsonNode crits;
        try (InputStream in = Fixtures.open(imageAndJson[1])) {
            crits = JSON.readTree(in);
        }
        assertEquals(crits, ours);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void encodeOfDecodeGivesTheSameBytes(Path[] imageAndJson) throws IOException {
        byte[] original = Files.readAllBytes(imageAndJson[0]);
        for (boolean pretty : new boolean[] {true, false}) {
            String text = PythonJson.write(ImageJson.toJson(ImageReader.parse(original, "x"), pretty), pretty);
            Image again = ImageJson.fromJson(JSON.readTree(text), "x.json");
            assertArrayEquals(original, ImageWriter.toBytes(again), pretty ? "pretty" : "plain");
        }
    }
}
