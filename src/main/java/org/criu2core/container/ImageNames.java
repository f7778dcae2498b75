package org.criu2core.container;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Image names and digests as engines write them, compared as distribution/reference normalises
 * them: "nginx", "library/nginx:latest" and "docker.io/library/nginx:latest" are one image;
 * "localhost/app:1" (podman's local images) is its own name.
 */
final class ImageNames {
    private static final Pattern DIGEST = Pattern.compile("(?:sha256:)?([0-9a-f]{64})");
    private static final Pattern NAME_DIGEST = Pattern.compile("@sha256:([0-9a-f]{64})$");

    private ImageNames() {
    }

    /** Whether {@code a} and {@code b} name the same repository and tag. */
    static boolean same(String a, String b) {
        return normal(a).equals(normal(b));
    }

    /** "registry/path:tag": docker.io's library/ and :latest filled in, lower case. */
    static String normal(String name) {
        String n = name.strip().toLowerCase(Locale.ROOT);
        int at = n.indexOf('@');
        if (at >= 0) {
            n = n.substring(0, at);
        }
        int slash = n.lastIndexOf('/');
        if (n.lastIndexOf(':') <= slash) {
            n = n + ":latest";
        }
        int first = n.indexOf('/');
        String host = first < 0 ? "" : n.substring(0, first);
        boolean hasRegistry = host.contains(".") || host.contains(":") || host.equals("localhost");
        if (!hasRegistry) {
            n = "docker.io/" + (first < 0 ? "library/" : "") + n;
        } else if (host.equals("docker.io") && n.indexOf('/', first + 1) < 0) {
            n = "docker.io/library/" + n.substring(first + 1);
        }
        return n;
    }

    /** The sha256 digest in a reference: a bare image id, "sha256:HEX", or "name@sha256:HEX". */
    static Optional<String> digest(String reference) {
        Matcher named = NAME_DIGEST.matcher(reference.strip());
        if (named.find()) {
            return Optional.of("sha256:" + named.group(1));
        }
        Matcher bare = DIGEST.matcher(reference.strip());
        return bare.matches() ? Optional.of("sha256:" + bare.group(1)) : Optional.empty();
    }

    /**
     * Whether {@code image} is the image the checkpoint names by {@code name} and {@code ref}:
     * true or false where a digest or a full name decides, empty where nothing can (a checkpoint
     * that names no image, an image saved without names).
     */
    static Optional<Boolean> matches(OciImage.Image image, String name, String ref) {
        for (String r : new String[] {ref, name}) {
            if (r == null) {
                continue;
            }
            Optional<String> digest = digest(r);
            if (digest.isPresent()) {
                if (image.digests().contains(digest.get())) {
                    return Optional.of(true);
                }
                // a repo digest names a manifest, which a docker-archive does not keep: its name decides
                boolean manifestsKnown = image.digests().size() > 1;
                if (!r.contains("@") || manifestsKnown) {
                    return Optional.of(false);
                }
            }
        }
        List<String> full = image.names().stream().filter(n -> n.contains("/") || n.contains(":")).toList();
        if (name == null || full.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(full.stream().anyMatch(n -> same(n, name)));
    }
}
