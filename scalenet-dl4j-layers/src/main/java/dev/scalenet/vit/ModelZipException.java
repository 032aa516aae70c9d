package dev.scalenet.vit;

import java.io.IOException;

/** A model zip that cannot be read; the message names the file, the entry and what was expected. */
public class ModelZipException extends IOException {
    private static final long serialVersionUID = 1L;

    public ModelZipException(String message) {
        super(message);
    }

    public ModelZipException(String message, Throwable cause) {
        super(message, cause);
    }
}
