package dev.scalenet.maven;

import dev.scalenet.data.DatasetException;
import dev.scalenet.io.NpyArray;
import dev.scalenet.job.Predict;
import dev.scalenet.vit.VitModel;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.eclipse.aether.RepositorySystem;

import javax.inject.Inject;
import java.io.File;
import java.io.IOException;
import java.util.Arrays;

/**
 * Logits of a model for a batch of images: a float32 NCHW {@code .npy} in, float32 {@code [batch, classes]}
 * {@code .npy} out. The inputs are taken as they are (already normalised), as in timm's {@code model(x)}. Runs
 * without a project too.
 */
@Mojo(name = "predict", requiresProject = false, threadSafe = false)
public class PredictMojo extends AbstractScaleNetMojo {
    /**
     * The model: a ScaleNet model zip or a timm {@code .safetensors}, as a path or as Maven coordinates
     * {@code groupId:artifactId:version[:type[:classifier]]}.
     */
    @Parameter(property = "scalenet.model", required = true)
    String model;

    /** The images: a float32 {@code .npy} of shape {@code [batch, channels, height, width]}. */
    @Parameter(property = "scalenet.inputs", required = true)
    File inputs;

    /** Where the logits go ({@code .npy}, float32 {@code [batch, classes]}). */
    @Parameter(property = "scalenet.output", defaultValue = "${project.build.directory}/scalenet/logits.npy")
    File output;

    @Inject
    public PredictMojo(RepositorySystem repositorySystem) {
        super(repositorySystem);
    }

    @Override
    void run() throws MojoFailureException, IOException {
        ModelResolver.Resolved m = model("model", model);
        ModelResolver.requireFile("inputs", inputs.toPath());
        NpyArray logits = Predict.run(VitModel.load(m.file(), m.sidecar()), inputs.toPath(), output.toPath());
        getLog().info("Wrote logits " + Arrays.toString(logits.shape()) + " of " + m.file().getFileName() + " to " + output);
    }

    @Override
    String dataParameterOf(DatasetException e) {
        return "inputs";
    }
}
