package org.example;

/**
 * A class outside the model configuration's allowlist whose loading is visible: its static initializer sets a system
 * property, so a test can tell that a type id naming it was refused before Jackson loaded it.
 */
public final class TypeIdMarker {
    public static final String LOADED = "scalenet.test.TypeIdMarker.loaded";

    static {
        System.setProperty(LOADED, "true");
    }

    private TypeIdMarker() {
    }
}
