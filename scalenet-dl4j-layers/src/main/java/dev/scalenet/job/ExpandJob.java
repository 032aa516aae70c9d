package dev.scalenet.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.data.Datasets;
import dev.scalenet.data.ImageDataset;
import dev.scalenet.data.Split;
import dev.scalenet.expand.ExpandedModel;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.io.AtomicFiles;
import dev.scalenet.io.Fingerprints;
import dev.scalenet.io.Json;
import dev.scalenet.train.Charts;
import dev.scalenet.train.EvalResult;
import dev.scalenet.train.MemoryCheck;
import dev.scalenet.train.MetricsLog;
import dev.scalenet.train.PairedComparison;
import dev.scalenet.train.ParallelEngine;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.train.TrainResult;
import dev.scalenet.train.Trainable;
import dev.scalenet.train.Trainer;
import dev.scalenet.vit.VitModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

/**
 * The whole ScaleNet job, as {@code mvn scalenet:expand} and the command line run it: load a base ViT, expand
 * it, optionally fine-tune and evaluate it, and write into the output folder
 * <ul>
 *   <li>{@code <name>.zip}: the expanded model (DL4J {@code ModelSerializer}, with its pretrained_cfg and labels);</li>
 *   <li>{@code <name>.onnx} with {@link Builder#onnx}: the same model as ONNX ({@link ExportFormat#ONNX}), for serving;</li>
 *   <li>{@code report.json}, {@code report.html} (with the training curve), {@code model.properties};</li>
 *   <li>{@code <name>.run/}: the training run (checkpoint, metrics, curve, and {@code inputs.json}, the
 *   inputs and settings it was started with) when fine-tuning;</li>
 *   <li>{@code <name>.control.run/}: with {@link TrainConfig#control()}, the same for the control, the base model
 *   fine-tuned with the same recipe; the report then compares the two on the same held-out images.</li>
 * </ul>
 * Without training data it only expands. {@link #upToDate()} tells whether the outputs already match these
 * inputs and settings, so a build can skip the work. A fine-tune that was interrupted (a killed build) resumes
 * from its last checkpoint when the inputs and settings are the ones it was started with, and starts afresh,
 * saying which changed, when they are not. One job at a time uses an output folder ({@link OutputLock}).
 */
