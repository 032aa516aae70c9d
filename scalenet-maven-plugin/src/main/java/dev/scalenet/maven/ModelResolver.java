package dev.scalenet.maven;

import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugin.logging.Log;
import org.eclipse.aether.RepositorySystem;
import org.eclipse.aether.RepositorySystemSession;
import org.eclipse.aether.repository.RemoteRepository;
import org.eclipse.aether.resolution.ArtifactRequest;
import org.eclipse.aether.resolution.ArtifactResolutionException;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Turns a model parameter into files: a path (relative to the project's base directory), or
 * {@code groupId:artifactId:version[:type[:classifier]]} resolved through the build's repositories.
 */
final class ModelResolver {
    /**
     * A model file and, for a {@code .safetensors} from a repository, its sidecar JSON if one was published;
     * {@code coordinates} when it was resolved from Maven coordinates, else null.
     */
    record Resolved(Path file, Path sidecar, String coordinates) {}

    private final RepositorySystem system;
    private final RepositorySystemSession session;
    private final List<RemoteRepository> repositories;
    private final File baseDir;
    private final Log log;

    ModelResolver(RepositorySystem system, RepositorySystemSession session, List<RemoteRepository> repositories, File baseDir, Log log) {
        this.system = system;
        this.session = session;
        this.repositories = repositories;
        this.baseDir = baseDir;
        this.log = log;
    }

    Resolved resolve(String parameter, String value) throws MojoFailureException {
        if (value == null || value.isBlank()) {
            throw Parameters.missing(parameter, "a model file (timm .safetensors or a ScaleNet model zip) or Maven coordinates groupId:artifactId:version[:type[:classifier]]");
        }
        Optional<ArtifactCoordinates> coordinates = ArtifactCoordinates.parse(value.trim());
        Path asFile = file(value.trim());
        if (coordinates.isEmpty() || Files.exists(asFile)) {
            return new Resolved(requireFile(parameter, asFile), null, null);
        }
        ArtifactCoordinates c = coordinates.get();
        Path file = fetch(c).orElseThrow(() -> Parameters.invalid(parameter, value, "coordinates of an artifact in the build's repositories ("
                + repositories.stream().map(r -> r.getId() + " " + r.getUrl()).collect(Collectors.joining(", "))
                + ", and the local repository); " + c + " could not be resolved, see the log above"));
        log.info("Resolved " + Parameters.describe(parameter) + " " + c + " to " + file);
        Path sidecar = null;
        if (c.type().equals("safetensors")) {
            // timm's constructor arguments travel as a json artifact beside the weights; optional
            sidecar = fetch(c.withType("json")).orElse(null);
            if (sidecar != null) log.info("Resolved its sidecar " + c.withType("json") + " to " + sidecar);
        }
        return new Resolved(file, sidecar, c.toString());
    }

    private Optional<Path> fetch(ArtifactCoordinates c) {
        try {
            return Optional.of(system.resolveArtifact(session, new ArtifactRequest(c.toArtifact(), repositories, null))
                    .getArtifact().getFile().toPath());
        } catch (ArtifactResolutionException e) {
            log.debug(e.getMessage(), e);
            return Optional.empty();
        }
    }

    /** A path parameter, relative to the project's base directory. */
    Path file(String value) {
        Path p = Path.of(value);
        return p.isAbsolute() ? p : baseDir.toPath().resolve(p).normalize();
    }

    static Path requireFile(String parameter, Path file) throws MojoFailureException {
        if (!Files.isRegularFile(file)) {
            throw Parameters.invalid(parameter, file, Files.isDirectory(file) ? "a file, not a directory" : "an existing file (not found)");
        }
        if (!Files.isReadable(file)) throw Parameters.invalid(parameter, file, "a readable file (permission denied)");
        return file;
    }
}
