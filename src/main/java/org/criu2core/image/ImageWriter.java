package org.criu2core.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Writes an {@link Image} in the framing {@link ImageReader} reads. */
public final class ImageWriter {
    private ImageWriter() {
    }

    public static void write(Image image, OutputStream out) throws IOException {
        int magic = Magic.value(image.magic())
                .orElseThrow(() -> new IllegalArgumentException("unknown magic name " + image.magic()));
        var leading = Magic.leadingMagic(image.magic());
        if (leading.isPresent()) {
            out.write(le32(leading.get()));
        }
        out.write(le32(magic));
        for (ImageEntry entry : image.entries()) {
            byte[] message = entry.message().toByteArray();
            out.write(le32(message.length));
            out.write(message);
            out.write(entry.extra());
        }
    }

    public static byte[] toBytes(Image image) {
        var out = new ByteArrayOutputStream();
        try {
            write(image, out);
        } catch (IOException e) {
            throw new IllegalStateException("a byte array stream does not fail", e);
        }
        return out.toByteArray();
    }

    private static byte[] le32(int value) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array();
    }
}
