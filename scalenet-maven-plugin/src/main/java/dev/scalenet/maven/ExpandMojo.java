package dev.scalenet.maven;

import dev.scalenet.InvalidSettingException;
import dev.scalenet.data.DatasetException;
import dev.scalenet.data.Datasets;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.job.ExpandJob;
import dev.scalenet.job.OutputLock;
import dev.scalenet.job.Report;
import dev.scalenet.train.MemoryCheck;
import dev.scalenet.train.TrainConfig;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugins.annotations.LifecyclePhase;
import org.apache.maven.plugins.annotations.Mojo;
import org.apache.maven.plugins.annotations.Parameter;
import org.apache.maven.project.MavenProjectHelper;
import org.eclipse.aether.RepositorySystem;

import javax.inject.Inject;
import java.io.File;
import java.io.IOException;
import java.util.Optional;

/**
 * Grows a pretrained ViT in depth the ScaleNet way, optionally fine-tunes and evaluates it, writes the model zip,
 * {@code report.json}, {@code report.html} and {@code model.properties} into {@code outputDirectory}, and attaches
 * the model to the project (type {@code zip}, classifier {@code classifier}) so {@code install} and {@code deploy}
 * publish it. Skips the work, and still attaches the model, when the base model, settings and data are unchanged
 * since the last run. A fine-tune killed mid-way resumes from its last checkpoint in the next build with the same
 * inputs. One build at a time uses an output directory: a second fails at once, naming the directory and the
 * build that holds it.
 */
@Mojo(name = "expand", defaultPhase = LifecyclePhase.PACKAGE, threadSafe = false)
public class ExpandMojo extends AbstractScaleNetMojo {
    /**
     * The pretrained model: a timm {@code .safetensors} (with its JSON beside it, or {@code modelConfig}, or
     * {@code preset}) or a ScaleNet model zip; a path relative to the project, or Maven coordinates
     * {@code groupId:artifactId:version[:type[:classifier]]} (type defaults to {@code zip}) resolved through the
     * build's repositories.
     */
    @Parameter(property = "scalenet.baseModel", required = true)
    String baseModel;

    /**
     * Depth of the expanded model, at least the base model's. Default: twice the base model's depth, ScaleNet's
     * usual growth. Not needed with {@code order}.
     */
    @Parameter(property = "scalenet.depth")
    Integer depth;

    /**
     * Which base block each new position copies: {@code cyclic} (the paper's map: 0,1,2,3,0,1,2,3 for 4 to 8
     * blocks) or {@code interleave} (0,0,1,1,2,2,3,3). Ignored when {@code order} is given. Default: {@code cyclic}
     * (the library's, {@code ExpansionPlan.Builder}).
     */
    @Parameter(property = "scalenet.strategy")
    String strategy;

    /**
     * An explicit expansion: the source block of every position, comma-separated (e.g. {@code 0,1,1,2,3,3}); every
     * base block at least once. Replaces {@code depth} and {@code strategy}.
     */
    @Parameter(property = "scalenet.order")
    String order;

    /** Rank of the parallel adapters (adjustment parameters) of each inserted block; 0 for pure weight sharing. Default 8. */
    @Parameter(property = "scalenet.adapterRank")
    Integer adapterRank;

    /** Give each inserted block its own LayerNorms, initialised from its source block's. Default: false. */
    @Parameter(property = "scalenet.untiedNorms")
    Boolean untiedNorms;

    /**
     * Which positions get adapters: {@code inserted} (the inserted blocks only) or {@code all} (every position, the
     * base blocks too: the paper's "adjustment parameters for each layer"). Default: {@code inserted}.
     */
    @Parameter(property = "scalenet.adapterPositions")
    String adapterPositions;

