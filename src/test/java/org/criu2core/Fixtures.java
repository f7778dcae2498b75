package org.criu2core;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Assumptions;

/** Where the test data is: the project's fixtures/, and the ground truth in ../shared. */
public final class Fixtures {
    public static final Path ROOT = Path.of("fixtures");
    public static final Path CHECKPOINTS = ROOT.resolve("checkpoints");
    /** Real checkpoints with the kernel's own cores; CI always has it beside the project. */
    public static final Path SHARED = Path.of("..", "shared");

    private Fixtures() {
    }

    /** The case directories under fixtures/checkpoints*, each with images/ and decoded/. */
    public static List<Path> cases() throws IOException {
        try (Stream<Path> top = Files.list(ROOT)) {
            return top.filter(p -> p.getFileName().toString().startsWith("checkpoints"))
                    .flatMap(Fixtures::list)
                    .filter(p -> Files.isDirectory(p.resolve("images")))
                    .sorted()
                    .toList();
        }
    }

    /** Copies the tree at {@code from} to {@code to} (which must not exist), links as links; returns {@code to}. */
    public static Path copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isSymbolicLink(p)) {
                    Files.createSymbolicLink(target, Files.readSymbolicLink(p));
                } else if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        return to;
    }

    public static Path checkpoint(String name) {
        return CHECKPOINTS.resolve(name);
    }

    /** A case of ../shared; the test is skipped, saying so, when ../shared is not there. */
    public static Path sharedCase(String group, String name) {
        Path dir = SHARED.resolve(group).resolve(name);
        Assumptions.assumeTrue(Files.isDirectory(dir),
                "skipped: " + dir + " is absent (the kernel's cores are in ../shared, which CI always has)");
        return dir;
    }

    /**
     * The synthetic checkpoint fixtures/synthetic/ARCH, kept as JSON, encoded with `criu2core
     * encode` into {@code images} (its raw pages file copied as it is).
     */
    public static Path encodeSynthetic(String arch, Path images) throws IOException {
        Path source = ROOT.resolve("synthetic").resolve(arch);
        Files.createDirectories(images);
        try (Stream<Path> files = Files.list(source)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                if (name.endsWith(".json")) {
                    var run = KernelCores.cli("encode", "-i", f.toString(), "-o",
                            images.resolve(name.replace(".json", ".img")).toString());
                    if (run.status() != 0) {
                        throw new IOException("encode " + f + ": " + run.err());
                    }
                } else {
                    Files.copy(f, images.resolve(name));
                }
            }
        }
        return images;
    }

    /** A copy of the images of fixtures/checkpoints/NAME in {@code target}, to break at will. */
    public static Path copyImages(String name, Path target) throws IOException {
        Files.createDirectories(target);
        try (Stream<Path> files = Files.list(checkpoint(name).resolve("images"))) {
            for (Path p : files.toList()) {
                Files.copy(p, target.resolve(p.getFileName()));
            }
        }
        return target;
    }

    /** Opens a file, or its .gz sibling where the fixture is kept compressed. */
    public static InputStream open(Path file) throws IOException {
        if (Files.exists(file)) {
            return Files.newInputStream(file);
        }
        return new GZIPInputStream(Files.newInputStream(file.resolveSibling(file.getFileName() + ".gz")));
    }

    private static Stream<Path> list(Path dir) {
        try {
            return Files.list(dir).toList().stream();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
