package dev.scalenet.data;

import java.io.IOException;

/** A dataset that cannot be found or read; the message names the file or folder and what was expected. */
public class DatasetException extends IOException {
    private static final long serialVersionUID = 1L;

    public DatasetException(String message) {
        super(message);
    }

    public DatasetException(String message, Throwable cause) {
        super(message, cause);
    }
}
