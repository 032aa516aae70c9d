package dev.scalenet.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.data.BatchLoader;
import dev.scalenet.data.DataConfig;
import dev.scalenet.data.ImageDataSetIterator;
import dev.scalenet.data.ImageDataset;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Fine-tunes a ViT built by this library (plain or expanded) with a {@link TrainConfig} recipe, writing into a
 * run folder: {@code checkpoint.zip} (resumable state), {@code metrics.jsonl} and {@code curve.png}.
 *
 * <p>A step is DL4J's forward/backward ({@code computeGradientAndScore}), then global gradient-norm clipping,
 * then the updater (Adam + decoupled weight decay, the learning rate from a warm-up/cosine schedule), then the
 * parameter update. A NaN, infinite or exploding loss or gradient stops the run before the bad update, keeping
 * the last good checkpoint. Every random choice (data order, augmentation, stochastic depth) is a pure function
 * of the seed and the step, so a run resumed from a checkpoint ends exactly where an uninterrupted run ends.
 *
 * <p>It trains the graph it is given, in place, after {@link #prepare} has set the recipe's updater, weight decay,
 * frozen parameters, stochastic depth and loss on it (the exact list: {@link #changes}, logged, and in
 * {@link TrainResult#recipeChanges()}). Pass {@code graph.clone()} to keep the original.
 */
public final class Trainer {
    private static final Logger log = LoggerFactory.getLogger(Trainer.class);

    public static final String CHECKPOINT = "checkpoint.zip";
    public static final String METRICS = "metrics.jsonl";
    public static final String CURVE = "curve.png";

    private final TrainConfig config;
    private final DataConfig data;
    private final Path runDir;
    private final boolean resume;
    private final String name;
    private final ParallelEngine.Factory engine;

    /**
     * A trainer that starts afresh, replacing any checkpoint in {@code runDir}; {@link #withResume} continues from it.
     *
     * @param runDir where the checkpoint, metrics and curve go
     * @param name   starts every progress line and titles the curve
     */
    public Trainer(TrainConfig config, DataConfig data, Path runDir, String name) {
        this(config, data, runDir, false, name, ParallelWrapperEngine::start);
    }

    /**
     * This trainer, continuing from {@code runDir}'s checkpoint if there is one and {@code resume} is true (the
     * checkpoint must come from the same recipe, data and starting model); otherwise starting afresh.
     */
    public Trainer withResume(boolean resume) {
        return new Trainer(config, data, runDir, resume, name, engine);
    }

    private Trainer(TrainConfig config, DataConfig data, Path runDir, boolean resume, String name, ParallelEngine.Factory engine) {
        this.config = config;
        this.data = data;
        this.runDir = runDir;
        this.resume = resume;
        this.name = name;
        this.engine = engine;
    }

    /**
     * This trainer with another engine for the rounds of {@code workers > 1} (DL4J's ParallelWrapper on this machine
     * by default); everything else (schedule, checkpoints, resume, evaluations, metrics) stays the trainer's.
     */
    public Trainer withParallelEngine(ParallelEngine.Factory parallelEngine) {
        return new Trainer(config, data, runDir, resume, name, Objects.requireNonNull(parallelEngine, "parallelEngine"));
    }

    /**
     * Configures {@code graph} in place for this recipe and returns it. Exactly these changes, also logged as one line
     * and listed by {@link #changes}:
     * <ul>
     *   <li>every layer's updater becomes Adam with this recipe's warm-up/cosine learning rate (no separate bias
     *       updater), with fresh optimizer state held by DL4J's graph updater kept on its in-place path
     *       ({@code InPlaceGraphUpdater}: the same update, without DL4J 1.0.0-M2.1's per-step view building), and the
     *       iteration and epoch counters restart at 0;</li>
     *   <li>every layer's regularisation becomes decoupled weight decay {@code weightDecay} on weights, none on
     *       biases (replacing any l1/l2/weight decay the graph had);</li>
     *   <li>the parameters {@code trainable} excludes are frozen (all others unfrozen);</li>
     *   <li>the block stack's stochastic-depth rate becomes {@code dropPath}, and it recomputes its activations in
     *       the backward pass when {@code recompute} is on;</li>
     *   <li>the output layer's loss becomes softmax cross-entropy with {@code labelSmoothing}.</li>
     * </ul>
     * Weights are not touched. To keep the original graph as it was, pass a copy: {@code prepare(graph.clone(), n)}.
     *
     * @param stepsPerEpoch training steps per epoch ({@code trainingBatches(...).stepsPerEpoch()}, divided by
     *                      {@code workers} when there are several): the schedule's length
     */
    public ComputationGraph prepare(ComputationGraph graph, long stepsPerEpoch) {
        RecipeSetup recipe = new RecipeSetup(config);
        recipe.apply(graph, stepsPerEpoch);
        log.info("{}: configured the graph for training: {}", name, String.join("; ", recipe.changes(graph, stepsPerEpoch)));
        return graph;
    }

    /** What {@link #prepare} changes on {@code graph}, one entry per change, in words with this recipe's values. */
    public List<String> changes(ComputationGraph graph, long stepsPerEpoch) {
        return new RecipeSetup(config).changes(graph, stepsPerEpoch);
    }

    /**
     * Trains {@code graph} in place on {@code train}, evaluating on {@code eval} (may be null) before training and
     * after each epoch. First {@link #prepare}s the graph (see there for exactly what that changes; the list is in
     * {@link TrainResult#recipeChanges()}). Progress, {@code metrics.jsonl} and {@code curve.png} come from a
     * {@link ProgressListener}, the same a plain {@code graph.fit} loop can use; the batches from
     * {@link TrainConfig#trainingBatches}, the same {@code DataSetIterator} a plain loop can use.
     */
    public TrainResult fit(ComputationGraph graph, ImageDataset train, ImageDataset eval) throws IOException {
        int classes = (int) ((BaseOutputLayer) outputLayer(graph).conf().getLayer()).getNOut();
        Evaluator.requireClasses("trainData", train, classes);
        if (eval != null) Evaluator.requireClasses("evalData", eval, classes);
        String startModel = ModelFingerprint.of(graph);

        int images = config.trainLimit() > 0 ? Math.min(config.trainLimit(), train.size()) : train.size();
        InvalidSettingException.require(config.batchSize() <= images, "batchSize", config.batchSize(),
                "at most the " + images + " training images of " + train.describe());
        BatchLoader loader = config.trainingBatches(train, data);
        int workers = config.workers();
        InvalidSettingException.require(workers <= loader.stepsPerEpoch(), "workers", workers,
                "at most the " + loader.stepsPerEpoch() + " batches of an epoch of " + train.describe());
        // with several workers a step is a round of one batch per worker; an epoch's last
        // (stepsPerEpoch mod workers) batches are left out, as the loader leaves out an incomplete batch
        long perEpoch = loader.stepsPerEpoch() / workers;
        long total = config.totalSteps(perEpoch);
        List<String> changes = changes(graph, perEpoch);
        prepare(graph, perEpoch);
        long trainable = RecipeSetup.trainableParams(graph);

        Files.createDirectories(runDir);
        RunCheckpoints checkpoints = RunCheckpoints.of(runDir.resolve(CHECKPOINT), config, data, train, eval, startModel);
        DivergenceGuard divergence = new DivergenceGuard(name, classes, config.learningRate(), checkpoints.file());
        long step = 0;
        double trainSeconds = 0;
        INDArray ema = config.emaDecay() > 0 ? graph.params().dup() : null;
        ProgressListener.Builder progressBuilder = ProgressListener.builder(runDir).name(name).stepsPerEpoch(perEpoch)
                .totalSteps(total).workers(workers);
        RunCheckpoints.Position resumed = resume ? checkpoints.restore(graph, ema) : null;
        if (resumed != null) {
            step = resumed.step();
            trainSeconds = resumed.trainSeconds();
            progressBuilder.resumeAfter(step);
            log.info("{}: resuming from step {} of {} ({})", name, step, total, checkpoints.file());
        }
        long resumedFrom = step;
        log.info("{}: {} steps ({} per epoch, batch {}{}), {} of {} parameters train ({}), data {}", name, total, perEpoch,
                config.batchSize(), workers > 1 ? " on each of " + workers + " data-parallel workers" : "", trainable,
                graph.numParams(), config.trainable().spelling(), train.describe());

        try (ProgressListener progress = progressBuilder.build()) {
            if (step == 0 && eval != null) { // where the curve starts: the model before any update
                progress.evaluated(0, 0, evaluate(graph, ema, eval));
            }
            // the same DataSetIterator a user's own graph.fit(iterator) gets: one batch pipeline
            ImageDataSetIterator batches = loader.iterator();
            batches.startEpoch((int) (step / perEpoch), (int) (step % perEpoch) * workers);
            ParallelEngine parallel = workers > 1 ? engine.start(graph, config, progress) : null;
            if (parallel != null) log.info("{}: rounds train on {}", name, parallel.describe());
            try {
                progress.onEpochStart(graph);
                while (step < total) {
                    // the next epoch, in its own order (leaving out the batches that do not fill a round)
                    if (!batches.hasNext() || batches.nextStep() >= perEpoch * workers) batches.reset();
                    int epoch = batches.epoch();
                    long t0 = System.nanoTime();
                    long until;
                    if (parallel == null) {
                        DataSet batch = batches.next();
                        double[] lossAndNorm = step(graph, batch, step, epoch, progress);
                        divergence.checkStep(step, epoch, lossAndNorm[0], lossAndNorm[1]);
                        if (ema != null) ema.muli(config.emaDecay()).addi(graph.params().mul(1 - config.emaDecay()));
                        trainSeconds += (System.nanoTime() - t0) / 1e9;
                        progress.iterationDone(graph, (int) step, epoch);
                        until = step + 1;
                    } else {
                        // up to the next epoch end or checkpoint, whichever comes first: the engine trains the
                        // rounds in between without coming back here
                        until = Math.min(total, (step / perEpoch + 1) * perEpoch);
                        if (eval != null) { // and stop at the next held-out evaluation
                            long next = step + 1;
                            while (next < until && !config.evaluatesAfter(next - (next - 1) / perEpoch * perEpoch, perEpoch)) next++;
                            until = next;
                        }
                        if (config.checkpointEvery() > 0) {
                            until = Math.min(until, (step / config.checkpointEvery() + 1) * config.checkpointEvery());
                        }
                        graph.getConfiguration().setIterationCount((int) step); // the schedule's position; replicas copy it
                        graph.getConfiguration().setEpochCount(epoch);
                        parallel.fit(graph, batches, until - step);
                        trainSeconds += (System.nanoTime() - t0) / 1e9;
                        divergence.checkRounds(step, until, epoch,
                                Double.isFinite(graph.params().norm2Number().doubleValue()), graph.score());
                    }
                    step = until;
                    boolean epochEnd = step % perEpoch == 0 || step == total;
                    long inEpoch = step - (step - 1) / perEpoch * perEpoch; // 1 .. perEpoch
                    boolean evaluates = (epochEnd || config.evaluatesAfter(inEpoch, perEpoch)) && eval != null;
                    boolean saves = epochEnd || (config.checkpointEvery() > 0 && step % config.checkpointEvery() == 0);
                    if (evaluates) progress.evaluated(step, epoch, evaluate(graph, ema, eval));
                    if (saves) checkpoints.save(step, trainSeconds, graph, ema);
                    if (evaluates || saves) progress.resumeTiming(); // evaluation and checkpoint are not training time
                }
            } finally {
                batches.close();
                if (parallel != null) parallel.close(); // stops the workers
            }
            List<EvalResult> evals = new ArrayList<>();
            for (JsonNode line : progress.metrics().lines()) {
                if ("eval".equals(line.path("event").asText())) {
                    evals.add(new EvalResult(line.get("examples").asLong(), line.get("top1").asDouble(),
                            line.get("top5").asDouble(), line.get("loss").asDouble()));
                }
            }
            if (ema != null) graph.setParams(ema);
            // every training batch is full (the loader drops an incomplete last one); a step trains one per worker
            return new TrainResult(graph, config, step, resumedFrom, trainSeconds, step * config.batchSize() * workers,
                    trainable, evals, runDir.resolve(METRICS), runDir.resolve(CURVE), changes);
        }
    }

    /**
     * One optimizer step, skipping the update when the loss or gradient is not finite; returns {loss, global gradient
     * norm of the batch-mean gradient}.
     */
    private double[] step(ComputationGraph graph, DataSet batch, long step, int epoch, ProgressListener progress) {
        graph.getConfiguration().setIterationCount((int) step);
        graph.getConfiguration().setEpochCount(epoch);
        for (Layer l : graph.getLayers()) {
            l.setIterationCount((int) step); // stochastic depth draws its masks from (seed, iteration)
            l.setEpochCount(epoch);
        }
        graph.setInputs(batch.getFeatures());
        graph.setLabels(batch.getLabels());
        graph.computeGradientAndScore();
        progress.onGradientCalculation(graph);
        double loss = graph.score();
        INDArray gradient = graph.gradient().gradient();
        int n = batch.numExamples();
        // DL4J's gradient is summed over the batch here; the updater divides by n
        double norm = GradientClipping.clip(gradient, n, config.clipGradNorm());
        if (!Double.isFinite(loss) || !Double.isFinite(norm)) return new double[] {loss, norm};
        graph.getUpdater().update(graph.gradient(), (int) step, epoch, n, LayerWorkspaceMgr.noWorkspaces());
        graph.params().subi(gradient);
        return new double[] {loss, norm};
    }

    private EvalResult evaluate(ComputationGraph graph, INDArray ema, ImageDataset eval) {
        ImageDataSetIterator batches = config.evaluationBatches(eval, data).iterator();
        INDArray trained = null;
        if (ema != null) {
            trained = graph.params().dup();
            graph.setParams(ema);
        }
        try {
            return Evaluator.evaluate(graph, batches);
        } finally {
            batches.close();
            if (trained != null) graph.setParams(trained);
        }
    }

    private static Layer outputLayer(ComputationGraph graph) {
        return graph.getOutputLayer(0);
    }
}
