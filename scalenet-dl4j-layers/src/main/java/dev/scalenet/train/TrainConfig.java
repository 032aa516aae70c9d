package dev.scalenet.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.data.Augmentation;
import dev.scalenet.data.BatchLoader;
import dev.scalenet.data.DataConfig;
import dev.scalenet.data.ImageDataset;

import java.util.Iterator;
import java.util.List;

import static dev.scalenet.InvalidSettingException.require;

/**
 * A fine-tuning recipe, timm style: AdamW with decoupled weight decay (none on norms, biases, class token and
 * position embedding), linear warm-up then cosine decay per step, label smoothing, global gradient-norm
 * clipping, random-crop/flip augmentation, stochastic depth, optional EMA of the weights, and a choice of
 * what trains. Immutable; setting names are those of the Maven plugin's parameters.
 */
public final class TrainConfig {
    private final int epochs;
    private final long steps;
    private final int batchSize;
    private final double learningRate;
    private final double minLearningRate;
    private final double warmupEpochs;
    private final double weightDecay;
    private final double labelSmoothing;
    private final double clipGradNorm;
    private final double dropPath;
    private final double emaDecay;
    private final Trainable trainable;
    private final long seed;
    private final int cropPadding;
    private final double hflip;
    private final int checkpointEvery;
    private final int trainLimit;
    private final int evalLimit;
    private final int workers;
    private final boolean recompute;
    private final boolean control;
    private final int evalsPerEpoch;
    private final boolean memoryCheck;

    private TrainConfig(Builder b) {
        epochs = b.epochs;
        steps = b.steps;
        batchSize = b.batchSize;
        learningRate = b.learningRate;
        minLearningRate = b.minLearningRate;
        warmupEpochs = b.warmupEpochs;
        weightDecay = b.weightDecay;
        labelSmoothing = b.labelSmoothing;
        clipGradNorm = b.clipGradNorm;
        dropPath = b.dropPath;
        emaDecay = b.emaDecay;
        trainable = b.trainable;
        seed = b.seed;
        cropPadding = b.cropPadding;
        hflip = b.hflip;
        checkpointEvery = b.checkpointEvery;
        trainLimit = b.trainLimit;
        evalLimit = b.evalLimit;
        workers = b.workers;
        recompute = b.recompute;
        control = b.control;
        evalsPerEpoch = b.evalsPerEpoch;
        memoryCheck = b.memoryCheck;
        require(epochs >= 1, "epochs", epochs, "at least 1");
        require(steps >= 0, "steps", steps, "0 (train for whole epochs) or a positive number of optimizer steps");
        require(batchSize >= 1, "batchSize", batchSize, "a positive number of images per step");
        require(learningRate > 0 && Double.isFinite(learningRate), "learningRate", learningRate, "a positive number");
        require(minLearningRate >= 0 && minLearningRate <= learningRate, "minLearningRate", minLearningRate,
                "between 0 and learningRate " + learningRate);
        require(warmupEpochs >= 0 && Double.isFinite(warmupEpochs), "warmupEpochs", warmupEpochs, "0 or more epochs");
        require(weightDecay >= 0 && Double.isFinite(weightDecay), "weightDecay", weightDecay, "0 or more");
        require(labelSmoothing >= 0 && labelSmoothing < 1, "labelSmoothing", labelSmoothing, "in [0, 1)");
        require(clipGradNorm >= 0 && Double.isFinite(clipGradNorm), "clipGradNorm", clipGradNorm, "0 (off) or a positive norm");
        require(dropPath >= 0 && dropPath < 1, "dropPath", dropPath, "in [0, 1)");
        require(emaDecay == 0 || (emaDecay > 0 && emaDecay < 1), "emaDecay", emaDecay, "0 (off) or in (0, 1), e.g. 0.999");
        require(cropPadding >= 0, "cropPadding", cropPadding, "0 (no random crop) or a padding in pixels");
        require(hflip >= 0 && hflip <= 1, "hflip", hflip, "a probability in [0, 1]");
        require(checkpointEvery >= 0, "checkpointEvery", checkpointEvery, "0 (at epoch ends only) or a number of steps");
        require(trainLimit >= 0, "trainLimit", trainLimit, "0 (all) or a number of training images");
        require(evalLimit >= 0, "evalLimit", evalLimit, "0 (all) or a number of held-out images");
        require(evalsPerEpoch >= 1, "evalsPerEpoch", evalsPerEpoch, "1 (at epoch ends) or more held-out evaluations per epoch");
        require(workers >= 1, "workers", workers, "1 (train on this thread) or the number of parallel workers");
        // ParallelWrapper averages the workers' weights inside its fit, with no hook in between where an EMA of the
        // averaged weights could be taken; an EMA of one worker's weights would not be the recipe's EMA
        require(workers == 1 || emaDecay == 0, "emaDecay", emaDecay, "0 when workers is " + workers
                + " (an EMA of the weights needs workers 1)");
    }

