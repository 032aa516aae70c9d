package dev.scalenet.spark;

import dev.scalenet.data.ImageDataSetIterator;
import dev.scalenet.train.GradientClipping;
import dev.scalenet.train.ParallelEngine;
import dev.scalenet.train.ProgressListener;
import dev.scalenet.train.TrainConfig;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The trainer's data-parallel rounds on a Spark cluster, through DL4J's {@link ParameterAveragingTrainingMaster}. A
 * round is one Spark job: the graph's configuration (the recipe's Adam, schedule position, decoupled weight
 * decay, frozen parameters, stochastic depth and loss), weights and Adam state are broadcast, and the round's
 * iteration and epoch counts go with the task ({@link RoundHook}: DL4J's workers would otherwise lose them); each of the
 * {@code workers} tasks builds its own batch from the training data path ({@link ExecutorBatches}) and trains one
 * step with DL4J's {@code fit} on a graph rebuilt from them, the recipe's global-norm clipping as a listener; the
 * tasks' weights and Adam state are averaged back into the driver's graph (averaging frequency 1). So a round is
 * what a round of the trainer's ParallelWrapper is, and the schedule, checkpoints, resume, evaluations and metrics
 * stay the trainer's.
 */
public final class SparkEngine implements ParallelEngine {
    private final JavaSparkContext sc;
    private final SparkComputationGraph spark;
    private final TrainConfig config;
    private final ProgressListener progress;
    private final Path trainData;
    private final ShippedData shipped;
    private final RoundHook counts = new RoundHook();
    private ExecutorBatches executorBatches;
    /** Whether DL4J times the rounds' parts ({@link RoundTimes#SETTING}), and the rounds run. */
    private final boolean timed;
    private long roundsRun;

    private SparkEngine(JavaSparkContext sc, ComputationGraph graph, TrainConfig config, ProgressListener progress, Path trainData,
                        ShippedData shipped, boolean timed) {
        this.sc = sc;
        this.config = config;
        this.progress = progress;
        this.trainData = trainData;
        this.shipped = shipped;
        ParameterAveragingTrainingMaster master = new ParameterAveragingTrainingMaster.Builder(config.workers(), config.batchSize())
                .batchSizePerWorker(config.batchSize())
                .averagingFrequency(1)
                .saveUpdater(true) // Adam's moments are averaged and kept, as ParallelWrapper's averageUpdaters does
                .workerPrefetchNumBatches(0)
                // the round's RDD already has one batch in each of its `workers` partitions, built where it trains:
                // no shuffle, no export of the batches to files
                .repartionData(Repartition.Never)
                .rddTrainingApproach(RDDTrainingApproach.Direct)
                .trainingHooks(counts)
                .build();
        List<TrainingListener> listeners = new ArrayList<>();
        if (config.clipGradNorm() > 0) listeners.add(new GradientClipping(config.clipGradNorm()));
        master.setListeners(listeners);
        this.spark = new SparkComputationGraph(sc, graph, master);
        this.timed = timed;
        if (timed) spark.setCollectTrainingStats(true); // DL4J keeps adding to one set of statistics, round after round
    }

    /**
     * Rounds on {@code sc}'s executors, the batches read from {@code trainData} there: it must be the path the trainer
     * reads on the driver, readable at that path on every executor (a shared file system). With the Spark setting
     * {@value RoundTimes#SETTING} true, the driver logs where the rounds' time went when training ends.
     *
     * @throws dev.scalenet.InvalidSettingException when round times are asked for without the executors' clock setting
     */
    public static ParallelEngine.Factory on(JavaSparkContext sc, Path trainData) {
        Objects.requireNonNull(sc, "sc");
        Objects.requireNonNull(trainData, "trainData");
        boolean timed = RoundTimes.requested(sc.getConf());
        return (graph, config, progress) -> new SparkEngine(sc, graph, config, progress, trainData, null, timed);
    }

    /**
     * Rounds on {@code sc}'s executors, the batches read from a copy of {@code trainData} that the driver ships to
     * them now ({@link ShippedData}): for executors that cannot read the driver's disk.
     *
     * @throws dev.scalenet.InvalidSettingException when the data is larger than {@link ShippedData#LIMIT_BYTES}
     */
    public static ParallelEngine.Factory shipping(JavaSparkContext sc, Path trainData) throws IOException {
        Objects.requireNonNull(sc, "sc");
        boolean timed = RoundTimes.requested(sc.getConf());
        ShippedData shipped = ShippedData.ship(sc, Objects.requireNonNull(trainData, "trainData"));
        return (graph, config, progress) -> new SparkEngine(sc, graph, config, progress, trainData, shipped, timed);
    }

    @Override
    public void fit(ComputationGraph graph, ImageDataSetIterator batches, long rounds) {
        if (graph != spark.getNetwork()) throw new IllegalArgumentException("this engine trains the graph it was started with");
        if (executorBatches == null) executorBatches = new ExecutorBatches(trainData, shipped, config, batches.loader());
        int workers = config.workers();
        int iteration = graph.getConfiguration().getIterationCount();
        for (long r = 0; r < rounds; r++) {
            int epoch = batches.epoch();
            int first = batches.nextStep();
            List<Integer> steps = new ArrayList<>(workers);
            for (int w = 0; w < workers; w++) steps.add(first + w);
            // one batch per partition; each task builds its batch from the data path
            JavaRDD<DataSet> round = sc.parallelize(steps, workers).map(executorBatches.ofEpoch(epoch));
            graph.getConfiguration().setIterationCount(iteration); // the schedule's position
            graph.getConfiguration().setEpochCount(epoch);
            counts.round(iteration, epoch); // what the tasks' graphs need, as their configuration loses it
            spark.fit(round);
            // SparkComputationGraph.fit counts each call as an epoch: back to the trainer's, as ParallelWrapper leaves it
            graph.getConfiguration().setEpochCount(epoch);
            roundsRun++;
            batches.skip(workers);
            graph.setScore(spark.getScore()); // the mean of the workers' losses
            progress.stepDone(graph, iteration, epoch, config.batchSize(), spark.getScore());
            iteration++;
        }
        graph.getConfiguration().setIterationCount(iteration);
    }

    @Override
    public String describe() {
        return "Spark (" + sc.master() + "), DL4J ParameterAveragingTrainingMaster, " + config.workers()
                + " tasks a round, averaging every step" + (shipped != null ? ", training data " + shipped : "");
    }

    /** The Spark context is the caller's: it stays open. */
    @Override
    public void close() {
        // the training master keeps nothing running between rounds
        if (timed && roundsRun > 0) {
            LoggerFactory.getLogger(SparkEngine.class).info("{}", RoundTimes.summary(spark.getSparkTrainingStats(), roundsRun));
        }
    }
}
