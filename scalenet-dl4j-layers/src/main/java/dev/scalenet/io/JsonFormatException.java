package dev.scalenet.io;

import java.io.IOException;

/**
 * JSON text that {@link Json} refuses. The message says what is wrong and where in the text (line and column); it does
 * not name the file, which the caller knows and adds in its own exception.
 */
public class JsonFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public JsonFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
