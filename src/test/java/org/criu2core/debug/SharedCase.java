package org.criu2core.debug;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.criu2core.Fixtures;

/**
 * A real case of ../shared with the kernel's cores: its checkpoint (a directory of images, or
 * the podman archive), its root, and the folder whose expected/ has the kernel's cores.
 *
 * @param mayBeRefused a case that convert does not take yet, being worked on in other issues
 *                     (vmakinds: issue 13; ppc64le, s390x: issue 17): its tests skip, saying why,
 *                     while convert refuses it, and run as soon as it converts
 */
public record SharedCase(String name, Path dir, Path checkpoint, Path root, boolean mayBeRefused) {
    private static final Set<String> NOT_YET_CONVERTED = Set.of("vmakinds", "ppc64le-threads", "s390x-threads");

    @Override
    public String toString() {
        return name;
    }

    /** Every case of ../shared that has the kernel's cores; empty without ../shared. */
    /**
     * Every case, for a parameterized test ({@code @MethodSource(SharedCase.PRESENT)}); the test is
     * skipped, saying why, where ../shared is absent.
     */
    public static java.util.stream.Stream<SharedCase> present() throws IOException {
        List<SharedCase> all = all();
        org.junit.jupiter.api.Assumptions.assumeFalse(all.isEmpty(), "skipped: " + org.criu2core.Fixtures.SHARED
                + " is absent (the kernel's cores are in ../shared, which CI always has)");
        return all.stream();
    }

    /** The method source of {@link #present}. */
    public static final String PRESENT = "org.criu2core.debug.SharedCase#present";

    public static List<SharedCase> all() throws IOException {
        List<SharedCase> cases = new ArrayList<>();
        for (String group : List.of("checkpoints", "checkpoints-arm", "checkpoints-guests")) {
            Path dir = Fixtures.SHARED.resolve(group);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> s = Files.list(dir)) {
                for (Path c : s.sorted().toList()) {
                    if (Files.isDirectory(c.resolve("images")) && Files.isDirectory(c.resolve("expected"))) {
                        String name = c.getFileName().toString();
                        cases.add(new SharedCase(group + "/" + name, c, c.resolve("images"), c.resolve("root"),
                                NOT_YET_CONVERTED.contains(name)));
                    }
                }
            }
        }
        Path podman = Fixtures.SHARED.resolve("archives/podman");
        if (Files.isRegularFile(podman.resolve("podman-export.tar.gz"))) {
            cases.add(new SharedCase("archives/podman", podman, podman.resolve("podman-export.tar.gz"),
                    podman.resolve("root"), false));
        }
        return cases;
    }
}