    /** The recommended fine-tuning recipe for a grown model; see {@link Builder} for its settings. */
    public static Builder builder() { return new Builder(); }

    /**
     * The recipe that pretrained the bundled base from scratch (its model card): everything trains, 40 epochs of batches of 128, warm-up
     * over 2 epochs to 1e-3, cosine to 1e-5, checkpoints every 500 steps. The command line's {@code train} starts here.
     */
    public static Builder pretraining() {
        return new Builder().epochs(40).learningRate(1e-3).minLearningRate(1e-5).warmupEpochs(2).checkpointEvery(500)
                .trainable(Trainable.ALL);
    }

    public Builder toBuilder() { return fromJson(toJson()); }

    public int epochs() { return epochs; }
    /** Optimizer steps to run; 0 means {@code epochs} whole epochs. */
    public long steps() { return steps; }
    public int batchSize() { return batchSize; }
    public double learningRate() { return learningRate; }
    public double minLearningRate() { return minLearningRate; }
    public double warmupEpochs() { return warmupEpochs; }
    public double weightDecay() { return weightDecay; }
    public double labelSmoothing() { return labelSmoothing; }
    public double clipGradNorm() { return clipGradNorm; }
    public double dropPath() { return dropPath; }
    public double emaDecay() { return emaDecay; }
    public Trainable trainable() { return trainable; }
    public long seed() { return seed; }
    public int cropPadding() { return cropPadding; }
    public double hflip() { return hflip; }
    public int checkpointEvery() { return checkpointEvery; }
    public int trainLimit() { return trainLimit; }
    public int evalLimit() { return evalLimit; }
    /**
     * Data-parallel workers. 1 trains on the calling thread; more train in rounds, through DL4J's
     * {@code ParallelWrapper} on this machine unless the trainer is given another {@link ParallelEngine} (the
     * {@code scalenet-spark} module's, on a Spark cluster): each step is one round in which every worker trains its own
     * replica on its own batch, after which the weights and Adam state are averaged (averaging frequency 1).
     */
    public int workers() { return workers; }
    /**
     * Activation recomputation: the block stack keeps only each position's input in the forward pass and runs each
     * block again in the backward pass, trading one more forward pass of the stack for its activations. The gradients
     * are bit for bit those of training without it.
     */
    public boolean recompute() { return recompute; }
    /**
     * Also fine-tune the base model, unexpanded, as a control: the same recipe, steps, seed and data as the grown
     * model, evaluated on the same held-out images, so the job reports whether growing beat simply fine-tuning the
     * base (the paired difference with its 95% interval and McNemar's test). Doubles the training time, roughly.
     */
    public boolean control() { return control; }
    /**
     * Held-out evaluations per epoch, evenly spaced in steps, the last at the epoch's end (1: at epoch ends only), so
     * the held-out curve of a short fine-tune is a curve; each costs one pass over the held-out images
     * ({@code evalLimit}).
     */
    public int evalsPerEpoch() { return evalsPerEpoch; }
    /**
     * Check, before training starts, that the expected peak memory of a training step ({@link MemoryEstimate}) fits in
     * what this machine has ({@link MemoryCheck}), and fail early, naming {@code batchSize} and {@code recompute}, when
     * it does not. The estimate is always logged; false only skips the failure, for when the estimate is wrong.
     */
    public boolean memoryCheck() { return memoryCheck; }

