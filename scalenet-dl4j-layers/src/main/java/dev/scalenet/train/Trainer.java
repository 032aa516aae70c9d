package dev.scalenet.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.data.ImageDataSetIterator;
import dev.scalenet.data.BatchLoader;
import dev.scalenet.data.DataConfig;
import dev.scalenet.data.ImageDataset;
import dev.scalenet.io.AtomicFiles;
import dev.scalenet.layers.ScaleNetBlocks;
import dev.scalenet.layers.SoftmaxCrossEntropy;
import dev.scalenet.layers.VitLayerConf;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.parallelism.ParallelWrapper;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

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
    /** A loss this many times that of uniform guessing (ln classes) counts as exploded. */
    private static final double EXPLODED_LOSS_FACTOR = 20;

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
        this(config, data, runDir, false, name, Trainer::parallelWrapper);
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
        return new Trainer(config, data, runDir, resume, name, java.util.Objects.requireNonNull(parallelEngine, "parallelEngine"));
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
        long total = config.totalSteps(stepsPerEpoch);
        long warmup = Math.min(total, Math.round(config.warmupEpochs() * stepsPerEpoch));
        applyRecipe(graph, total, warmup);
        log.info("{}: configured the graph for training: {}", name, String.join("; ", changes(graph, stepsPerEpoch)));
        return graph;
    }

    /** What {@link #prepare} changes on {@code graph}, one entry per change, in words with this recipe's values. */
    public List<String> changes(ComputationGraph graph, long stepsPerEpoch) {
        long total = config.totalSteps(stepsPerEpoch);
        long warmup = Math.min(total, Math.round(config.warmupEpochs() * stepsPerEpoch));
        List<String> c = new ArrayList<>();
        c.add(String.format(Locale.ROOT, "updater of every layer: Adam, learning rate warm-up over %d steps to %.3g then"
                + " cosine to %.3g at step %d; fresh optimizer state (DL4J's graph updater, on its in-place path); iteration and"
                + " epoch counters reset to 0", warmup,
                config.learningRate(), config.minLearningRate(), total));
        c.add(config.weightDecay() > 0 ? "regularization: decoupled weight decay " + config.weightDecay()
                + " on weights, none on biases (replaces the graph's own)" : "regularization: none (removes the graph's own)");
        long frozen = 0;
        for (Layer layer : graph.getLayers()) {
            if (layer.conf().getLayer() instanceof VitLayerConf v) {
                for (String p : config.trainable().frozenParams(v)) {
                    INDArray a = layer.paramTable().get(p);
                    if (a != null) frozen += a.length();
                }
            }
        }
        c.add("frozen: " + frozen + " of " + graph.numParams() + " parameters (trainable=" + config.trainable().spelling() + ")");
        c.add("stochastic depth of the block stack: " + config.dropPath()
                + (config.recompute() ? "; activations recomputed in the backward pass (only each block's input kept)" : ""));
        c.add("loss: softmax cross-entropy, label smoothing " + config.labelSmoothing());
        return c;
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
        long trainable = trainableParams(graph);

        Files.createDirectories(runDir);
        Path checkpointFile = runDir.resolve(CHECKPOINT);
        AtomicFiles.deleteLeftovers(checkpointFile); // a killed run's half-written checkpoint
        ObjectNode identity = identity(train, eval, startModel);
        long step = 0;
        double trainSeconds = 0;
        INDArray ema = config.emaDecay() > 0 ? graph.params().dup() : null;
        ProgressListener.Builder progressBuilder = ProgressListener.builder(runDir).name(name).stepsPerEpoch(perEpoch)
                .totalSteps(total).workers(workers);
        if (resume && Files.exists(checkpointFile)) {
            TrainingCheckpoint c = TrainingCheckpoint.load(checkpointFile, graph.numParams());
            requireSameRun(checkpointFile, c.state.get("identity"), identity);
            graph.setParams(c.params);
            if (c.updater != null) graph.getUpdater().setStateViewArray(c.updater);
            if (ema != null) ema.assign(c.ema);
            step = c.step();
            trainSeconds = c.state.get("trainSeconds").asDouble();
            progressBuilder.resumeAfter(step);
            log.info("{}: resuming from step {} of {} ({})", name, step, total, checkpointFile);
        }
        long resumedFrom = step;
        log.info("{}: {} steps ({} per epoch, batch {}{}), {} of {} parameters train ({}), data {}", name, total, perEpoch,
                config.batchSize(), workers > 1 ? " on each of " + workers + " data-parallel workers" : "", trainable,
                graph.numParams(), config.trainable().spelling(), train.describe());

        double explodedLoss = EXPLODED_LOSS_FACTOR * Math.log(Math.max(2, classes));
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
                        String problem = problem(lossAndNorm[0], lossAndNorm[1], explodedLoss);
                        if (problem != null) throw diverged(step, epoch, problem, checkpointFile, "this step was not applied");
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
                        // checked once per fit: the engine gives no say between its rounds
                        String problem = Double.isFinite(graph.params().norm2Number().doubleValue())
                                ? problem(graph.score(), 0, explodedLoss) : "the weights became non-finite";
                        if (problem != null) {
                            throw diverged(until - 1, epoch, problem, checkpointFile,
                                    "steps " + step + " to " + (until - 1) + " ran in parallel and are not saved");
                        }
                    }
                    step = until;
                    boolean epochEnd = step % perEpoch == 0 || step == total;
                    long inEpoch = step - (step - 1) / perEpoch * perEpoch; // 1 .. perEpoch
                    if ((epochEnd || config.evaluatesAfter(inEpoch, perEpoch)) && eval != null) {
                        progress.evaluated(step, epoch, evaluate(graph, ema, eval));
                    }
                    if (epochEnd || (config.checkpointEvery() > 0 && step % config.checkpointEvery() == 0)) {
                        new TrainingCheckpoint(state(identity, step, trainSeconds), graph.params(),
                                graph.getUpdater().getStateViewArray(), ema).save(checkpointFile);
                    }
                    if (epochEnd) progress.onEpochStart(graph); // evaluation and checkpoint are not training time
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

    /** One optimizer step; returns {loss, global gradient norm of the batch-mean gradient}. */
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

    /** Sets the optimizer, schedule, weight decay, frozen parameters, stochastic depth and label smoothing. */
    private void applyRecipe(ComputationGraph graph, long totalSteps, long warmupSteps) {
        IUpdater adamW = new Adam.Builder()
                .learningRateSchedule(new WarmupCosineSchedule(config.learningRate(), config.minLearningRate(), warmupSteps, totalSteps))
                .build();
        for (Layer layer : graph.getLayers()) {
            org.deeplearning4j.nn.conf.layers.Layer conf = layer.conf().getLayer();
            if (!(conf instanceof BaseLayer)) continue;
            BaseLayer base = (BaseLayer) conf;
            base.setIUpdater(adamW.clone());
            base.setBiasUpdater(null);
            base.setRegularization(config.weightDecay() > 0
                    ? new ArrayList<>(List.of(new DecoupledWeightDecay(config.weightDecay()))) : new ArrayList<>());
            base.setRegularizationBias(new ArrayList<>());
            if (conf instanceof VitLayerConf) {
                ((VitLayerConf) conf).freeze(config.trainable().frozenParams((VitLayerConf) conf));
            }
            if (conf instanceof ScaleNetBlocks) {
                ((ScaleNetBlocks) conf).setDropPathRate(config.dropPath());
                ((ScaleNetBlocks) conf).setRecompute(config.recompute());
            }
            if (conf instanceof BaseOutputLayer) {
                ((BaseOutputLayer) conf).setLossFn(new SoftmaxCrossEntropy(config.labelSmoothing()));
            }
        }
        graph.getConfiguration().setIterationCount(0);
        graph.getConfiguration().setEpochCount(0);
        graph.setUpdater(new InPlaceGraphUpdater(graph)); // fresh optimizer state for the new recipe
    }

    private static long trainableParams(ComputationGraph graph) {
        long n = 0;
        for (Layer layer : graph.getLayers()) {
            org.deeplearning4j.nn.conf.layers.Layer conf = layer.conf().getLayer();
            for (java.util.Map.Entry<String, INDArray> p : layer.paramTable().entrySet()) {
                if (!(conf instanceof VitLayerConf && ((VitLayerConf) conf).isFrozen(p.getKey()))) n += p.getValue().length();
            }
        }
        return n;
    }

    private static Layer outputLayer(ComputationGraph graph) {
        return graph.getOutputLayer(0);
    }

    /** What must not change between a checkpoint and a resume. */
    private ObjectNode identity(ImageDataset train, ImageDataset eval, String startModel) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.set("recipe", trainingSettings(config.toJson()));
        o.set("data", data.toJson());
        o.put("trainData", train.describe());
        o.put("evalData", eval == null ? "" : eval.describe());
        o.put("startModel", startModel);
        return o;
    }

    /**
     * Settings of the recipe that do not change the trained weights, left out of a run's identity so a checkpoint
     * resumes across them (and across versions that did not have them): the job's control and the number of
     * held-out evaluations.
     */
    private static final List<String> NOT_TRAINING = List.of("control", "evalsPerEpoch", "recompute"); // recompute: the same bits

    private static JsonNode trainingSettings(JsonNode recipe) {
        if (!(recipe instanceof ObjectNode)) return recipe;
        ObjectNode r = ((ObjectNode) recipe).deepCopy();
        r.remove(NOT_TRAINING);
        return r;
    }

    private static void requireSameRun(Path checkpoint, JsonNode saved, ObjectNode now) {
        List<String> differ = new ArrayList<>();
        now.fieldNames().forEachRemaining(f -> {
            JsonNode before = saved == null ? null : f.equals("recipe") ? trainingSettings(saved.get(f)) : saved.get(f);
            // compared as text: a number read back from the file may be another node type than the one written
            if (saved == null || !now.get(f).toString().equals(String.valueOf(before))) differ.add(f);
        });
        if (!differ.isEmpty()) {
            throw new IllegalStateException(checkpoint + " was written by a different run (" + String.join(", ", differ)
                    + " differ" + (differ.size() == 1 ? "s" : "") + "); delete it, or train without resume, to start afresh");
        }
    }

    private static ObjectNode state(ObjectNode identity, long step, double trainSeconds) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("format", 1);
        o.put("step", step);
        o.put("trainSeconds", trainSeconds);
        o.set("identity", identity);
        return o;
    }

    /**
     * DL4J's ParallelWrapper over {@code graph} (its worker 0; the others are replicas rebuilt from its JSON
     * configuration, weights and updater state at every {@code fit}) averaging weights and Adam state after every round.
     * The global-norm clipping comes as a listener; progress is taken from worker 0 only.
     */
    private static ParallelEngine parallelWrapper(ComputationGraph graph, TrainConfig config, ProgressListener progress) {
        ParallelWrapper wrapper = new ParallelWrapper.Builder<>(graph).workers(config.workers()).averagingFrequency(1)
                .averageUpdaters(true)
                .prefetchBuffer(0) // the loader already prepares the next batches on its own thread
                .workspaceMode(graph.getConfiguration().getTrainingWorkspaceMode())
                .build();
        ReplicasReady replicasReady = new ReplicasReady(config.workers());
        List<TrainingListener> listeners = new ArrayList<>();
        listeners.add(replicasReady);
        listeners.add(new BaseTrainingListener() { // the same instance is called from every worker's thread
            @Override
            public void onGradientCalculation(Model model) {
                if (model == graph) progress.onGradientCalculation(model);
            }

            @Override
            public void iterationDone(Model model, int iteration, int epoch) {
                if (model == graph) progress.iterationDone(model, iteration, epoch);
            }
        });
        if (config.clipGradNorm() > 0) listeners.add(new GradientClipping(config.clipGradNorm()));
        wrapper.setListeners(listeners);
        return new ParallelEngine() {
            @Override
            public void fit(ComputationGraph g, ImageDataSetIterator batches, long rounds) {
                replicasReady.newFit();
                wrapper.fit(new NextBatches(batches, rounds * config.workers()));
            }

            @Override
            public String describe() {
                return "DL4J ParallelWrapper, " + config.workers() + " worker threads";
            }

            @Override
            public void close() {
                wrapper.shutdown(); // stops the workers, unless its fit already has
            }
        };
    }

    /**
     * Holds every worker at its first gradient of a {@code ParallelWrapper.fit} until all have got there. Each
     * {@code fit} builds new replicas, each of which copies worker 0's weights and updater state on its own thread
     * when it starts, while worker 0 (the graph itself) may already be training on its first batch: without this
     * wait a replica could copy weights one step ahead, or half-updated (measured: two identical 2-worker runs
     * ended up to 0.05 apart in some weights). A worker has copied before its first gradient, and worker 0 changes
     * nothing before its gradient is done, so after this wait all start from the same weights.
     */
    private static final class ReplicasReady extends BaseTrainingListener {
        private final int workers;
        private java.util.Set<Model> started = new java.util.HashSet<>();
        private java.util.concurrent.CyclicBarrier barrier;

        ReplicasReady(int workers) {
            this.workers = workers;
        }

        synchronized void newFit() {
            started = new java.util.HashSet<>();
            barrier = new java.util.concurrent.CyclicBarrier(workers);
        }

        @Override
        public void onGradientCalculation(Model model) {
            java.util.concurrent.CyclicBarrier b;
            synchronized (this) {
                if (!started.add(model)) return;
                b = barrier;
            }
            try {
                b.await(10, java.util.concurrent.TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the other ParallelWrapper workers", e);
            } catch (java.util.concurrent.BrokenBarrierException | java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException("a ParallelWrapper worker did not start its first batch", e);
            }
        }
    }

    /** The next {@code n} batches of {@code source}, for one {@code ParallelWrapper.fit}. */
    private static final class NextBatches implements DataSetIterator {
        private static final long serialVersionUID = 1L;
        private final transient ImageDataSetIterator source;
        private long left;

        NextBatches(ImageDataSetIterator source, long n) {
            this.source = source;
            this.left = n;
        }

        @Override public boolean hasNext() { return left > 0 && source.hasNext(); }
        @Override public DataSet next() {
            if (!hasNext()) throw new java.util.NoSuchElementException("no batches left in this round");
            left--;
            return source.next();
        }
        @Override public DataSet next(int num) { throw new UnsupportedOperationException("next(" + num + ")"); }
        @Override public int inputColumns() { return source.inputColumns(); }
        @Override public int totalOutcomes() { return source.totalOutcomes(); }
        @Override public boolean resetSupported() { return false; }
        @Override public boolean asyncSupported() { return false; }
        @Override public void reset() { throw new UnsupportedOperationException("reset: a fixed share of an epoch"); }
        @Override public int batch() { return source.batch(); }
        @Override public void setPreProcessor(DataSetPreProcessor p) { throw new UnsupportedOperationException("setPreProcessor"); }
        @Override public DataSetPreProcessor getPreProcessor() { return null; }
        @Override public List<String> getLabels() { return source.getLabels(); }
    }

    /** What is wrong with a step's loss and gradient norm, or null if nothing. */
    private static String problem(double loss, double gradNorm, double explodedLoss) {
        if (!Double.isFinite(loss)) return "the loss became " + loss;
        if (!Double.isFinite(gradNorm)) return "the gradient norm became " + gradNorm;
        return loss < explodedLoss ? null : String.format(Locale.ROOT, "the loss exploded to %.4g", loss);
    }

    private TrainingDivergedException diverged(long step, int epoch, String what, Path checkpoint, String applied) {
        String kept = Files.exists(checkpoint) ? "the last good checkpoint is kept in " + checkpoint
                : "no checkpoint had been written yet";
        return new TrainingDivergedException(name + ": training stopped at step " + step + " (epoch " + (epoch + 1) + "): " + what
                + "; " + applied + " and " + kept + ". Lower learningRate (now " + config.learningRate()
                + ") or set clipGradNorm.", step);
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60)
                : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
}
