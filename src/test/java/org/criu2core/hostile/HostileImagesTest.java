package org.criu2core.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.criu2core.Fixtures;
import org.criu2core.KernelCores;
import org.criu2core.elf.CoreFile;
import org.criu2core.image.CheckpointException;
import org.criu2core.image.ImageEntry;
import org.criu2core.image.ImageFormatException;
import org.criu2core.image.ImageJson;
import org.criu2core.image.ImageReader;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Truncated, bit-flipped and garbage images: every one either reads, or fails with one line
 * naming the file (and byte offset) and exit status 1, leaving no core behind.
 */
class HostileImagesTest {
    /** A flipped bit may still parse; then the tool must go on as with any valid image. */
    private static final int FLIP_BYTES = 16;
    private static final int TRUNCATE_BYTES = 64;

    @TempDir
    Path tmp;

    static Stream<Named<Path>> images() throws IOException {
        List<Named<Path>> out = new ArrayList<>();
        for (Path c : Fixtures.cases()) {
            for (String sub : List.of("images", "pre")) {
                Path dir = c.resolve(sub);
                if (Files.isDirectory(dir)) {
                    try (Stream<Path> files = Files.list(dir)) {
                        files.filter(p -> !p.getFileName().toString().startsWith("pages-")
                                        && !p.getFileName().toString().equals("parent"))
                                .sorted().forEach(p -> out.add(Named.of(Fixtures.ROOT.relativize(p).toString(), p)));
                    }
                }
            }
        }
        return out.stream();
    }

    /** Where the image's entries start: truncating there leaves a shorter, valid image. */
    private static List<Integer> entryBoundaries(byte[] bytes) throws IOException {
        List<Integer> at = new ArrayList<>();
        for (ImageEntry e : ImageReader.parse(bytes, "x").entries()) {
            at.add((int) e.offset());
        }
        return at;
    }

