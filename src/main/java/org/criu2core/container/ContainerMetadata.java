package org.criu2core.container;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.criu2core.image.CheckpointException;

/**
 * What a container engine wrote about the container beside its CRIU images, as `criu2core info`
 * shows it. Each engine writes its own files (read from their sources):
 * <ul>
 * <li>podman (libpod/container_internal_common.go): config.dump is libpod's container config
 * ({@code id}, {@code name}, {@code rootfsImageID} the image's config digest,
 * {@code rootfsImageName}, {@code RawImageName}); spec.dump has
 * {@code io.container.manager=libpod}.</li>
 * <li>CRI-O (internal/lib/checkpoint.go): config.dump is checkpointctl's ContainerConfig
 * ({@code id}, {@code name}, {@code rootfsImage}, {@code rootfsImageRef}, {@code rootfsImageName},
 * {@code checkpointedTime}); spec.dump's annotations name the pod ({@code io.kubernetes.pod.name},
 * {@code io.kubernetes.pod.namespace}), the container ({@code io.kubernetes.cri-o.Metadata}, a JSON
 * object with its {@code name}) and the image ({@code io.kubernetes.cri-o.ImageName}), with
 * {@code io.container.manager=cri-o}.</li>
 * <li>containerd (internal/cri/server/container_checkpoint_linux.go): the same ContainerConfig
 * ({@code rootfsImageName} the image's tag, {@code rootfsImageRef} its repo digest), a
 * status.dump (the CRI ContainerStatus) and spec.dump annotations
 * {@code io.kubernetes.cri.container-name}, {@code ...sandbox-name}, {@code ...sandbox-namespace},
 * {@code ...image-name}.</li>
 * </ul>
 * Fields an engine does not write are null.
 *
 * @param engine       podman, CRI-O, containerd, or null when the files do not say
 * @param name         the container's name (Kubernetes: the container's name in its pod)
 * @param id           the container's id
 * @param pod          the Kubernetes pod, where Kubernetes made the checkpoint
 * @param namespace    the pod's namespace
 * @param image        the image's name as the container was made from it (name:tag)
 * @param imageRef     the image's reference by content: an image id (config digest) or a
 *                     name@sha256:digest of its manifest
 * @param checkpointed when the checkpoint was made (RFC 3339), as the engine says or, where it
 *                     says nothing (podman), the time of the checkpoint/ folder in the archive
 */
public record ContainerMetadata(String engine, String name, String id, String pod, String namespace, String image,
                                String imageRef, String checkpointed) {
    public static final String CONFIG_DUMP = "config.dump";
    public static final String SPEC_DUMP = "spec.dump";
    public static final String STATUS_DUMP = "status.dump";
    /** The files read; each at most {@link CheckpointArchive#MAX_METADATA_BYTES}. */
    static final List<String> FILES = List.of(CONFIG_DUMP, SPEC_DUMP, STATUS_DUMP);

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Go's zero time.Time, which checkpointctl's ContainerConfig writes for a time never set. */
    private static final String GO_ZERO_TIME = "0001-01-01T00:00:00Z";

    /**
     * The metadata in {@code files} (name to contents, as in the archive); {@code folderTime} is
     * the checkpoint/ folder's time in the archive, RFC 3339, or null. {@code archive} names the
     * archive in errors: a file that is there but no JSON object is one line.
     */
    static ContainerMetadata parse(Map<String, byte[]> files, String folderTime, String archive)
            throws CheckpointException {
        JsonNode config = object(files.get(CONFIG_DUMP), archive, CONFIG_DUMP);
        JsonNode spec = object(files.get(SPEC_DUMP), archive, SPEC_DUMP);
        JsonNode status = object(files.get(STATUS_DUMP), archive, STATUS_DUMP);
        JsonNode annotations = spec.path("annotations");
        String manager = text(annotations, "io.container.manager");
        String engine;
        String name;
        String pod = null;
        String namespace = null;
        String image = first(text(config, "rootfsImageName"), text(config, "RawImageName"));
        if ("libpod".equals(manager)) {
            engine = "podman";
            name = text(config, "name");
        } else if ("cri-o".equals(manager)) {
            engine = "CRI-O";
            name = first(criOName(annotations), text(config, "name"));
            pod = text(annotations, "io.kubernetes.pod.name");
            namespace = text(annotations, "io.kubernetes.pod.namespace");
            image = first(image, text(annotations, "io.kubernetes.cri-o.ImageName"));
        } else if (annotations.has("io.kubernetes.cri.container-name") || !status.isEmpty()) {
            engine = "containerd";
            name = first(text(annotations, "io.kubernetes.cri.container-name"),
                    text(status.path("metadata"), "name"), text(config, "name"));
            pod = text(annotations, "io.kubernetes.cri.sandbox-name");
            namespace = text(annotations, "io.kubernetes.cri.sandbox-namespace");
            image = first(image, text(annotations, "io.kubernetes.cri.image-name"));
        } else {
            engine = null;
            name = text(config, "name");
        }
        String imageRef = first(text(config, "rootfsImageID"), text(config, "rootfsImageRef"));
        String checkpointed = text(config, "checkpointedTime");
        if (checkpointed == null || checkpointed.equals(GO_ZERO_TIME)) {
            checkpointed = folderTime;
        }
        return new ContainerMetadata(engine, name, text(config, "id"), pod, namespace, image, imageRef, checkpointed);
    }

    /**
     * The names and digests the checkpoint gives for its image, to compare with an image given
     * with --image: the image's name, its reference, and CRI-O's rootfsImage.
     */
    List<String> imageReferences() {
        List<String> refs = new ArrayList<>();
        for (String s : new String[] {image, imageRef}) {
            if (s != null && !s.isBlank()) {
                refs.add(s);
            }
        }
        return refs;
    }

    private static JsonNode object(byte[] bytes, String archive, String file) throws CheckpointException {
        if (bytes == null) {
            return JSON.createObjectNode();
        }
        try {
            JsonNode node = JSON.readTree(bytes);
            if (node == null || !node.isObject()) {
                throw new CheckpointException(archive, "archive entry \"" + file + "\" is not a JSON object");
            }
            return node;
        } catch (IOException e) {
            if (e instanceof CheckpointException c) {
                throw c;
            }
            throw new CheckpointException(archive, "archive entry \"" + file + "\" is not JSON: "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    /** CRI-O's container name: the "name" of the JSON object in its io.kubernetes.cri-o.Metadata annotation. */
    private static String criOName(JsonNode annotations) {
        String metadata = text(annotations, "io.kubernetes.cri-o.Metadata");
        if (metadata == null) {
            return null;
        }
        try {
            return text(JSON.readTree(metadata), "name");
        } catch (IOException e) {
            return null;
        }
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.path(field);
        return v.isTextual() && !v.asText().isEmpty() ? v.asText() : null;
    }

    private static String first(String... values) {
        for (String v : values) {
            if (v != null) {
                return v;
            }
        }
        return null;
    }
}
