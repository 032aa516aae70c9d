package dev.scalenet.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.data.Datasets;
import dev.scalenet.data.ImageDataset;
import dev.scalenet.data.Split;
import dev.scalenet.expand.ExpandedModel;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.io.Fingerprints;
import dev.scalenet.train.Charts;
import dev.scalenet.train.EvalResult;
import dev.scalenet.train.MetricsLog;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.train.TrainResult;
import dev.scalenet.train.Trainer;
import dev.scalenet.vit.VitModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The whole ScaleNet job, as {@code mvn scalenet:expand} and the command line run it: load a base ViT, expand
 * it, optionally fine-tune and evaluate it, and write into the output folder
 * <ul>
 *   <li>{@code <name>.zip}: the expanded model (DL4J {@code ModelSerializer}, with its pretrained_cfg and labels);</li>
 *   <li>{@code report.json}, {@code report.html} (with the training curve), {@code model.properties};</li>
 *   <li>{@code run/}: the training run (checkpoint, metrics, curve) when fine-tuning.</li>
 * </ul>
 * Without training data it only expands. {@link #upToDate()} tells whether the outputs already match these
 * inputs and settings, so a build can skip the work.
 */
public final class ExpandJob {
    private static final Logger log = LoggerFactory.getLogger(ExpandJob.class);

    private final Path baseModel;
    private final Path baseModelJson;
    private final ExpansionPlan plan;
    private final TrainConfig recipe;
    private final Path trainData;
    private final Path evalData;
    private final Path outputDir;
    private final String name;
    private final boolean resume;
    private final String toolVersion;

    private ExpandJob(Builder b) {
        this.baseModel = Objects.requireNonNull(b.baseModel, "baseModel");
        this.baseModelJson = b.baseModelJson;
        this.plan = Objects.requireNonNull(b.plan, "plan");
        this.recipe = b.recipe != null ? b.recipe : TrainConfig.builder().build();
        this.trainData = b.trainData;
        this.evalData = b.evalData;
        this.outputDir = Objects.requireNonNull(b.outputDir, "outputDir");
        this.name = Objects.requireNonNull(b.name, "name");
        this.resume = b.resume;
        this.toolVersion = Objects.requireNonNull(b.toolVersion, "toolVersion");
        InvalidSettingException.require(name.matches("[A-Za-z0-9._-]+"), "name", name, "a file name of letters, digits, '.', '_' or '-'");
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The model file this job writes. */
    public Path modelFile() {
        return outputDir.resolve(name + ".zip");
    }

    public Path outputDir() {
        return outputDir;
    }

    /**
     * A digest of everything the outputs depend on: the base model's bytes (and its JSON), the plan, the recipe
     * (when training), the data folders' listings, the output name, and the versions of this library and of the tool
     * running it, so an upgrade never reuses a model an older version built.
     */
    public String configurationHash() throws IOException {
        return Fingerprints.json(configuration());
    }

    /** What {@link #configurationHash()} digests. */
    ObjectNode configuration() throws IOException {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("libraryVersion", dev.scalenet.Version.library());
        o.put("toolVersion", toolVersion);
        o.put("baseModel", Fingerprints.file(baseModel));
        o.put("baseModelJson", baseModelJson == null ? "" : Fingerprints.file(baseModelJson));
        o.put("plan", plan.toString());
        o.put("planSeed", plan.seed());
        o.put("adapterScale", plan.adapterScale());
        o.put("name", name);
        if (trainData != null) {
            o.set("recipe", recipe.toJson());
            o.put("trainData", Fingerprints.tree(trainData));
        }
        o.put("evalData", evalData == null ? "" : Fingerprints.tree(evalData));
        return o;
    }

    /** Whether the model and report exist and {@code model.properties} records this job's configuration hash. */
    public boolean upToDate() throws IOException {
        Optional<String> recorded = Report.recordedConfigurationHash(outputDir);
        return recorded.isPresent() && Files.isRegularFile(modelFile()) && recorded.get().equals(configurationHash());
    }

    public Report run() throws IOException {
        String configHash = configurationHash();
        VitModel base = VitModel.load(baseModel, baseModelJson);
        ImageDataset train = trainData == null ? null : Datasets.open(trainData, Split.TRAIN);
        ImageDataset eval = heldOut();
        log.info("base model {}: {}, {} parameters", baseModel, base.config(), base.graph().numParams());

        Report report = new Report(name);
        report.base(baseModel, Fingerprints.file(baseModel), base);
        EvalResult baseEval = eval == null ? null : Evaluation.of(base, eval, recipe.batchSize(), recipe.evalLimit());
        if (baseEval != null) report.baseEval(baseEval);

        ExpandedModel expanded = ScaleNet.expand(base.graph(), plan);
        VitModel model = base.withGraph(expanded.graph());
        log.info("{} -> {}", plan, expanded);
        report.expansion(plan, expanded);
        if (train != null) {
            TrainResult trained = new Trainer(recipe, model.dataConfig(), outputDir.resolve("run"), resume, name)
                    .fit(model.graph(), train, eval);
            // the trainer evaluates before its first step: that is the expansion's starting accuracy
            if (eval != null) report.expandedEval(trained.evaluations().get(0));
            report.training(trained, train, eval, outputDir.relativize(trained.metricsFile()).toString());
            if (baseEval != null) { // redraw the curve with the model it grew from, so the chart says whether growing paid
                Charts.trainingCurve(MetricsLog.read(trained.metricsFile(), Long.MAX_VALUE), name, trained.curveFile(),
                        Map.of("base model", 100 * baseEval.top1()));
            }
        } else if (eval != null) {
            report.expandedEval(Evaluation.of(model, eval, recipe.batchSize(), recipe.evalLimit()));
        }
        model.save(modelFile());
        report.model(modelFile(), Fingerprints.file(modelFile()), configHash);
        report.write(outputDir);
        return report;
    }

    /** The held-out set: {@code evalData}, else the evaluation split beside the training data when it has one. */
    private ImageDataset heldOut() throws IOException {
        if (evalData != null) return Datasets.open(evalData, Split.EVAL);
        if (trainData == null) return null;
        if (Datasets.layout(trainData) == Datasets.Layout.CLASS_FOLDERS) {
            log.warn("{} is a single folder of classes: no held-out set to evaluate on (give evalData)", trainData);
            return null;
        }
        return Datasets.open(trainData, Split.EVAL);
    }

    public static final class Builder {
        private Path baseModel;
        private Path baseModelJson;
        private ExpansionPlan plan;
        private TrainConfig recipe;
        private Path trainData;
        private Path evalData;
        private Path outputDir;
        private String name = "model";
        private boolean resume = true;
        private String toolVersion = "";

        private Builder() {}

        /** A DL4J model zip or a timm {@code .safetensors}. */
        public Builder baseModel(Path v) { baseModel = v; return this; }
        /** timm constructor arguments / pretrained_cfg / label_names for a safetensors base; null: beside it. */
        public Builder baseModelJson(Path v) { baseModelJson = v; return this; }
        public Builder plan(ExpansionPlan v) { plan = v; return this; }
        /** The fine-tuning recipe (defaults if null); used only with training data. */
        public Builder recipe(TrainConfig v) { recipe = v; return this; }
        /** Training data (IDX files or image folders); null: expand only. */
        public Builder trainData(Path v) { trainData = v; return this; }
        /** Held-out data; null: the evaluation split beside the training data, if any. */
        public Builder evalData(Path v) { evalData = v; return this; }
        public Builder outputDir(Path v) { outputDir = v; return this; }
        /** File name stem of the model. */
        public Builder name(String v) { name = v; return this; }
        /** Continue an interrupted fine-tuning from its checkpoint (default true). */
        public Builder resume(boolean v) { resume = v; return this; }

        /** The running tool and its version (e.g. the Maven plugin's), part of the up-to-date check. */
        public Builder toolVersion(String v) { toolVersion = v; return this; }

        public ExpandJob build() { return new ExpandJob(this); }
    }
}
