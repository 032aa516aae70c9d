package dev.scalenet.io;

import java.io.IOException;

/** A safetensors file that cannot be read or written; the message names the file and the tensor. */
public class SafeTensorsException extends IOException {
    private static final long serialVersionUID = 1L;

    public SafeTensorsException(String message) {
        super(message);
    }

    public SafeTensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
