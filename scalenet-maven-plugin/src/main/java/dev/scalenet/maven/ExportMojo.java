package dev.scalenet.maven;

import dev.scalenet.data.DatasetException;
import dev.scalenet.vit.VitModel;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.eclipse.aether.RepositorySystem;

import javax.inject.Inject;
import java.io.File;
import java.io.IOException;

/**
 * Writes a model in timm's form: a {@code .safetensors} state dict (position {@code j} of an expanded stack as
 * {@code blocks.j.*}, adapters as {@code blocks.j.adapter.*}) and the constructor JSON beside it. Runs without a
 * project too. A base model loads in timm's {@code VisionTransformer}; a grown model's adapters
 * ({@code blocks.j.adapter.*}) are keys timm's class does not define, so timm's strict {@code load_state_dict} refuses
 * that file, and this library reads it back.
 */
@Mojo(name = "export", requiresProject = false, threadSafe = false)
public class ExportMojo extends AbstractScaleNetMojo {
    /**
     * The model: a ScaleNet model zip or a timm {@code .safetensors}, as a path or as Maven coordinates
     * {@code groupId:artifactId:version[:type[:classifier]]}.
     */
    @Parameter(property = "scalenet.model", required = true)
    String model;

    /** The {@code .safetensors} to write; its JSON goes beside it with the same name. */
    @Parameter(property = "scalenet.output", defaultValue = "${project.build.directory}/scalenet/model.safetensors")
    File output;

    @Inject
    public ExportMojo(RepositorySystem repositorySystem) {
        super(repositorySystem);
    }

    @Override
    void run() throws MojoFailureException, IOException {
        if (!output.getName().endsWith(".safetensors")) {
            throw Parameters.invalid("output", output, "a file name ending in .safetensors (the JSON goes beside it)");
        }
        ModelResolver.Resolved m = model("model", model);
        VitModel.load(m.file(), m.sidecar()).exportTimm(output.toPath());
        getLog().info("Exported " + m.file().getFileName() + " to " + output + " and " + VitModel.sibling(output.toPath(), ".json"));
    }

    @Override
    String dataParameterOf(DatasetException e) {
        return "model";
    }
}
