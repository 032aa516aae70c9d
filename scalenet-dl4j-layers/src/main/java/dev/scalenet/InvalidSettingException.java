package dev.scalenet;

import java.util.Objects;

/**
 * A setting (expansion plan, training recipe, data) has a value that cannot work. Names the setting the way
 * the Maven plugin's parameters and the command line name it, the value given, and what is allowed, so each
 * front end can point at its own spelling of the setting.
 */
public class InvalidSettingException extends IllegalArgumentException {
    private final String setting;
    private final String value;
    private final String expected;

    public InvalidSettingException(String setting, Object value, String expected) {
        super(setting + " = " + value + ": expected " + expected);
        this.setting = Objects.requireNonNull(setting);
        this.value = String.valueOf(value);
        this.expected = Objects.requireNonNull(expected);
    }

    /** The setting's name, e.g. {@code batchSize}. */
    public String setting() { return setting; }

    /** The value given, as text. */
    public String value() { return value; }

    /** What is allowed. */
    public String expected() { return expected; }

    /** Throws unless {@code ok}. */
    public static void require(boolean ok, String setting, Object value, String expected) {
        if (!ok) throw new InvalidSettingException(setting, value, expected);
    }
}
