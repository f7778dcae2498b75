package org.criu2core.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Writes an {@link Image} in the framing {@link ImageReader} reads, in the image's byte order. */
public final class ImageWriter {
    private ImageWriter() {
    }

    public static void write(Image image, OutputStream out) throws IOException {
        int magic = Magic.value(image.magic())
                .orElseThrow(() -> new IllegalArgumentException("unknown magic name " + image.magic()));
        ByteOrder order = image.byteOrder();
        var leading = Magic.leadingMagic(image.magic());
        if (leading.isPresent()) {
            out.write(u32(leading.get(), order));
        }
        out.write(u32(magic, order));
        for (ImageEntry entry : image.entries()) {
            byte[] message = entry.message().toByteArray();
            out.write(u32(message.length, order));
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

    private static byte[] u32(int value, ByteOrder order) {
        return ByteBuffer.allocate(4).order(order).putInt(value).array();
    }
}
