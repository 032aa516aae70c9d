package dev.scalenet.maven;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ArtifactCoordinatesTest {
    @Test
    @DisplayName("groupId:artifactId:version means our model zip")
    void threeParts() {
        ArtifactCoordinates c = ArtifactCoordinates.parse("org.example:vit:1.0").orElseThrow();
        assertEquals(new ArtifactCoordinates("org.example", "vit", "1.0", "zip", ""), c);
    }

    @Test
    @DisplayName("type and classifier follow the version, as in Maven's dependency order")
    void typeAndClassifier() {
        ArtifactCoordinates c = ArtifactCoordinates.parse("org.example:vit-x8:1.0-SNAPSHOT:zip:scalenet").orElseThrow();
        assertEquals("zip", c.type());
        assertEquals("scalenet", c.classifier());
        assertEquals("1.0-SNAPSHOT", c.version());
        assertEquals("org.example:vit-x8:zip:scalenet:1.0-SNAPSHOT", c.toArtifact().toString());
    }

    @Test
    @DisplayName("an empty type keeps the default, so a classifier can be given alone")
    void emptyType() {
        ArtifactCoordinates c = ArtifactCoordinates.parse("g:a:1::scalenet").orElseThrow();
        assertEquals("zip", c.type());
        assertEquals("scalenet", c.classifier());
    }

    @Test
    @DisplayName("the sidecar of a safetensors artifact: same coordinates, type json")
    void sidecar() {
        ArtifactCoordinates c = ArtifactCoordinates.parse("g:a:1:safetensors").orElseThrow().withType("json");
        assertEquals("g:a:1:json", c.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"models/vit.safetensors", "/abs/vit.zip", "C:\\models\\vit.zip", "vit.zip", "a:b", "a:b:c:d:e:f", "g:a:1 2", "../x:y:z"})
    @DisplayName("paths and malformed values are not coordinates")
    void notCoordinates(String value) {
        assertTrue(ArtifactCoordinates.parse(value).isEmpty(), value);
    }
}
