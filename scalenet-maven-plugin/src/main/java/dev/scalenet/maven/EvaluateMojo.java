package dev.scalenet.maven;

import dev.scalenet.data.DatasetException;
import dev.scalenet.data.Datasets;
import dev.scalenet.data.ImageDataset;
import dev.scalenet.data.Split;
import dev.scalenet.job.Evaluation;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.job.Report;
import dev.scalenet.train.EvalResult;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.vit.VitModel;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.eclipse.aether.RepositorySystem;

import javax.inject.Inject;
import java.io.File;
import java.io.IOException;

/**
 * Held-out accuracy (top-1, top-5) and loss of a model on a dataset, preprocessed as the model's pretrained_cfg
 * says, added to the report in {@code outputDirectory} ({@code report.json}, {@code report.html},
 * {@code model.properties}; created if there is none). Runs without a project too.
 */
@Mojo(name = "evaluate", requiresProject = false, threadSafe = false)
public class EvaluateMojo extends AbstractScaleNetMojo {
    /**
     * The model: a ScaleNet model zip or a timm {@code .safetensors}, as a path or as Maven coordinates
     * {@code groupId:artifactId:version[:type[:classifier]]} (e.g. {@code org.example:vit:1.0:zip:scalenet}).
     */
    @Parameter(property = "scalenet.model", required = true)
    String model;

    /**
     * The data: MNIST-style IDX files (the {@code t10k-}/{@code test-} split is used), a folder with
     * {@code train/} and {@code val/} class folders ({@code val/} is used), or one folder of class folders.
     */
    @Parameter(property = "scalenet.evalData", required = true)
    File evalData;

    /** Images per batch. Default 128. */
    @Parameter(property = "scalenet.batchSize")
    Integer batchSize;

    /** Evaluate on the first N images only; 0 for all. Default 0. */
    @Parameter(property = "scalenet.evalLimit")
    Integer evalLimit;

    /** Where the report is (or is created). */
    @Parameter(property = "scalenet.outputDirectory", defaultValue = "${project.build.directory}/scalenet")
    File outputDirectory;

    /** The report's title when a new report is created. */
    @Parameter(property = "scalenet.name", defaultValue = "${project.artifactId}")
    String name;

    @Inject
    public EvaluateMojo(RepositorySystem repositorySystem) {
        super(repositorySystem);
    }

    @Override
    void run() throws MojoFailureException, IOException {
        TrainConfig settings = recipe(); // batchSize and evalLimit
        ModelResolver.Resolved m = model("model", model);
        ImageDataset data = Datasets.open(evalData.toPath(), Split.EVAL);
        VitModel vit = VitModel.load(m.file(), m.sidecar());
        EvalResult result = Evaluation.of(vit, data, settings.batchSize(), settings.evalLimit());
        Report report = Report.readOrCreate(outputDirectory.toPath(), name);
        ObjectNode dataSource = Report.source(evalData.toPath(), null);
        dataSource.put("split", "eval");
        report.evaluation(Report.source(m.file(), m.coordinates()), dataSource, result);
        report.write(outputDirectory.toPath());
        getLog().info("Evaluated " + m.file().getFileName() + " on " + data.describe() + ": " + result
                + "; report in " + outputDirectory.toPath().resolve(Report.HTML_FILE));
    }

    @Override
    String dataParameterOf(DatasetException e) {
        return "evalData";
    }
}