    /** Whether the held-out set is evaluated after {@code step} steps of an epoch of {@code perEpoch} steps (1-based within the epoch). */
    public boolean evaluatesAfter(long stepInEpoch, long perEpoch) {
        if (stepInEpoch <= 0 || stepInEpoch > perEpoch) return false;
        if (stepInEpoch == perEpoch) return true;
        return stepInEpoch * evalsPerEpoch / perEpoch != (stepInEpoch - 1) * evalsPerEpoch / perEpoch;
    }

    /**
     * The training batches of this recipe, as {@link dev.scalenet.train.Trainer} uses them: batch size, random crop
     * ({@code cropPadding}) and flip ({@code hflip}) augmentation, seed and {@code trainLimit}, normalised by
     * {@code data}. {@code .iterator()} gives them as a DL4J {@code DataSetIterator}.
     */
    public BatchLoader trainingBatches(ImageDataset train, DataConfig data) {
        BatchLoader.Builder b = BatchLoader.training(train, data, batchSize)
                .augmentation(Augmentation.of(cropPadding, hflip)).seed(seed);
        if (trainLimit > 0) b.limit(trainLimit);
        return b.build();
    }

    /** The held-out batches of this recipe: batch size and {@code evalLimit}, in index order, no augmentation. */
    public BatchLoader evaluationBatches(ImageDataset eval, DataConfig data) {
        BatchLoader.Builder b = BatchLoader.evaluation(eval, data, batchSize);
        if (evalLimit > 0) b.limit(evalLimit);
        return b.build();
    }

    /** Total optimizer steps for a training set of {@code stepsPerEpoch} steps per epoch. */
    public long totalSteps(long stepsPerEpoch) {
        return steps > 0 ? steps : epochs * stepsPerEpoch;
    }

    /**
     * Settings that do not change the trained weights, left out of a run's identity so a checkpoint resumes across them
     * (and across versions that did not have them): the job's control, the number of held-out evaluations, activation
     * recomputation (the same bits) and the memory check (it only decides whether to start).
     */
    public static final List<String> NOT_TRAINING = List.of("control", "evalsPerEpoch", "recompute", "memoryCheck");

    /** {@link #toJson()} without the {@link #NOT_TRAINING} settings: what decides the trained weights. */
    public ObjectNode toTrainingJson() {
        ObjectNode o = toJson();
        o.remove(NOT_TRAINING);
        return o;
    }

