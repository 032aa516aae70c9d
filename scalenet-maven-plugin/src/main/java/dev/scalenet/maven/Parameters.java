package dev.scalenet.maven;

import org.apache.maven.plugin.MojoFailureException;

/**
 * How failure messages name a plugin parameter: as the POM element and as its command-line property, so the
 * user can find it whichever way they set it. Every parameter's user property is {@code scalenet.<name>}, and the
 * library's setting names ({@code InvalidSettingException.setting()}) are the parameter names.
 */
final class Parameters {
    static final String PROPERTY_PREFIX = "scalenet.";

    private Parameters() {}

    /** {@code <depth> (-Dscalenet.depth)}. */
    static String describe(String parameter) {
        return "<" + parameter + "> (-D" + PROPERTY_PREFIX + parameter + ")";
    }

    /** A configuration error: the parameter, the value given, what is allowed. */
    static MojoFailureException invalid(String parameter, Object value, String expected) {
        return new MojoFailureException("Invalid " + describe(parameter) + " = " + value + ": expected " + expected
                + ". Fix the <" + parameter + "> element of the scalenet plugin's <configuration>, or pass -D"
                + PROPERTY_PREFIX + parameter + "=...");
    }

    /** A configuration error with a cause (kept for -e). */
    static MojoFailureException invalid(String parameter, Object value, String expected, Throwable cause) {
        MojoFailureException e = invalid(parameter, value, expected);
        e.initCause(cause);
        return e;
    }

    /** A required parameter that was not given. */
    static MojoFailureException missing(String parameter, String what) {
        return new MojoFailureException("Missing " + describe(parameter) + ": " + what + ". Set the <" + parameter
                + "> element of the scalenet plugin's <configuration>, or pass -D" + PROPERTY_PREFIX + parameter + "=...");
    }
}