public final class ExpandJob {
    private static final Logger log = LoggerFactory.getLogger(ExpandJob.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** In the run folder: the inputs and settings (as {@link #configurationHash()} digests them) the run started with. */
    public static final String INPUTS_FILE = "inputs.json";

    private final Path baseModel;
    private final Path baseModelJson;
    private final ExpansionPlan plan;
    private final TrainConfig recipe;
    private final Path trainData;
    private final Path evalData;
    private final Path outputDir;
    private final String name;
    /** Every front end's default for {@code resume}: a build killed while it trains continues where it stopped. */
    public static final boolean DEFAULT_RESUME = true;

    private final boolean resume;
    private final String toolVersion;
    private final String baseModelCoordinates;
    private final ParallelEngine.Factory parallelEngine;
    private final boolean onnx;
    private final MemoryCheck memoryCheck;
    private OutputLock heldLock;

    private ExpandJob(Builder b) {
        this.baseModel = Objects.requireNonNull(b.baseModel, "baseModel");
        this.baseModelJson = b.baseModelJson;
        this.recipe = b.recipe != null ? b.recipe : TrainConfig.builder().build();
        this.plan = Objects.requireNonNull(b.plan, "plan").withSeed(recipe.seed()); // one seed for the job: adapters, data, augmentation
        this.trainData = b.trainData;
        this.evalData = b.evalData;
        this.outputDir = Objects.requireNonNull(b.outputDir, "outputDir");
        this.name = b.name != null ? b.name : defaultName(baseModel, plan);
        this.onnx = b.onnx;
        this.resume = b.resume;
        this.toolVersion = Objects.requireNonNull(b.toolVersion, "toolVersion");
        this.baseModelCoordinates = b.baseModelCoordinates;
        this.parallelEngine = b.parallelEngine;
        this.memoryCheck = b.memoryCheck;
        InvalidSettingException.require(name.matches("[A-Za-z0-9._-]+"), "name", name, "a file name of letters, digits, '.', '_' or '-'");
        // untied copies are block tensors, which adjustments keeps frozen: they would cost a block each and never move
        InvalidSettingException.require(trainData == null || !plan.untiedBlocks() || recipe.trainable() == Trainable.ALL,
                "trainable", recipe.trainable().spelling(), "all when untiedBlocks is true (adjustments keeps the untied copies frozen)");
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The model's name when none is given: the base model's file stem and the plan's shape, {@code vit_x-cyclic-2x}. */
    static String defaultName(Path baseModel, ExpansionPlan plan) {
        return baseModel.getFileName().toString().replaceFirst("\\.(safetensors|zip)$", "") + "-" + plan.fileNamePart();
    }

    /** The model file this job writes. */
    public Path modelFile() {
        return outputDir.resolve(name + ".zip");
    }

    /** The ONNX file this job writes with {@link Builder#onnx}. */
    public Path onnxFile() {
        return outputDir.resolve(name + ExportFormat.ONNX.extension());
    }

    public Path outputDir() {
        return outputDir;
    }

    /** The fine-tuning's run folder: checkpoint, metrics, curve and the inputs it was started with. */
    public Path runDir() {
        return outputDir.resolve(name + ".run");
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
        if (onnx) o.put("onnx", true); // absent when off, so the digests of jobs without it stay as they were
        if (trainData != null) {
            o.set("recipe", recipe.toJson());
            o.put("trainData", Fingerprints.tree(trainData));
        }
        o.put("evalData", evalData == null ? "" : Fingerprints.tree(evalData));
        return o;
    }

    /**
     * Takes the output folder for this job until closed; {@link #run()} takes it itself when not already held.
     * Hold it across {@link #upToDate()} and {@link #run()} so no other job writes in between.
     *
     * @throws OutputLock.OutputLockedException when another job (thread or process) holds it
     */
    public OutputLock lockOutput() throws IOException {
        heldLock = OutputLock.acquire(outputDir);
        return heldLock;
    }

    /**
     * Whether the model and report exist and {@code model.properties} records this job's configuration hash and the
     * model file's own SHA-256 (a run that failed after writing the model file, under other settings, leaves a model
     * the record does not vouch for).
     */
    public boolean upToDate() throws IOException {
        Properties recorded = Report.recorded(outputDir);
        return Files.isRegularFile(modelFile()) && (!onnx || Files.isRegularFile(onnxFile()))
                && configurationHash().equals(recorded.getProperty("config.sha256"))
                && Fingerprints.file(modelFile()).equals(recorded.getProperty("model.sha256"));
    }

    public Report run() throws IOException {
        if (heldLock != null && heldLock.isHeld()) return runLocked();
        boolean existed = Files.isDirectory(outputDir);
        try (OutputLock ignored = lockOutput()) {
            return runLocked();
        } catch (MemoryCheck.DoesNotFitException e) {
            if (!existed) { // the lock made the folder and is gone: leave no empty folder behind
                try {
                    Files.deleteIfExists(outputDir);
                } catch (IOException notEmpty) {
                    log.debug("kept {}: {}", outputDir, notEmpty.toString());
                }
            }
            throw e;
        }
    }

    private Report runLocked() throws IOException {
        ObjectNode inputs = configuration();
        String configHash = Fingerprints.json(inputs);
        VitModel base = VitModel.load(baseModel, baseModelJson);
        ImageDataset train = trainData == null ? null : Datasets.open(trainData, Split.TRAIN);
        ImageDataset eval = heldOut();
        log.info("base model {}: {}, {} parameters", baseModel, base.config(), base.graph().numParams());
        ExpandedModel expanded = ScaleNet.expand(base.graph(), plan); // leaves the base as it was
        VitModel model = base.withGraph(expanded.graph());
        if (train != null) { // before any evaluation, and before anything is written into the output folder
            (memoryCheck != null ? memoryCheck : MemoryCheck.thisMachine(log::info))
                    .check(model.graph(), recipe, parallelEngine != null && recipe.workers() > 1);
        }

        Report report = new Report(name);
        report.base(Report.source(baseModel, baseModelCoordinates), baseModelJson == null ? null : Report.source(baseModelJson, null), base);
        EvalResult baseEval = eval == null ? null : Evaluation.of(base, eval, recipe.batchSize(), recipe.evalLimit());
        if (baseEval != null) report.baseEval(baseEval);

        log.info("{} -> {}", plan, expanded);
        report.expansion(plan, expanded);
        InvalidSettingException.require(!recipe.control() || train == null || eval != null, "control", true,
                "false when there is no held-out data to compare the grown model and its control on (give evalData)");
        if (train != null) {
            boolean resumeRun = prepareRun(runDir(), runInputs(false));
            Trainer trainer = new Trainer(recipe, model.dataConfig(), runDir(), name).withResume(resumeRun);
            if (parallelEngine != null) trainer = trainer.withParallelEngine(parallelEngine);
            TrainResult trained = trainer.fit(model.graph(), train, eval);
            // the trainer evaluates before its first step: that is the expansion's starting accuracy
            if (eval != null) report.expandedEval(trained.evaluations().get(0));
            ObjectNode trainSource = dataSource(trainData, Split.TRAIN, train.size(), null);
            ObjectNode evalSource = eval == null ? null
                    : dataSource(evalData != null ? evalData : trainData, Split.EVAL, eval.size(), evalData == null ? trainSource : null);
            report.training(trained, trainSource, evalSource, outputDir.relativize(trained.metricsFile()).toString());
            Map<String, List<com.fasterxml.jackson.databind.JsonNode>> curves = new java.util.LinkedHashMap<>();
            curves.put("grown", MetricsLog.read(trained.metricsFile(), Long.MAX_VALUE));
            if (recipe.control()) {
                TrainResult control = control(train, eval);
                curves.put("control", MetricsLog.read(control.metricsFile(), Long.MAX_VALUE));
                PairedComparison.Images comparison = PairedComparison.images(
                        correct(model.withGraph(trained.graph()), eval), correct(base.withGraph(control.graph()), eval));
                log.info("{}: grown against its control (the base fine-tuned with the same recipe, steps, seed and data): {}",
                        name, comparison);
                report.control(control, outputDir.relativize(control.metricsFile()).toString(), comparison);
            }
            if (baseEval != null) { // redraw the curve with the model it grew from, so the chart says whether growing paid
                Charts.trainingCurves(curves, name, trained.curveFile(), Map.of("base model", 100 * baseEval.top1()));
            }
        } else if (eval != null) {
            report.expandedEval(Evaluation.of(model, eval, recipe.batchSize(), recipe.evalLimit()));
        }
        model.save(modelFile());
        if (onnx) ExportFormat.ONNX.write(model, onnxFile());
        report.model(modelFile(), Fingerprints.file(modelFile()), configHash);
        report.write(outputDir);
        return report;
    }

    /** The control's run folder: the base model fine-tuned with the same recipe, steps, seed and data. */
    public Path controlRunDir() {
        return outputDir.resolve(name + ".control.run");
    }

    /**
     * Fine-tunes the base model as it was loaded, unexpanded, with the grown model's recipe, steps, seed, data and
     * training engine ({@link TrainConfig#control()}); resumes like the grown model's run.
     */
    private TrainResult control(ImageDataset train, ImageDataset eval) throws IOException {
        VitModel base = VitModel.load(baseModel, baseModelJson); // afresh: nothing of the grown model's training touches it
        Trainer trainer = new Trainer(recipe, base.dataConfig(), controlRunDir(), name + " control")
                .withResume(prepareRun(controlRunDir(), runInputs(true)));
        if (parallelEngine != null) trainer = trainer.withParallelEngine(parallelEngine);
        return trainer.fit(base.graph(), train, eval);
    }

    /** Whether {@code model} classifies each held-out image right, on the images the recipe evaluates on. */
    private boolean[] correct(VitModel model, ImageDataset eval) {
        int n = recipe.evalLimit() > 0 ? Math.min(recipe.evalLimit(), eval.size()) : eval.size();
        boolean[] right = new boolean[n];
        int[] next = {0};
        Evaluation.of(model, eval, recipe.batchSize(), recipe.evalLimit(), (predicted, label) -> right[next[0]++] = predicted == label);
        return right;
    }

    /**
     * What a run folder's checkpoint must have been started with to be resumed: {@link #configuration()} with only the
     * recipe's settings that decide the weights ({@link TrainConfig#toTrainingJson()}) and without the ONNX export; the
     * control's leaves out the plan, which it never uses. So turning the control on after a finished run reuses the grown
     * model's run instead of training it again.
     */
    private ObjectNode runInputs(boolean control) throws IOException {
        ObjectNode o = configuration();
        o.remove("onnx");
        o.set("recipe", recipe.toTrainingJson());
        if (control) o.remove(List.of("plan", "planSeed", "adapterScale"));
        return o;
    }

    /**
     * Whether the fine-tuning continues from the run folder's checkpoint: only when {@code resume} is on and the
     * checkpoint was started with exactly these inputs and settings. Otherwise a checkpoint left there is deleted
     * (the trainer would refuse it) and the reason is logged. Records the inputs beside the new checkpoint.
     */
    private boolean prepareRun(Path run, ObjectNode inputs) throws IOException {
        Path checkpoint = run.resolve(Trainer.CHECKPOINT);
        Path recorded = run.resolve(INPUTS_FILE);
        if (Files.exists(checkpoint)) {
            String afresh = null;
            if (!resume) {
                afresh = "resume is off";
            } else if (!Files.isRegularFile(recorded)) {
                afresh = "the checkpoint has no record of the inputs it was started with (" + INPUTS_FILE + ")";
            } else {
                List<String> changed = changedInputs(recorded, inputs);
                if (!changed.isEmpty()) afresh = String.join(", ", changed) + (changed.size() == 1 ? " has" : " have") + " changed since it was written";
            }
            if (afresh == null) {
                log.info("{}: resuming the fine-tuning from its checkpoint in {}: inputs and settings are unchanged (config.sha256 {})",
                        name, run, Fingerprints.json(inputs));
                return true;
            }
            log.info("{}: starting the fine-tuning afresh, not from the checkpoint in {}: {}", name, run, afresh);
            Files.delete(checkpoint);
        }
        AtomicFiles.writeString(recorded, JSON.writeValueAsString(inputs) + "\n");
        return false;
    }

    /** The fields of {@code recorded} (an inputs file) that differ from {@code now}, or all if it is unreadable. */
    private static List<String> changedInputs(Path recorded, ObjectNode now) {
        JsonNode before;
        try {
            before = Json.read(recorded);
        } catch (IOException e) {
            return List.of("(unreadable: " + e.getMessage() + ")"); // the message names the file
        }
        List<String> changed = new ArrayList<>();
        Set<String> fields = new TreeSet<>();
        now.fieldNames().forEachRemaining(fields::add);
        before.fieldNames().forEachRemaining(fields::add);
        for (String f : fields) {
            // as text: a number read back may be another node type (int for long) than the one written
            if (!String.valueOf(now.get(f)).equals(String.valueOf(before.get(f)))) changed.add(f);
        }
        return changed;
    }

    /** {@link Report#source} of a data folder with its split and image count; reuses {@code same}'s digest if given. */
    private static ObjectNode dataSource(Path dir, Split split, int images, ObjectNode same) throws IOException {
        ObjectNode o = same != null ? same.deepCopy() : Report.source(dir, null);
        o.put("split", split == Split.TRAIN ? "train" : "eval");
        o.put("images", images);
        return o;
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
        private String name;
        private boolean resume = DEFAULT_RESUME;
        private String toolVersion = "";
        private String baseModelCoordinates;
        private ParallelEngine.Factory parallelEngine;
        private boolean onnx;
        private MemoryCheck memoryCheck;

        private Builder() {}

        /** A DL4J model zip or a timm {@code .safetensors}. */
        public Builder baseModel(Path v) { baseModel = v; return this; }
        /** The Maven coordinates the base model was resolved from, recorded in the report; null: none. */
        public Builder baseModelCoordinates(String v) { baseModelCoordinates = v; return this; }
        /** timm constructor arguments / pretrained_cfg / label_names for a safetensors base; null: beside it. */
        public Builder baseModelJson(Path v) { baseModelJson = v; return this; }
        /** How to grow; the job seeds it with the recipe's seed, so one seed decides adapters, data order and augmentation. */
        public Builder plan(ExpansionPlan v) { plan = v; return this; }
        /** The fine-tuning recipe (defaults if null); used only with training data. */
        public Builder recipe(TrainConfig v) { recipe = v; return this; }
        /** Training data (IDX files or image folders); null: expand only. */
        public Builder trainData(Path v) { trainData = v; return this; }
        /** Held-out data; null: the evaluation split beside the training data, if any. */
        public Builder evalData(Path v) { evalData = v; return this; }
        public Builder outputDir(Path v) { outputDir = v; return this; }
        /** File name stem of the model; null (default): the base model's stem and the plan's shape, {@code vit_x-cyclic-2x}. */
        public Builder name(String v) { name = v; return this; }
        /** Continue an interrupted fine-tuning from its checkpoint when nothing changed; null: {@link #DEFAULT_RESUME}. */
        public Builder resume(Boolean v) { resume = v == null ? DEFAULT_RESUME : v; return this; }

        /** The running tool and its version (e.g. the Maven plugin's), part of the up-to-date check. */
        public Builder toolVersion(String v) { toolVersion = v; return this; }

        /**
         * What trains the rounds when the recipe has {@code workers > 1} ({@link Trainer#withParallelEngine}); null:
         * DL4J's ParallelWrapper on this machine.
         */
        public Builder parallelEngine(ParallelEngine.Factory v) { parallelEngine = v; return this; }

        /** Also write the model as ONNX, {@code <name>.onnx} beside the zip (default false). */
        public Builder onnx(boolean v) { onnx = v; return this; }

        /**
         * The memory check before fine-tuning ({@link TrainConfig#memoryCheck()}): its limits and where its lines go;
         * null: this machine's, logged by this class's logger. It runs after the expansion, before any evaluation or
         * output, so a training step that cannot fit fails the job with nothing written but the output folder's lock,
         * which closing removes.
         */
        public Builder memoryCheck(MemoryCheck v) { memoryCheck = v; return this; }

        public ExpandJob build() { return new ExpandJob(this); }
    }
}
