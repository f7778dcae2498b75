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

/**
 * Every image of the real checkpoints decodes to what crit printed, and encodes back to its bytes,
 * in the byte order of the machine that dumped it (s390x: big-endian).
 */
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
        assertEquals(crit42Names(crits(imageAndJson[1])), ours);
    }

    /** crit's own JSON, as it is in the fixture, encodes to the image's bytes, in its byte order. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void encodeOfCritsJsonGivesTheImage(Path[] imageAndJson) throws IOException {
        byte[] original = Files.readAllBytes(imageAndJson[0]);
        var order = ImageReader.parse(original, "x").byteOrder();
        Image encoded = ImageJson.fromJson(crits(imageAndJson[1]), imageAndJson[1].toString(), order);
        assertArrayEquals(original, ImageWriter.toBytes(encoded));
    }

    private static JsonNode crits(Path json) throws IOException {
        try (InputStream in = Fixtures.open(json)) {
            return JSON.readTree(in);
        }
    }

    /**
     * crit's JSON under the names of crit 4.2, which decode follows: crit before 4.2 (CRIU 3.17.1
     * in the Debian 12 guests of checkpoints-guests) prints pagemap_entry's field 2 as "nr_pages",
     * which CRIU 4.2 renamed compat_nr_pages when it gave nr_pages to a new 64-bit field 5.
     */
    private static JsonNode crit42Names(JsonNode crits) {
        if (!crits.path("magic").asText().equals("PAGEMAP")) {
            return crits;
        }
        JsonNode renamed = crits.deepCopy();
        for (JsonNode entry : renamed.path("entries")) {
            var e = (com.fasterxml.jackson.databind.node.ObjectNode) entry;
            if (e.has("nr_pages") && !e.has("compat_nr_pages") && e.has("vaddr")) {
                var fields = new java.util.LinkedHashMap<String, JsonNode>();
                e.fields().forEachRemaining(f -> fields.put(f.getKey().equals("nr_pages") ? "compat_nr_pages"
                        : f.getKey(), f.getValue()));
                e.removeAll();
                e.setAll(fields);
            }
        }
        return renamed;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void encodeOfDecodeGivesTheSameBytes(Path[] imageAndJson) throws IOException {
        byte[] original = Files.readAllBytes(imageAndJson[0]);
        var order = ImageReader.parse(original, "x").byteOrder();
        for (boolean pretty : new boolean[] {true, false}) {
            String text = PythonJson.write(ImageJson.toJson(ImageReader.parse(original, "x"), pretty), pretty);
            Image again = ImageJson.fromJson(JSON.readTree(text), "x.json", order);
            assertArrayEquals(original, ImageWriter.toBytes(again), pretty ? "pretty" : "plain");
        }
    }
}
