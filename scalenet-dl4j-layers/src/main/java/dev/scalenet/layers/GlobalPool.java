package dev.scalenet.layers;

import java.util.Locale;

/** How the final tokens become one feature vector, as timm's {@code global_pool}. */
public enum GlobalPool {
    /** Take the class token (timm {@code 'token'}). */
    TOKEN,
    /** Average the patch tokens, excluding the class token (timm {@code 'avg'}). */
    AVG;

    /** Parses timm's spelling; {@code field} names the setting in the error. */
    public static GlobalPool parse(String value, String field) {
        switch (value) {
            case "token": return TOKEN;
            case "avg": return AVG;
            default: throw new IllegalArgumentException(
                    field + ": unsupported global_pool '" + value + "', expected 'token' or 'avg'");
        }
    }

    public String timmName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
