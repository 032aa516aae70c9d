package dev.scalenet;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** This library's version, as Maven built it (a filtered resource, so it is right in tests and jars alike). */
public final class Version {
    private static final String RESOURCE = "/dev/scalenet/version.properties";
    private static final String LIBRARY = read();

    private Version() {}

    /** e.g. {@code 0.1.0-SNAPSHOT}. */
    public static String library() {
        return LIBRARY;
    }

    private static String read() {
        try (InputStream in = Version.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException(RESOURCE + " is missing from the class path");
            Properties p = new Properties();
            p.load(in);
            String v = p.getProperty("version", "");
            if (v.isEmpty() || v.contains("${")) {
                throw new IllegalStateException(RESOURCE + " was not filtered by Maven (version=" + v + ")");
            }
            return v;
        } catch (IOException e) {
            throw new UncheckedIOException(RESOURCE + ": " + e.getMessage(), e);
        }
    }
}
