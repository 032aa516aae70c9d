package dev.scalenet.maven;

import dev.scalenet.data.DatasetException;
import dev.scalenet.io.NpyArray;
import dev.scalenet.job.Predict;
import dev.scalenet.vit.Features;
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
 * Logits (or features) of a model for a batch of images: a float32 NCHW {@code .npy} in, float32
 * {@code [batch, classes]} {@code .npy} out; with {@code features} the pre-logits or the tokens instead. The inputs
 * are taken as they are (already normalised), as in timm's {@code model(x)}. Runs without a project too.
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

    /**
     * What to write: {@code logits} ({@code [batch, classes]}), {@code preLogits} (timm's
     * {@code forward_head(x, pre_logits=True)}: the pooled features the head reads, {@code [batch, dim]}) or
     * {@code tokens} (timm's {@code forward_features(x)}: the tokens after the final norm, {@code [batch, tokens, dim]}),
     * for a downstream head.
     */
    @Parameter(property = "scalenet.features", defaultValue = "logits")
    String features;

    /** Where the output goes ({@code .npy}, float32); default {@code target/scalenet/<features>.npy}. */
    @Parameter(property = "scalenet.output")
    File output;

    @Inject
    public PredictMojo(RepositorySystem repositorySystem) {
        super(repositorySystem);
    }

    @Override
    void run() throws MojoFailureException, IOException {
        ModelResolver.Resolved m = model("model", model);
        ModelResolver.requireFile("inputs", inputs.toPath());
        Features.Kind kind = Features.Kind.parse(features);
        java.nio.file.Path out = output != null ? output.toPath()
                : java.nio.file.Paths.get(project.getBuild().getDirectory(), "scalenet", kind + ".npy");
        NpyArray y = Predict.run(VitModel.load(m.file(), m.sidecar()), inputs.toPath(), out, kind);
        getLog().info("Wrote " + kind + " " + Arrays.toString(y.shape()) + " of " + m.file().getFileName() + " to " + out);
    }

    @Override
    String dataParameterOf(DatasetException e) {
        return "inputs";
    }
}
