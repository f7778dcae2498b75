package org.criu2core.container;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * An image layer written entry by entry for a test, as Commons Compress writes tar (what no honest
 * tool writes too: names with "..", links out of the root, devices). Names are kept as given.
 */
final class Layer {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final TarArchiveOutputStream tar;

    Layer() {
        tar = new TarArchiveOutputStream(bytes);
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    }

    Layer file(String name, String content) {
        return file(name, content.getBytes(StandardCharsets.UTF_8), 0644);
    }

    Layer file(String name, byte[] content, int mode) {
        var e = new TarArchiveEntry(name, true);
        e.setSize(content.length);
        e.setMode(0100000 | mode);
        return put(e, content);
    }

    Layer dir(String name) {
        var e = new TarArchiveEntry(name.endsWith("/") ? name : name + "/", true);
        e.setMode(040755);
        return put(e, null);
    }

    Layer symlink(String name, String target) {
        var e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
        e.setLinkName(target);
        return put(e, null);
    }

    Layer hardLink(String name, String target) {
        var e = new TarArchiveEntry(name, TarConstants.LF_LINK, true);
        e.setLinkName(target);
        return put(e, null);
    }

    Layer device(String name) {
        var e = new TarArchiveEntry(name, TarConstants.LF_CHR, true);
        e.setDevMajor(1);
        e.setDevMinor(3);
        return put(e, null);
    }

    Layer fifo(String name) {
        return put(new TarArchiveEntry(name, TarConstants.LF_FIFO, true), null);
    }

    /** {@code .wh.NAME} in {@code folder}: NAME is gone from the layers below. */
    Layer whiteout(String folder, String name) {
        return file((folder.isEmpty() ? "" : folder + "/") + ".wh." + name, new byte[0], 0);
    }

    /** {@code .wh..wh..opq}: the folder holds only this layer's files. */
    Layer opaque(String folder) {
        return file(folder + "/.wh..wh..opq", new byte[0], 0);
    }

    private Layer put(TarArchiveEntry e, byte[] content) {
        try {
            tar.putArchiveEntry(e);
            if (content != null) {
                tar.write(content);
            }
            tar.closeArchiveEntry();
            return this;
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    byte[] bytes() {
        try {
            tar.finish();
            tar.close();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    byte[] gzip() {
        var out = new ByteArrayOutputStream();
        try (var gz = new GZIPOutputStream(out)) {
            gz.write(bytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