    /**
     * Function-preserving start: each inserted block gets zero-initialised per-channel gates (timm's LayerScale) on
     * its attention and MLP branches, so the expanded model computes exactly the base model's function before
     * fine-tuning and learns how much of each inserted block to use. {@code false}: the paper's start, inserted
     * blocks as live copies of their source blocks. Default: {@code true}, the project's recommended start (the
     * library's {@code ExpansionPlan.Builder.DEFAULT_FUNCTION_PRESERVING}).
     */
    @Parameter(property = "scalenet.functionPreserving")
    Boolean functionPreserving;

    /**
     * Untied growth: inserted blocks get their own copies of their source block's tensors instead of sharing them
     * (the stacking baseline of StackBERT and bert2BERT; costs a full block of parameters per inserted block).
     * The copies train only with {@code trainable = all}, which it requires. Default: false.
     */
    @Parameter(property = "scalenet.untiedBlocks")
    Boolean untiedBlocks;

    /**
     * Training data for fine-tuning the expanded model: MNIST-style IDX files, a folder with {@code train/} and
     * {@code val/} class folders, or one folder of class folders. Without it the goal only expands.
     */
    @Parameter(property = "scalenet.trainData")
    File trainData;

    /** Held-out data to evaluate on (same layouts). Default: the evaluation split beside {@code trainData}, if it has one. */
    @Parameter(property = "scalenet.evalData")
    File evalData;

    /** Epochs of fine-tuning. Default 1. */
    @Parameter(property = "scalenet.epochs")
    Integer epochs;

    /** Optimizer steps of fine-tuning; when set, replaces {@code epochs}. */
    @Parameter(property = "scalenet.steps")
    Long steps;

    /** Images per optimizer step (and per evaluation batch). Default 128. */
    @Parameter(property = "scalenet.batchSize")
    Integer batchSize;

    /** Peak learning rate of AdamW, reached after warm-up. Default 1e-3. */
    @Parameter(property = "scalenet.learningRate")
    Double learningRate;

    /** Learning rate at the end of the cosine decay. Default 1e-6. */
    @Parameter(property = "scalenet.minLearningRate")
    Double minLearningRate;

    /** Epochs of linear learning-rate warm-up (fractions allowed). Default 0.2. */
    @Parameter(property = "scalenet.warmupEpochs")
    Double warmupEpochs;

    /** Decoupled (AdamW) weight decay on weight matrices. Default 0.05. */
    @Parameter(property = "scalenet.weightDecay")
    Double weightDecay;

    /** Label smoothing of the cross-entropy. Default 0.1. */
    @Parameter(property = "scalenet.labelSmoothing")
    Double labelSmoothing;

    /** Clip the global gradient norm to this; 0 turns clipping off. Default 1.0. */
    @Parameter(property = "scalenet.clipGradNorm")
    Double clipGradNorm;

    /** Stochastic-depth rate of the last block (timm's drop_path_rate). Default 0. */
    @Parameter(property = "scalenet.dropPath")
    Double dropPath;

    /** Decay of an exponential moving average of the weights, kept as the result; 0 for none. Default 0. */
    @Parameter(property = "scalenet.emaDecay")
    Double emaDecay;

    /** What trains: {@code all} parameters, or only the {@code adjustments} (adapters, norms, head). Default adjustments. */
    @Parameter(property = "scalenet.trainable")
    String trainable;

    /** Seed of the adapters' initialisation, the data order and augmentation. Default 42. */
    @Parameter(property = "scalenet.seed")
    Long seed;

    /** Random crop after zero-padding by this many pixels; 0 for none. Default 2. */
    @Parameter(property = "scalenet.cropPadding")
    Integer cropPadding;

    /** Probability of a horizontal flip. Default 0.5. */
    @Parameter(property = "scalenet.hflip")
    Double hflip;

    /** Write a resumable training checkpoint every this many steps (and at every epoch end). Default 200. */
    @Parameter(property = "scalenet.checkpointEvery")
    Integer checkpointEvery;

