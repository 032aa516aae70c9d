package dev.scalenet.maven;

import dev.scalenet.InvalidSettingException;
import dev.scalenet.data.DatasetException;
import dev.scalenet.job.ExportFormat;
import dev.scalenet.vit.VitModel;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.eclipse.aether.RepositorySystem;

import javax.inject.Inject;
import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Writes a model for use outside the JVM ({@link ExportFormat}): by default in timm's form, a {@code .safetensors}
 * state dict (position {@code j} of an expanded stack as {@code blocks.j.*}, adapters as {@code blocks.j.adapter.*})
 * and the constructor JSON beside it; with {@code format} {@code onnx} an ONNX model for ONNX Runtime and other
 * servers. Runs without a project too. A base model's {@code .safetensors} loads in timm's {@code VisionTransformer};
 * a grown model's adapters are keys timm's class does not define, so timm's strict {@code load_state_dict} refuses
 * that file, and this library reads it back (ONNX carries every adjustment).
 */
@Mojo(name = "export", requiresProject = false, threadSafe = false)
public class ExportMojo extends AbstractScaleNetMojo {
    /**
     * The model: a ScaleNet model zip or a timm {@code .safetensors}, as a path or as Maven coordinates
     * {@code groupId:artifactId:version[:type[:classifier]]}.
     */
    @Parameter(property = "scalenet.model", required = true)
    String model;

    /** {@code safetensors} (timm's state dict and its JSON) or {@code onnx}. */
    @Parameter(property = "scalenet.format", defaultValue = "safetensors")
    String format;

    /**
     * The file to write, ending in the format's extension ({@code .safetensors}, whose JSON goes beside it with the
     * same name, or {@code .onnx}); a name without extension gets the format's.
     */
    @Parameter(property = "scalenet.output", defaultValue = "${project.build.directory}/scalenet/model")
    File output;

    @Inject
    public ExportMojo(RepositorySystem repositorySystem) {
        super(repositorySystem);
    }

    @Override
    void run() throws MojoFailureException, IOException {
        ExportFormat f;
        Path file;
        try {
            f = ExportFormat.parse(format);
            file = f.file(output.toPath());
        } catch (InvalidSettingException e) {
            throw invalid(e);
        }
        ModelResolver.Resolved m = model("model", model);
        List<Path> written = f.write(VitModel.load(m.file(), m.sidecar()), file);
        getLog().info("Exported " + m.file().getFileName() + " to " + written.stream().map(Path::toString).collect(Collectors.joining(" and ")));
    }

    @Override
    String dataParameterOf(DatasetException e) {
        return "model";
    }
}
