package dev.scalenet.data;

import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * A {@link BatchLoader} as a DL4J {@link DataSetIterator}, for {@code graph.fit(iterator)},
 * {@code graph.evaluate(iterator)}, {@code EarlyStoppingGraphTrainer} and DL4J listeners. It gives exactly the
 * loader's batches: the same augmentation and normalisation ({@link ImageTransform}) as the project's
 * {@code Trainer}, which iterates through this class too.
 *
 * <p>Epochs: the iterator starts at epoch 0 (or {@link #startEpoch}); {@link #reset()} moves on to the next epoch
 * once the current one has given a batch, so DL4J's habit of resetting before it starts does not skip epoch 0, and
 * {@code fit(iterator, n)} or early stopping see a new, reproducible order each epoch. Every batch is a function of
 * (seed, epoch, step): two iterators built alike give identical arrays. Evaluation loaders ignore the epoch.
 *
 * <p>{@link #asyncSupported()} is true: the loader already prepares the next batch on its own thread, and DL4J's
 * {@code AsyncDataSetIterator}, which calls {@link #next()} from one prefetch thread, changes neither the batches
 * nor their order. One consumer at a time; not for concurrent {@code next()} calls.
 */
public final class ImageDataSetIterator implements DataSetIterator {
    private static final long serialVersionUID = 1L;

    private final transient BatchLoader loader;
    private transient BatchLoader.Batches current;
    private DataSetPreProcessor preProcessor;
    private int epoch;
    private int fromStep;
    private boolean started;

    /** Iterates {@code loader}'s batches, from epoch 0. */
    public ImageDataSetIterator(BatchLoader loader) {
        this.loader = Objects.requireNonNull(loader, "loader");
    }

    /** The loader whose batches this gives. */
    public BatchLoader loader() {
        return loader;
    }

    /** The epoch whose batches {@link #next()} gives. */
    public int epoch() {
        return epoch;
    }

    /** The step within {@link #epoch()} of the batch {@link #next()} gives next: save it to resume there. */
    public int nextStep() {
        return current != null ? current.nextStep() : fromStep;
    }

    /**
     * Continues at {@code step} of {@code epoch} (a resumed run): from there on, exactly the batches an
     * uninterrupted run gives.
     */
    public void startEpoch(int epoch, int step) {
        close();
        loader.checkStart(epoch, step); // fails now, not at the first next()
        this.epoch = epoch;
        this.fromStep = step;
        this.started = false;
    }

    /**
     * Passes over the next {@code n} batches of this epoch without building them, as if {@link #next()} had given them:
     * for batches another process builds from the same data (a cluster's executors).
     */
    public void skip(int n) {
        int step = nextStep();
        if (n < 0 || step + n > loader.stepsPerEpoch()) {
            throw new IllegalArgumentException("skip(" + n + ") at step " + step + ": epoch " + epoch + " has "
                    + loader.stepsPerEpoch() + " steps");
        }
        close();
        fromStep = step + n;
        started |= n > 0;
    }

    private BatchLoader.Batches batches() {
        if (current == null) current = loader.epoch(epoch, fromStep);
        return current;
    }

    @Override
    public boolean hasNext() {
        return batches().hasNext();
    }

    @Override
    public DataSet next() {
        if (!hasNext()) {
            throw new NoSuchElementException("epoch " + epoch + " of " + loader + " is over; reset() starts the next");
        }
        DataSet batch = current.next();
        started = true;
        if (preProcessor != null) preProcessor.preProcess(batch);
        return batch;
    }

    /** Not supported: the batch size is the loader's, part of what makes batches reproducible. */
    @Override
    public DataSet next(int num) {
        throw new UnsupportedOperationException("next(" + num + "): batches have the loader's fixed size "
                + loader.batchSize() + " so that they are reproducible; use next()");
    }

    /** The next epoch, if the current one has given a batch; otherwise the current epoch from its start. */
    @Override
    public void reset() {
        close();
        if (started) epoch++;
        fromStep = 0;
        started = false;
    }

    /** Stops the loader's background thread; the next {@link #hasNext()} restarts where the epoch stood. */
    public void close() {
        if (current != null) {
            fromStep = current.nextStep();
            current.close();
            current = null;
        }
    }

    @Override
    public int inputColumns() {
        DataConfig c = loader.transform().config();
        return c.channels() * c.height() * c.width();
    }

    @Override
    public int totalOutcomes() {
        return loader.dataset().numClasses();
    }

    @Override
    public boolean resetSupported() {
        return true;
    }

    @Override
    public boolean asyncSupported() {
        return true;
    }

    @Override
    public int batch() {
        return loader.batchSize();
    }

    @Override
    public void setPreProcessor(DataSetPreProcessor preProcessor) {
        this.preProcessor = preProcessor;
    }

    @Override
    public DataSetPreProcessor getPreProcessor() {
        return preProcessor;
    }

    /** The class names, indexed by label. */
    @Override
    public List<String> getLabels() {
        return loader.dataset().classNames();
    }

    @Override
    public String toString() {
        return "epoch " + epoch + " of " + loader;
    }
}