    /** Train on the first N training images only; 0 for all. Default 0. */
    @Parameter(property = "scalenet.trainLimit")
    Integer trainLimit;

    /** Evaluate on the first N held-out images only; 0 for all. Default 0. */
    @Parameter(property = "scalenet.evalLimit")
    Integer evalLimit;

    /**
     * Data-parallel workers on this machine (DL4J ParallelWrapper); 1 trains on the build's thread. With more, a step
     * is one batch per worker followed by averaging of weights and Adam state, so an epoch has that many times fewer
     * steps; emaDecay must then be 0. Default 1.
     */
    @Parameter(property = "scalenet.workers")
    Integer workers;

    /**
     * Activation recomputation: keep only each block's input in the forward pass and run each block again in the
     * backward pass. Less memory for a deep stack (one block input per position instead of its activations), one more
     * forward pass of the stack per step, the same gradients bit for bit. Default: false.
     */
    @Parameter(property = "scalenet.recompute")
    Boolean recompute;

    /**
     * Before training, the expected peak memory of a training step (parameters, gradients, optimizer state, the
     * activations kept at this batch size, work arrays, the JVM's own) is logged beside the JVM's and the machine's
     * limits; when it does not fit, the build fails then, naming {@code batchSize} and {@code recompute}. false keeps
     * the log line but not the failure, for when the estimate is wrong. Default: true.
     */
    @Parameter(property = "scalenet.memoryCheck")
    Boolean memoryCheck;

    /**
     * Also fine-tune the base model, unexpanded, as a control: the same recipe, steps, seed and data as the grown
     * model, evaluated on the same held-out images. The log, report and {@code model.properties} then give both
     * accuracies, the grown model's margin with its 95% interval (paired on the images) and McNemar's test, so the
     * build says whether growing beat simply fine-tuning the base. Needs held-out data; roughly doubles the training
     * time. Default false.
     */
    @Parameter(property = "scalenet.control")
    Boolean control;

    /**
     * Held-out evaluations per epoch, evenly spaced, the last at the epoch's end, so the report's held-out curve of a
     * one-epoch fine-tune has points inside the epoch; each is one pass over the held-out images. Default 1.
     */
    @Parameter(property = "scalenet.evalsPerEpoch")
    Integer evalsPerEpoch;

    /**
     * Continue an interrupted fine-tuning (a killed or failed build) from its last checkpoint in
     * {@code outputDirectory/<name>.run/} when the base model, settings and data are the ones it was started with;
     * when any changed, or with {@code false}, it starts afresh and the log says why. Default: true (the library's
     * {@code ExpandJob.DEFAULT_RESUME}).
     */
    @Parameter(property = "scalenet.resume")
    Boolean resume;

    /** Where the model, report and training run go. */
    @Parameter(property = "scalenet.outputDirectory", defaultValue = "${project.build.directory}/scalenet")
    File outputDirectory;

    /** File name stem of the model ({@code <name>.zip}) and the report's title. */
    @Parameter(property = "scalenet.name", defaultValue = "${project.artifactId}")
    String name;

    /** Classifier of the attached model artifacts (type {@code zip}, and {@code onnx} with {@code onnx}). */
    @Parameter(property = "scalenet.classifier", defaultValue = "scalenet")
    String classifier;

    /** Attach the model to the project, so {@code install} and {@code deploy} publish it. */
    @Parameter(property = "scalenet.attach", defaultValue = "true")
    boolean attach;

    /**
     * Also write the model as ONNX ({@code <name>.onnx}, for ONNX Runtime and other servers) and attach it beside the
     * zip (type {@code onnx}, classifier {@code classifier}), so {@code deploy} publishes it too.
     */
    @Parameter(property = "scalenet.onnx", defaultValue = "false")
    boolean onnx;

    /** The limits the memory check uses; null: this machine's (tests give their own). */
    MemoryCheck.Limits memoryLimits;

