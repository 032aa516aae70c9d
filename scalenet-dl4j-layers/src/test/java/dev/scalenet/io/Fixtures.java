package dev.scalenet.io;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** The timm reference files in the test resources (read-only). */
final class Fixtures {
    private Fixtures() {
    }

    static Path timm(String name) throws URISyntaxException {
        URL url = Fixtures.class.getResource("/fixtures/timm/" + name);
        if (url == null) {
            throw new IllegalStateException("missing test resource /fixtures/timm/" + name);
        }
        return Path.of(url.toURI());
    }
}
