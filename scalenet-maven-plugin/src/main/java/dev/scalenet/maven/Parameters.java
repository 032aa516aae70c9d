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
        return unusable(parameter, value, "expected " + expected);
    }

    /** A configuration error: the parameter, the value given, what is wrong with it. */
    static MojoFailureException unusable(String parameter, Object value, String problem) {
        // no cause attached: Maven would print the library's message a second time after ours
        return new MojoFailureException("Invalid " + describe(parameter) + " = " + value + ": " + problem
                + ". Fix the <" + parameter + "> element of the scalenet plugin's <configuration>, or pass -D"
                + PROPERTY_PREFIX + parameter + "=...");
    }

    /** A required parameter that was not given. */
    static MojoFailureException missing(String parameter, String what) {
        return new MojoFailureException("Missing " + describe(parameter) + ": " + what + ". Set the <" + parameter
                + "> element of the scalenet plugin's <configuration>, or pass -D" + PROPERTY_PREFIX + parameter + "=...");
    }
}
