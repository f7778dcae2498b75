package org.criu2core.sys;

import java.io.IOException;

/** A file that could not be opened, read or written, named as the user knows it. */
public final class FileException extends IOException {
    private final String file;

    public FileException(String file, String what) {
        super(file + ": " + what);
        this.file = file;
    }

    public FileException(String file, String what, Throwable cause) {
        super(file + ": " + what, cause);
        this.file = file;
    }

    public String file() {
        return file;
    }
}
