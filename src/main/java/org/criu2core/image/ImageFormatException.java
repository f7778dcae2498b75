package org.criu2core.image;

/** An image file whose bytes are not what CRIU writes, at a known byte offset. */
public final class ImageFormatException extends CheckpointException {
    private final long offset;

    public ImageFormatException(String file, long offset, String what) {
        this(file, offset, what, null);
    }

    public ImageFormatException(String file, long offset, String what, Throwable cause) {
        super(file, file + ":" + offset + ": " + what, cause);
        this.offset = offset;
    }

    /** Byte offset in the file where the problem starts. */
    public long offset() {
        return offset;
    }
}
