package dev.scalenet.maven;

import org.eclipse.aether.artifact.Artifact;
import org.eclipse.aether.artifact.DefaultArtifact;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * {@code groupId:artifactId:version[:type[:classifier]]}, the form a model parameter takes when the model comes
 * from a repository. The order is Maven's dependency order (version third), as in {@code dependency:get}.
 */
record ArtifactCoordinates(String groupId, String artifactId, String version, String type, String classifier) {
    /** Type used when none is given: our model zip. */
    static final String DEFAULT_TYPE = "zip";

    private static final Pattern PART = Pattern.compile("[A-Za-z0-9_.\\-${}]+");

    /**
     * The coordinates {@code value} spells, or empty if it is not coordinates (a file path). A value is taken for
     * coordinates when it has 3 to 5 colon-separated parts of coordinate characters and no path separator: a
     * Windows path like {@code C:\models\vit.zip} has a backslash, a Unix path a slash.
     */
    static Optional<ArtifactCoordinates> parse(String value) {
        if (value == null || value.contains("/") || value.contains("\\")) return Optional.empty();
        String[] p = value.split(":", -1);
        if (p.length < 3 || p.length > 5) return Optional.empty();
        for (int i = 0; i < p.length; i++) {
            boolean optional = i >= 3; // an empty type or classifier means "default"
            if (!(optional && p[i].isEmpty()) && !PART.matcher(p[i]).matches()) return Optional.empty();
        }
        String type = p.length > 3 && !p[3].isEmpty() ? p[3] : DEFAULT_TYPE;
        String classifier = p.length > 4 ? p[4] : "";
        return Optional.of(new ArtifactCoordinates(p[0], p[1], p[2], type, classifier));
    }

    /** The same artifact with another type (a sidecar {@code json} beside a {@code safetensors}). */
    ArtifactCoordinates withType(String otherType) {
        return new ArtifactCoordinates(groupId, artifactId, version, otherType, classifier);
    }

    Artifact toArtifact() {
        // the type is the file extension here: models are not packaged with custom artifact handlers
        return new DefaultArtifact(groupId, artifactId, classifier, type, version);
    }

    @Override
    public String toString() {
        return groupId + ":" + artifactId + ":" + version + ":" + type + (classifier.isEmpty() ? "" : ":" + classifier);
    }
}
