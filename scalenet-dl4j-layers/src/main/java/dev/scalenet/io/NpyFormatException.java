package dev.scalenet.io;

import java.io.IOException;

/** A {@code .npy} file that is malformed or not a little-endian float array; the message names the file. */
public class NpyFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public NpyFormatException(String message) {
        super(message);
    }

    public NpyFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