    private final MavenProjectHelper projectHelper;

    @Inject
    public ExpandMojo(RepositorySystem repositorySystem, MavenProjectHelper projectHelper) {
        super(repositorySystem);
        this.projectHelper = projectHelper;
    }

    @Override
    void run() throws MojoFailureException, IOException {
        ModelResolver.Resolved base = model("baseModel", baseModel);
        checkData("trainData", trainData);
        checkData("evalData", evalData);
        ExpandJob job = ExpandJob.builder()
                .baseModel(base.file()).baseModelJson(base.sidecar()).baseModelCoordinates(base.coordinates())
                .plan(plan())
                .recipe(recipe())
                .trainData(trainData == null ? null : trainData.toPath())
                .evalData(evalData == null ? null : evalData.toPath())
                .outputDir(outputDirectory.toPath())
                .name(name)
                .resume(resume)
                .onnx(onnx)
                .memoryCheck(new MemoryCheck(memoryLimits != null ? memoryLimits : MemoryCheck.Limits.thisMachine(), getLog()::info))
                .toolVersion(mojoExecution.getMojoDescriptor().getPluginDescriptor().getId()) // group:artifact:version
                .build();
        // held from the up-to-date check to the last output, so a concurrent build cannot write in between
        try (OutputLock ignored = job.lockOutput()) {
            if (job.upToDate()) {
                getLog().info("Skipping the expansion: " + job.modelFile() + " is up to date. Its " + Report.PROPERTIES_FILE
                        + " records config.sha256 " + job.configurationHash() + ", the digest of this base model, expansion plan,"
                        + (trainData == null ? "" : " recipe, training data,") + " held-out data, name and plugin and library versions; nothing changed since."
                        + " Change a setting or delete " + outputDirectory + " to run it again.");
            } else {
                Report report = job.run();
                report.summary().forEach(getLog()::info);
                getLog().info("Wrote " + job.modelFile() + "; report in " + outputDirectory.toPath().resolve(Report.HTML_FILE));
            }
        } catch (OutputLock.OutputLockedException e) {
            throw new MojoFailureException("Cannot expand: " + Parameters.describe("outputDirectory") + " " + e.getMessage(), e);
        }
        if (attach) {
            attach("zip", job.modelFile());
            if (onnx) attach("onnx", job.onnxFile());
        }
    }

    private void attach(String type, java.nio.file.Path file) {
        projectHelper.attachArtifact(project, type, classifier, file.toFile());
        getLog().info("Attached " + file.getFileName() + " as " + project.getGroupId() + ":" + project.getArtifactId()
                + ":" + type + ":" + classifier + ":" + project.getVersion());
    }

    ExpansionPlan plan() throws MojoFailureException {
        try {
            return ExpansionPlan.builder().order(order).strategy(strategy).depth(depth).adapterRank(adapterRank)
                    .adapterPositions(adapterPositions).functionPreserving(functionPreserving).untiedBlocks(untiedBlocks)
                    .untiedNorms(untiedNorms).build();
        } catch (InvalidSettingException e) {
            throw invalid(e);
        }
    }

    /** Fails early, naming the parameter, for a data folder that is missing or of no known layout. */
    private static void checkData(String parameter, File dir) throws MojoFailureException {
        if (dir == null) return;
        Optional<String> problem = Datasets.problem(dir.toPath());
        if (problem.isPresent()) throw Parameters.unusable(parameter, dir, problem.get());
    }

    @Override
    String parameterOf(String setting) {
        // without <evalData>, the held-out set is the evaluation split beside <trainData>
        return setting.equals("evalData") && evalData == null && trainData != null ? "trainData" : setting;
    }

    @Override
    String dataParameterOf(DatasetException e) {
        return evalData != null && String.valueOf(e.getMessage()).contains(evalData.toPath().toAbsolutePath().normalize().toString())
                ? "evalData" : "trainData";
    }
}
