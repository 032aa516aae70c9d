package dev.scalenet.train;

import dev.scalenet.data.ImageDataSetIterator;
import org.deeplearning4j.nn.graph.ComputationGraph;

/**
 * What trains the {@link Trainer}'s data-parallel rounds when {@link TrainConfig#workers()} is more than 1. In a round
 * every worker trains one batch with DL4J's own step ({@code fit}: the updater, schedule and decoupled weight decay
 * the recipe set on the configuration, the recipe's clipping as a listener) on a replica holding the graph's weights
 * and Adam state; the replicas' weights and Adam state are then averaged back into the graph. The trainer's own
 * engine is DL4J's ParallelWrapper on this machine's threads; another (the {@code scalenet-spark} module's, on a
 * Spark cluster) plugs in with {@link Trainer#withParallelEngine}, and gets the same schedule, checkpoints, resume,
 * evaluations and metrics.
 */
public interface ParallelEngine extends AutoCloseable {
    /**
     * Trains {@code rounds} rounds on {@code graph}, in place. The configuration's iteration and epoch counts are those
     * of the first round (the schedule's position). The rounds' batches are the next {@code rounds * workers} of
     * {@code batches}, all in its current epoch; afterwards {@code batches} stands after them. Leaves the graph's
     * {@code score()} at the loss of the last round and its iteration count {@code rounds} further on.
     */
    void fit(ComputationGraph graph, ImageDataSetIterator batches, long rounds);

    /** Which engine this is and where it runs, for log lines. */
    String describe();

    /** Stops the engine's workers. */
    @Override
    void close();

    /** Makes the engine of one training run. */
    @FunctionalInterface
    interface Factory {
        /**
         * @param graph    the graph {@link Trainer#prepare} configured, trained in place
         * @param config   the recipe ({@link TrainConfig#workers()} workers, {@link TrainConfig#clipGradNorm()}, ...)
         * @param progress to be told of every round (its loss, and its step as the iteration count)
         */
        ParallelEngine start(ComputationGraph graph, TrainConfig config, ProgressListener progress);
    }
}
