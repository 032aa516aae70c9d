package dev.scalenet.train;

import dev.scalenet.data.ImageDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.parallelism.ParallelWrapper;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The {@link Trainer}'s own {@link ParallelEngine}: DL4J's ParallelWrapper over the graph (its worker 0; the others are
 * replicas rebuilt from its JSON configuration, weights and updater state at every {@code fit}) averaging weights and
 * Adam state after every round. The global-norm clipping comes as a listener; progress is taken from worker 0 only.
 */
final class ParallelWrapperEngine implements ParallelEngine {
    private final ParallelWrapper wrapper;
    private final ReplicasReady replicasReady;
    private final int workers;

    private ParallelWrapperEngine(ParallelWrapper wrapper, ReplicasReady replicasReady, int workers) {
        this.wrapper = wrapper;
        this.replicasReady = replicasReady;
        this.workers = workers;
    }

    /** A {@link ParallelEngine.Factory}: {@link TrainConfig#workers()} worker threads over {@code graph}. */
    static ParallelEngine start(ComputationGraph graph, TrainConfig config, ProgressListener progress) {
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
        return new ParallelWrapperEngine(wrapper, replicasReady, config.workers());
    }

    @Override
    public void fit(ComputationGraph graph, ImageDataSetIterator batches, long rounds) {
        replicasReady.newFit();
        wrapper.fit(new NextBatches(batches, rounds * workers));
    }

    @Override
    public String describe() {
        return "DL4J ParallelWrapper, " + workers + " worker threads";
    }

    @Override
    public void close() {
        wrapper.shutdown(); // stops the workers, unless its fit already has
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
        private Set<Model> started = new HashSet<>();
        private CyclicBarrier barrier;

        ReplicasReady(int workers) {
            this.workers = workers;
        }

        synchronized void newFit() {
            started = new HashSet<>();
            barrier = new CyclicBarrier(workers);
        }

        @Override
        public void onGradientCalculation(Model model) {
            CyclicBarrier b;
            synchronized (this) {
                if (!started.add(model)) return;
                b = barrier;
            }
            try {
                b.await(10, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the other ParallelWrapper workers", e);
            } catch (BrokenBarrierException | TimeoutException e) {
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
            if (!hasNext()) throw new NoSuchElementException("no batches left in this round");
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
}
