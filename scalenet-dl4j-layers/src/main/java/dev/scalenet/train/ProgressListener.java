package dev.scalenet.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.learning.config.IUpdater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.helpers.NOPLogger;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Training progress as a DL4J {@link org.deeplearning4j.optimize.api.TrainingListener}: the progress line (step,
 * loss, learning rate, images/s, ETA; logged for the first step, then every 10 s), the run's
 * {@code metrics.jsonl} ({@link MetricsLog}: the mean training loss and the latest step's gradient norm 20 times an epoch, and each
 * evaluation) and {@code curve.png} (redrawn after each evaluation, at each epoch end and on {@link #close()}). {@link Trainer} uses
 * it; a plain DL4J loop gets the same output:
 * <pre>{@code
 * try (ProgressListener progress = ProgressListener.builder(runDir).name("deep").stepsPerEpoch(train.stepsPerEpoch())
 *         .totalSteps(epochs * train.stepsPerEpoch()).evaluateOn(heldOut.iterator()).build()) {
 *     graph.setListeners(progress);
 *     graph.fit(train.iterator(), epochs);
 * }
 * }</pre>
 * The step is DL4J's iteration count plus one, the loss the model's score, the learning rate that of the first
 * layer's updater at that iteration. Without {@link Builder#totalSteps} the line has no ETA. With
 * {@link Builder#evaluateOn} (a {@link ComputationGraph} only), every epoch end evaluates there and logs the result.
 */
public final class ProgressListener extends BaseTrainingListener implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(ProgressListener.class);
    /** Where progress lines go: the log, or standard error when the application has no SLF4J binding. */
    private static final Consumer<String> SAY = sinkFor(log);
    private static final long INTERVAL_NANOS = 10_000_000_000L;
    /** Training-loss lines per epoch in the metrics file (each the mean over its interval). */
    static final int METRIC_LINES_PER_EPOCH = 20;

    private final MetricsLog metrics;
    private final Path curve;
    private final String name;
    private final long stepsPerEpoch;
    private final long totalSteps;
    private final long metricEvery;
    private final DataSetIterator evalData;
    private final int workers;

    private double lossSum;
    private long lossCount;
    private double gradNorm = Double.NaN;
    private long images;
    private long stepsTimed;
    private long trainNanos;
    private long lastTick = System.nanoTime();
    private long lastLine;
    private boolean anyStep;

    private ProgressListener(Builder b, MetricsLog metrics) {
        this.metrics = metrics;
        this.curve = b.runDir.resolve(Trainer.CURVE);
        this.name = b.name;
        this.stepsPerEpoch = b.stepsPerEpoch;
        this.totalSteps = b.totalSteps;
        this.metricEvery = Math.max(1, b.stepsPerEpoch / METRIC_LINES_PER_EPOCH);
        this.evalData = b.evalData;
        this.workers = b.workers;
    }

    /** Writes into {@code runDir} ({@code metrics.jsonl}, {@code curve.png}); created if missing. */
    public static Builder builder(Path runDir) {
        return new Builder(runDir);
    }

    /** Configures a {@link ProgressListener}. */
    public static final class Builder {
        private final Path runDir;
        private String name = "training";
        private long stepsPerEpoch;
        private long totalSteps;
        private long resumeAfter = -1;
        private DataSetIterator evalData;
        private int workers = 1;

        private Builder(Path runDir) {
            this.runDir = Objects.requireNonNull(runDir, "runDir");
        }

        /** Starts every log line and titles the curve. */
        public Builder name(String v) { name = Objects.requireNonNull(v); return this; }
        /** Steps per epoch: gives the fractional epoch and 20 metric lines an epoch (else one line a step). */
        public Builder stepsPerEpoch(long v) { stepsPerEpoch = v; return this; }
        /** Steps of the whole run: gives the percentage and the ETA. */
        public Builder totalSteps(long v) { totalSteps = v; return this; }
        /** Keeps the metrics file's lines up to {@code step} (a resumed run) instead of starting it afresh. */
        public Builder resumeAfter(long step) { resumeAfter = step; return this; }
        /** Evaluates on these held-out batches at every epoch end (reset before each use). */
        public Builder evaluateOn(DataSetIterator v) { evalData = v; return this; }
        /** Each step trains one batch on each of this many parallel workers: images/s counts them all. */
        public Builder workers(int v) { workers = v; return this; }

        /** Opens the metrics file. */
        public ProgressListener build() throws IOException {
            Files.createDirectories(runDir);
            Path file = runDir.resolve(Trainer.METRICS);
            return new ProgressListener(this, resumeAfter >= 0 ? MetricsLog.resume(file, resumeAfter) : MetricsLog.create(file));
        }
    }

    /** The metrics written so far, including the kept lines of a resumed run. */
    public MetricsLog metrics() {
        return metrics;
    }

    @Override
    public void onEpochStart(Model model) {
        resumeTiming(); // the pause between epochs (evaluation, checkpoint) is not training time
    }

    /** The time since the last step was not training (an evaluation, a checkpoint): images/s and the ETA leave it out. */
    public void resumeTiming() {
        lastTick = System.nanoTime();
    }

    @Override
    public void onGradientCalculation(Model model) {
        // the batch-mean gradient's norm (DL4J's gradient here is the sum over the batch), before any clipping
        long n = Math.max(1, model.batchSize());
        gradNorm = model.gradient().gradient().norm2Number().doubleValue() / n;
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
        stepDone(model, iteration, epoch, model.batchSize(), model.score());
    }

    /**
     * A step trained away from {@code model} (a cluster's executors), with its batch size per worker and its loss (the
     * mean over the workers); {@code model} gives the learning rate. Its gradient norm is not known here: the
     * metrics lines leave it out.
     */
    public void stepDone(Model model, int iteration, int epoch, int batchSize, double loss) {
        long now = System.nanoTime();
        trainNanos += now - lastTick;
        lastTick = now;
        images += (long) batchSize * workers;
        stepsTimed++;
        long step = iteration + 1L;
        lossSum += loss;
        lossCount++;
        double imagesPerSecond = images / Math.max(trainNanos / 1e9, 1e-9);
        if (step % metricEvery == 0 || step == totalSteps) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("event", "train");
            o.put("step", step);
            o.put("epoch", epochOf(step, epoch));
            o.put("loss", lossSum / lossCount);
            if (!Double.isNaN(gradNorm)) o.put("gradNorm", gradNorm); // unknown where steps train elsewhere
            o.put("imagesPerSecond", imagesPerSecond);
            write(o);
            lossSum = 0;
            lossCount = 0;
        }
        if (!anyStep || now - lastLine > INTERVAL_NANOS) {
            anyStep = true;
            lastLine = now;
            SAY.accept(progressLine(step, epoch, loss, learningRate(model, iteration, epoch), imagesPerSecond));
        }
    }

    @Override
    public void onEpochEnd(Model model) {
        if (evalData == null) {
            drawCurve(); // a plain fit loop may never close this listener: the curve is current after every epoch
            return;
        }
        if (!(model instanceof ComputationGraph graph)) {
            throw new IllegalArgumentException("evaluateOn needs a ComputationGraph, got " + model.getClass().getName());
        }
        evalData.reset();
        long step = graph.getConfiguration().getIterationCount();
        evaluated(step, graph.getConfiguration().getEpochCount(), Evaluator.evaluate(graph, evalData));
        resumeTiming();
    }

    /**
     * Records an evaluation made after {@code step} steps: a metrics line, a log line and the redrawn curve.
     *
     * @param epoch the epoch count, used when steps per epoch are unknown
     */
    public void evaluated(long step, int epoch, EvalResult r) {
        ObjectNode o = r.toJson();
        o.put("event", "eval");
        o.put("step", step);
        o.put("epoch", epochOf(step, epoch));
        write(o);
        SAY.accept(name + ": " + (step == 0 ? "before training" : String.format(Locale.ROOT,
                "epoch %.2f (%d steps)", epochOf(step, epoch), step)) + ": held-out " + r);
        drawCurve();
    }

    /**
     * The log's INFO level, unless SLF4J found no binding (it then drops every line, after one warning about
     * {@code StaticLoggerBinder}): a run is never silent, with or without one.
     */
    static Consumer<String> sinkFor(Logger logger) {
        return logger instanceof NOPLogger ? System.err::println : logger::info;
    }

    private double epochOf(long step, int epoch) {
        return stepsPerEpoch > 0 ? (double) step / stepsPerEpoch : epoch;
    }

    /** The line logged while training, e.g. {@code deep: epoch 0.50/1 step 50/100 (50%) loss 0.6 lr 5.00e-04 270.1 img/s ETA 0m18s}. */
    String progressLine(long step, int epoch, double loss, double lr, double imagesPerSecond) {
        StringBuilder s = new StringBuilder(name).append(": ");
        if (stepsPerEpoch > 0 && totalSteps > 0) {
            s.append(String.format(Locale.ROOT, "epoch %.2f/%d ", (double) step / stepsPerEpoch,
                    (totalSteps + stepsPerEpoch - 1) / stepsPerEpoch));
        } else {
            s.append("epoch ").append(stepsPerEpoch > 0 ? String.format(Locale.ROOT, "%.2f", (double) step / stepsPerEpoch)
                    : String.valueOf(epoch)).append(' ');
        }
        s.append("step ").append(step);
        if (totalSteps > 0) s.append(String.format(Locale.ROOT, "/%d (%.0f%%)", totalSteps, 100.0 * step / totalSteps));
        s.append(String.format(Locale.ROOT, " loss %.4f lr %.2e %.1f img/s", loss, lr, imagesPerSecond));
        if (totalSteps > 0) {
            double secondsPerStep = trainNanos / 1e9 / Math.max(1, stepsTimed);
            s.append(" ETA ").append(duration(Math.max(0, totalSteps - step) * secondsPerStep));
        }
        return s.toString();
    }

    /** {@code 3m07s}, or {@code 1h02m} from an hour on: an ETA, to the second only while seconds matter. */
    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60)
                : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }

    /** The learning rate of the first layer with an updater, at this iteration (NaN if it has none). */
    static double learningRate(Model model, int iteration, int epoch) {
        Layer[] layers = model instanceof ComputationGraph g ? g.getLayers()
                : model instanceof org.deeplearning4j.nn.multilayer.MultiLayerNetwork n ? n.getLayers() : new Layer[0];
        for (Layer l : layers) {
            if (l.conf().getLayer() instanceof BaseLayer b && b.getIUpdater() != null) {
                IUpdater u = b.getIUpdater();
                return u.hasLearningRate() ? u.getLearningRate(iteration, epoch) : Double.NaN;
            }
        }
        return Double.NaN;
    }

    private void write(ObjectNode line) {
        try {
            metrics.write(line);
        } catch (IOException e) {
            throw new UncheckedIOException(metrics.file() + ": " + e.getMessage(), e);
        }
    }

    private void drawCurve() {
        try {
            Charts.trainingCurve(metrics.lines(), name, curve);
        } catch (IOException e) {
            throw new UncheckedIOException(curve + ": " + e.getMessage(), e);
        }
    }

    /** Draws the curve and closes the metrics file. */
    @Override
    public void close() throws IOException {
        try {
            Charts.trainingCurve(metrics.lines(), name, curve);
        } finally {
            metrics.close();
        }
    }
}
