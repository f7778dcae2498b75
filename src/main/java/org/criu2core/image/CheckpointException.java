package org.criu2core.image;

import java.io.IOException;

/**
 * Something in a checkpoint is wrong or unsupported. The message always names the file it is
 * about, so a user can go and look; the CLI prints it as one line.
 */
public class CheckpointException extends IOException {
    private final String file;

    public CheckpointException(String file, String what) {
        super(file + ": " + what);
        this.file = file;
    }

    protected CheckpointException(String file, String message, Throwable cause) {
        super(message, cause);
        this.file = file;
    }

    /** The checkpoint file this is about, as the user named it. */
    public String file() {
        return file;
    }
}