    /** The mutations of one image: cut at each of the first bytes and at each entry, bits flipped. */
    static Map<String, byte[]> mutations(byte[] bytes, int flipBytes) throws IOException {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (int n = 0; n < Math.min(TRUNCATE_BYTES, bytes.length); n++) {
            m.put("cut at " + n, Arrays.copyOf(bytes, n));
        }
        for (int at : entryBoundaries(bytes)) {
            for (int n : new int[] {at, at + 1, at + 4, at + 5}) {
                if (n < bytes.length) {
                    m.put("cut at " + n, Arrays.copyOf(bytes, n));
                }
            }
        }
        // the magic words, then the first entries' size words and messages
        for (int i = 0; i < Math.min(8 + flipBytes, bytes.length); i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] flipped = bytes.clone();
                flipped[i] ^= (byte) (1 << bit);
                m.put("bit " + bit + " of byte " + i, flipped);
            }
        }
        return m;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("images")
    void decodingAMutatedImageEitherWorksOrSaysWhereItIsWrong(Path image) throws Exception {
        byte[] bytes = Files.readAllBytes(image);
        int flips = bytes.length > 256 * 1024 ? 0 : FLIP_BYTES; // a 2 MiB mm image parses slowly 128 times
        for (var m : mutations(bytes, flips).entrySet()) {
            try {
                ImageJson.toJson(ImageReader.parse(m.getValue(), "img"), true);
            } catch (ImageFormatException e) {
                assertTrue(e.getMessage().startsWith("img:" + e.offset() + ": "), m.getKey() + ": " + e.getMessage());
                assertTrue(e.offset() >= 0 && e.offset() <= m.getValue().length, m.getKey() + ": offset " + e.offset());
                assertFalse(e.getMessage().contains("\n"), m.getKey() + ": one line");
            } catch (RuntimeException | IOException e) {
                fail(image + ", " + m.getKey() + ": " + e, e);
            }
        }
    }

    @Test
    void decodeOfATruncatedImageIsOneLine() throws Exception {
        Path image = tmp.resolve("core-7090.img");
        byte[] bytes = Files.readAllBytes(Fixtures.checkpoint("compat32").resolve("images/core-7090.img"));
        Files.write(image, Arrays.copyOf(bytes, 100));
        var run = KernelCores.cli("decode", "-i", image.toString());
        assertEquals(1, run.status());
        assertEquals("criu2core: " + image + ":8: entry 0: size " + (bytes.length - 12)
                + " is larger than the 88 bytes left\n", run.err());
        assertEquals("", run.out());
    }

    private static final Pattern ERROR_LINE = Pattern.compile("criu2core: \\S+?(:\\d+)?: .+");
    private static final Pattern INFO_LINE = Pattern.compile(
            "(\\S+/core\\.\\d+: .*|process \\d+ .*: .*, no memory image; no core|warning: .*|\\d+ cores? written .*)");

    private void convertsOrFailsCleanly(Path images, String name, byte[] replacement, String what) throws Exception {
        convertsOrFailsCleanly(images, name, replacement, what, "0x33");
    }

    /** Converts with one image replaced; checks what every conversion must hold. */
    private void convertsOrFailsCleanly(Path images, String name, byte[] replacement, String what, String filter)
            throws Exception {
        Path file = images.resolve(name);
        byte[] original = Files.readAllBytes(file);
        Path out = tmp.resolve("out");
        try {
            Files.write(file, replacement);
            var run = KernelCores.cli("convert", "-D", images.toString(), "-o", out.toString(), "--root", tmp.toString(),
                    "--filter", filter);
            String context = name + ", " + what + ":\n" + run.err();
            assertFalse(run.err().contains("internal error"), context);
            for (String line : run.err().split("\n")) {
                assertTrue(ERROR_LINE.matcher(line).matches() || INFO_LINE.matcher(line).matches(), context);
            }
            try (Stream<Path> left = Files.list(out)) {
                List<String> files = left.map(p -> p.getFileName().toString()).toList();
                // the cores reported as written are there and whole, and nothing else is
                List<String> reported = run.err().lines().filter(l -> l.matches("\\S+/core\\.\\d+: .*"))
                        .map(l -> l.substring(l.lastIndexOf('/', l.indexOf(": ")) + 1, l.indexOf(": "))).sorted().toList();
                assertEquals(reported, files.stream().sorted().toList(), "no partial file: " + context);
                for (String f : files) {
                    // opening checks every segment lies within the file
                    try (var core = CoreFile.open(out.resolve(f))) {
                        assertEquals(org.criu2core.elf.Elf.ET_CORE, core.type(), context);
                    }
                }
                if (run.status() != 0) {
                    assertEquals(1, run.status(), context);
                    assertTrue(run.err().lines().anyMatch(l -> ERROR_LINE.matcher(l).matches()), context);
                }
            } catch (java.nio.file.NoSuchFileException noOutputDirectory) {
                assertEquals(1, run.status(), context);
            }
        } finally {
            Files.write(file, original);
            if (Files.isDirectory(out)) {
                try (Stream<Path> left = Files.list(out)) {
                    for (Path p : left.toList()) {
                        Files.delete(p);
                    }
                }
            }
        }
    }

    private Path compat32Copy() throws IOException {
        Path images = Fixtures.copyImages("compat32", tmp.resolve("images"));
        return images;
    }

    @Test
    void convertingWithAnyImageTruncatedOrFlipped() throws Exception {
        Path images = compat32Copy();
        try (Stream<Path> files = Files.list(images)) {
            for (Path file : files.sorted().toList()) {
                String name = file.getFileName().toString();
                byte[] bytes = Files.readAllBytes(file);
                Map<String, byte[]> mutations;
                if (name.startsWith("pages-")) {
                    mutations = Map.of("cut in half", Arrays.copyOf(bytes, bytes.length / 2), "empty", new byte[0]);
                } else {
                    mutations = mutations(bytes, FLIP_BYTES);
                }
                for (var m : mutations.entrySet()) {
                    convertsOrFailsCleanly(images, name, m.getValue(), m.getKey());
                }
            }
        }
    }

    /**
     * Every real checkpoint (but the 70 000-VMA one, whose 2 MiB mm image takes long to parse
     * hundreds of times) converted with each image cut at its first bytes and at its first
     * entries. --filter 0 leaves memory out but for the special areas: what is exercised is
     * reading, checking and planning; the page copying is, above, on compat32.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"checkpoints/threads", "checkpoints/tree",
            "checkpoints/incremental", "checkpoints-arm/aarch64-threads", "checkpoints-arm/armv7l-threads"})
    void convertingAnyRealCheckpointWithAnImageCut(String fixture) throws Exception {
        Path images = tmp.resolve("images");
        for (String dir : List.of("images", "pre")) { // pre/: the parent snapshot, where parent leads
            Path from = Fixtures.ROOT.resolve(fixture).resolve(dir);
            if (Files.isDirectory(from)) {
                Files.createDirectories(tmp.resolve(dir));
                try (Stream<Path> files = Files.list(from)) {
                    for (Path p : files.toList()) {
                        Files.copy(p, tmp.resolve(dir).resolve(p.getFileName()));
                    }
                }
            }
        }
        try (Stream<Path> files = Files.list(images)) {
            for (Path file : files.sorted().toList()) {
                String name = file.getFileName().toString();
                if (name.startsWith("pages-") || name.equals("parent")) {
                    continue;
                }
                byte[] bytes = Files.readAllBytes(file);
                Map<String, byte[]> cuts = new LinkedHashMap<>();
                for (int n = 0; n < Math.min(16, bytes.length); n++) {
                    cuts.put("cut at " + n, Arrays.copyOf(bytes, n));
                }
                List<Integer> boundaries = entryBoundaries(bytes);
                for (int at : boundaries.subList(0, Math.min(8, boundaries.size()))) {
                    for (int n : new int[] {at + 1, at + 5}) {
                        if (n < bytes.length) {
                            cuts.put("cut at " + n, Arrays.copyOf(bytes, n));
                        }
                    }
                }
                for (var cut : cuts.entrySet()) {
                    convertsOrFailsCleanly(images, name, cut.getValue(), cut.getKey(), "0");
                }
            }
        }
    }

    @Test
    void convertingWithGarbageInPlaceOfAnyImage() throws Exception {
        Path images = compat32Copy();
        var random = new Random(1);
        try (Stream<Path> files = Files.list(images)) {
            for (Path file : files.sorted().toList()) {
                for (int size : new int[] {1, 7, 1024}) {
                    byte[] garbage = new byte[size];
                    random.nextBytes(garbage);
                    convertsOrFailsCleanly(images, file.getFileName().toString(), garbage, size + " random bytes");
                }
            }
        }
    }

    @Test
    void aCheckpointThatIsNotOneIsOneLine() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        var run = KernelCores.cli("convert", "-D", empty.toString(), "-o", tmp.resolve("out").toString());
        assertEquals(1, run.status());
        assertEquals("criu2core: " + empty.resolve("pstree.img") + ": missing from the checkpoint\n", run.err());
        var json = KernelCores.cli("encode", "-i", Fixtures.checkpoint("compat32").resolve("images/pstree.img").toString(),
                "-o", tmp.resolve("x.img").toString());
        assertEquals(1, json.status());
        assertTrue(ERROR_LINE.matcher(json.err().strip()).matches(), json.err());
        assertTrue(json.err().contains("not JSON at line 1"), json.err());
        assertFalse(Files.exists(tmp.resolve("x.img")));
    }

    @Test
    void checkpointExceptionsNameTheirFile() {
        var e = new CheckpointException("a/b.img", "broken");
        assertEquals("a/b.img: broken", e.getMessage());
        assertEquals("a/b.img", e.file());
    }
}