    /** The recipe as JSON, one member per setting, in a fixed order (reports, configuration hashes, resume checks). */
    public ObjectNode toJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("epochs", epochs);
        o.put("steps", steps);
        o.put("batchSize", batchSize);
        o.put("learningRate", learningRate);
        o.put("minLearningRate", minLearningRate);
        o.put("warmupEpochs", warmupEpochs);
        o.put("weightDecay", weightDecay);
        o.put("labelSmoothing", labelSmoothing);
        o.put("clipGradNorm", clipGradNorm);
        o.put("dropPath", dropPath);
        o.put("emaDecay", emaDecay);
        o.put("trainable", trainable.spelling());
        o.put("seed", seed);
        o.put("cropPadding", cropPadding);
        o.put("hflip", hflip);
        o.put("checkpointEvery", checkpointEvery);
        o.put("trainLimit", trainLimit);
        o.put("evalLimit", evalLimit);
        o.put("workers", workers);
        o.put("recompute", recompute);
        o.put("control", control);
        o.put("evalsPerEpoch", evalsPerEpoch);
        o.put("memoryCheck", memoryCheck);
        return o;
    }

    /** Reads {@link #toJson()}'s form; members not given keep their defaults, unknown members are an error. */
    public static Builder fromJson(JsonNode json) {
        Builder b = new Builder();
        for (Iterator<String> it = json.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            JsonNode v = json.get(f);
            switch (f) {
                case "epochs": b.epochs(count(f, v)); break;
                case "steps": b.steps(whole(f, v)); break;
                case "batchSize": b.batchSize(count(f, v)); break;
                case "learningRate": b.learningRate(number(f, v)); break;
                case "minLearningRate": b.minLearningRate(number(f, v)); break;
                case "warmupEpochs": b.warmupEpochs(number(f, v)); break;
                case "weightDecay": b.weightDecay(number(f, v)); break;
                case "labelSmoothing": b.labelSmoothing(number(f, v)); break;
                case "clipGradNorm": b.clipGradNorm(number(f, v)); break;
                case "dropPath": b.dropPath(number(f, v)); break;
                case "emaDecay": b.emaDecay(number(f, v)); break;
                case "trainable": b.trainable(Trainable.parse(v.asText())); break;
                case "seed": b.seed(whole(f, v)); break;
                case "cropPadding": b.cropPadding(count(f, v)); break;
                case "hflip": b.hflip(number(f, v)); break;
                case "checkpointEvery": b.checkpointEvery(count(f, v)); break;
                case "trainLimit": b.trainLimit(count(f, v)); break;
                case "evalLimit": b.evalLimit(count(f, v)); break;
                case "workers": b.workers(count(f, v)); break;
                case "recompute": b.recompute(flag(f, v)); break;
                case "control": b.control(flag(f, v)); break;
                case "evalsPerEpoch": b.evalsPerEpoch(count(f, v)); break;
                case "memoryCheck": b.memoryCheck(flag(f, v)); break;
                default: throw new InvalidSettingException(f, v, "one of the settings " + new Builder().build().toJson().properties()
                        .stream().map(java.util.Map.Entry::getKey).collect(java.util.stream.Collectors.joining(", ")));
            }
        }
        return b;
    }

    private static double number(String setting, JsonNode v) {
        if (!v.isNumber()) throw new InvalidSettingException(setting, v, "a number");
        return v.doubleValue();
    }

    /** true or false, as JSON booleans or as the text a command line gives. */
    private static boolean flag(String setting, JsonNode v) {
        if (v.isBoolean()) return v.booleanValue();
        if (v.isTextual() && (v.asText().equals("true") || v.asText().equals("false"))) return Boolean.parseBoolean(v.asText());
        throw new InvalidSettingException(setting, v, "true or false");
    }

    private static long whole(String setting, JsonNode v) {
        if (!v.canConvertToExactIntegral() || !v.canConvertToLong()) throw new InvalidSettingException(setting, v, "a whole number");
        return v.longValue();
    }

    /** A whole number that fits an int: a larger one is refused, not wrapped round. */
    private static int count(String setting, JsonNode v) {
        long n = whole(setting, v);
        if (n != (int) n) throw new InvalidSettingException(setting, v, "a whole number up to " + Integer.MAX_VALUE);
        return (int) n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TrainConfig && toJson().equals(((TrainConfig) o).toJson());
    }

    @Override
    public int hashCode() {
        return toJson().hashCode();
    }

    @Override
    public String toString() {
        return "TrainConfig" + toJson();
    }

    /**
     * Defaults: the project's recommended fine-tuning recipe for a grown model, every front end's default (the plugin,
     * the command line's {@code expand} and the Spark job leave unset settings to it) and the README's main job: one
     * epoch of batches of 128 in which the adjustment parameters, the norms and the head train (the shared tensors and
     * embeddings stay frozen), at a peak learning rate of 1e-3 after a warm-up of a fifth of the epoch, then cosine to
     * 1e-6; AdamW with weight decay 0.05, label smoothing 0.1, clipping at norm 1.0, random crop (padding 2) and flip.
     * It was chosen on a validation split the base never trained on (README, "Why this recipe"); on it, training
     * everything for an epoch ended below the base at every learning rate tried.
     */
    public static final class Builder {
        private int epochs = 1;
        private long steps;
        private int batchSize = 128;
        private double learningRate = 1e-3;
        private double minLearningRate = 1e-6;
        private double warmupEpochs = 0.2;
        private double weightDecay = 0.05;
        private double labelSmoothing = 0.1;
        private double clipGradNorm = 1.0;
        private double dropPath;
        private double emaDecay;
        private Trainable trainable = Trainable.ADJUSTMENTS;
        private long seed = 42;
        private int cropPadding = 2;
        private double hflip = 0.5;
        private int checkpointEvery = 200;
        private int trainLimit;
        private int evalLimit;
        private int workers = 1;
        private boolean recompute;
        private boolean control;
        private int evalsPerEpoch = 1;
        private boolean memoryCheck = true;

        private Builder() {}

        public Builder epochs(int v) { epochs = v; return this; }
        public Builder steps(long v) { steps = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        /** Peak learning rate, reached at the end of warm-up. */
        public Builder learningRate(double v) { learningRate = v; return this; }
        /** Learning rate at the end of the cosine decay. */
        public Builder minLearningRate(double v) { minLearningRate = v; return this; }
        public Builder warmupEpochs(double v) { warmupEpochs = v; return this; }
        /** Decoupled (AdamW) weight decay on weight matrices only. */
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder labelSmoothing(double v) { labelSmoothing = v; return this; }
        /** Clip the global L2 norm of the (batch-mean) gradient to this; 0 turns clipping off. */
        public Builder clipGradNorm(double v) { clipGradNorm = v; return this; }
        /** Stochastic-depth rate of the last block (timm's drop_path_rate). */
        public Builder dropPath(double v) { dropPath = v; return this; }
        /** Decay of an exponential moving average of the weights, evaluated and kept as the result; 0 for none. */
        public Builder emaDecay(double v) { emaDecay = v; return this; }
        public Builder trainable(Trainable v) { trainable = java.util.Objects.requireNonNull(v); return this; }
        public Builder seed(long v) { seed = v; return this; }
        /** Random crop after zero-padding by this many pixels; 0 for none. */
        public Builder cropPadding(int v) { cropPadding = v; return this; }
        /** Probability of a horizontal flip. */
        public Builder hflip(double v) { hflip = v; return this; }
        /** Write a resumable checkpoint every this many steps (and at every epoch end). */
        public Builder checkpointEvery(int v) { checkpointEvery = v; return this; }
        /** Use only the first N training images (0: all). */
        public Builder trainLimit(int v) { trainLimit = v; return this; }
        /** Evaluate on only the first N held-out images (0: all). */
        public Builder evalLimit(int v) { evalLimit = v; return this; }
        /**
         * Train with this many data-parallel workers (DL4J ParallelWrapper); 1 for none. A step is then one batch per
         * worker, so an epoch has {@code workers} times fewer steps and the schedule, warm-up, {@code steps} and
         * {@code checkpointEvery} count these rounds.
         */
        public Builder workers(int v) { workers = v; return this; }
        /** Recompute each block's activations in the backward pass instead of keeping them ({@link TrainConfig#recompute()}). */
        public Builder recompute(boolean v) { recompute = v; return this; }

        /** {@link TrainConfig#control()}; default false. */
        public Builder control(boolean v) { control = v; return this; }
        /** {@link TrainConfig#evalsPerEpoch()}; default 1. */
        public Builder evalsPerEpoch(int v) { evalsPerEpoch = v; return this; }
        /** {@link TrainConfig#memoryCheck()}; default true. */
        public Builder memoryCheck(boolean v) { memoryCheck = v; return this; }
        public TrainConfig build() { return new TrainConfig(this); }
    }
}
