package dev.scalenet.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Minibatches of an {@link ImageDataset} as ND4J {@link DataSet}s: features float32
 * {@code [batch, channels, height, width]} (NCHW) transformed by an {@link ImageTransform}, labels
 * one-hot float32 {@code [batch, numClasses]}.
 * <ul>
 *   <li>A {@linkplain #training training} loader visits the examples in a permutation drawn from
 *       (seed, epoch) and drops the last incomplete batch; {@link #epoch(int, int)} starts an epoch
 *       at any step, giving exactly the batches an uninterrupted epoch gives from there on.</li>
 *   <li>An {@linkplain #evaluation evaluation} loader visits them in index order and keeps the last,
 *       partial batch; the epoch number makes no difference to it.</li>
 * </ul>
 * Everything is a function of (seed, epoch, step): two loaders built alike give identical arrays.
 * The next batch is built (decoded, transformed, packed) on one background daemon thread while the
 * caller uses the current one; the ND4J arrays are created on the caller's thread, outside any
 * workspace.
 *
 * <pre>{@code
 * BatchLoader train = BatchLoader.training(dataset, DataConfig.fashionMnist(), 64)
 *         .augmentation(Augmentation.DEFAULT.withPadding(2)).seed(42).build();
 * graph.fit(train.iterator(), epochs);   // a DL4J DataSetIterator; or, batch by batch:
 * try (BatchLoader.Batches batches = train.epoch(epoch, resumeStep)) {
 *     while (batches.hasNext()) graph.fit(batches.next());
 * }
 * }</pre>
 */
public final class BatchLoader {
    private final ImageDataset dataset;
    private final ImageTransform transform;
    private final int batchSize;
    private final long seed;
    private final int size;
    private final int stepsPerEpoch;

    private BatchLoader(Builder b) {
        this.dataset = b.dataset;
        this.transform = b.training ? ImageTransform.train(b.config, b.augmentation) : ImageTransform.eval(b.config);
        this.batchSize = b.batchSize;
        this.seed = b.seed;
        this.size = Math.min(b.limit, dataset.size());
        this.stepsPerEpoch = b.training ? size / batchSize : (size + batchSize - 1) / batchSize;
        if (stepsPerEpoch == 0) {
            throw new IllegalArgumentException("batch size " + batchSize + " is larger than the " + size
                    + " examples used from " + dataset.describe() + ": a training epoch drops its incomplete last"
                    + " batch and would be empty");
        }
    }

    /**
     * A training loader: shuffled per epoch, last incomplete batch dropped, {@link Augmentation#DEFAULT}
     * unless {@link Builder#augmentation} says otherwise, seed 0 unless {@link Builder#seed} says otherwise.
     */
    public static Builder training(ImageDataset dataset, DataConfig config, int batchSize) {
        return new Builder(dataset, config, batchSize, true);
    }

    /** An evaluation loader: index order, last batch kept even if partial, no augmentation. */
    public static Builder evaluation(ImageDataset dataset, DataConfig config, int batchSize) {
        return new Builder(dataset, config, batchSize, false);
    }

    /** Configures a {@link BatchLoader}. */
    public static final class Builder {
        private final ImageDataset dataset;
        private final DataConfig config;
        private final int batchSize;
        private final boolean training;
        private Augmentation augmentation = Augmentation.DEFAULT;
        private long seed;
        private int limit = Integer.MAX_VALUE;

        private Builder(ImageDataset dataset, DataConfig config, int batchSize, boolean training) {
            this.dataset = Objects.requireNonNull(dataset, "dataset");
            this.config = Objects.requireNonNull(config, "config");
            if (batchSize <= 0) {
                throw new IllegalArgumentException("batch size " + batchSize + ": expected at least 1");
            }
            this.batchSize = batchSize;
            this.training = training;
        }

        /** The training augmentation. */
        public Builder augmentation(Augmentation augmentation) {
            if (!training) {
                throw new IllegalStateException("augmentation applies to training loaders only");
            }
            this.augmentation = Objects.requireNonNull(augmentation, "augmentation");
            return this;
        }

        /** The seed of the example order and the augmentation; evaluation loaders do not use it. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Uses only examples {@code 0 .. limit - 1}, for quick runs (image folders list class by class). */
        public Builder limit(int limit) {
            if (limit <= 0) {
                throw new IllegalArgumentException("limit " + limit + ": expected at least 1 example");
            }
            this.limit = limit;
            return this;
        }

        /** @throws IllegalArgumentException if a training epoch would have no complete batch */
        public BatchLoader build() {
            return new BatchLoader(this);
        }
    }

    public ImageDataset dataset() {
        return dataset;
    }

    public ImageTransform transform() {
        return transform;
    }

    public boolean isTraining() {
        return transform.isTraining();
    }

    public int batchSize() {
        return batchSize;
    }

    public long seed() {
        return seed;
    }

    /** The number of examples used: the dataset's size, or the limit if smaller. */
    public int size() {
        return size;
    }

    /** Batches per epoch: {@code size / batchSize} when training, rounded up when evaluating. */
    public int stepsPerEpoch() {
        return stepsPerEpoch;
    }

    /** The batches of {@code epoch}, from its first step. */
    public Batches epoch(int epoch) {
        return epoch(epoch, 0);
    }

    /**
     * The batches of {@code epoch} from step {@code fromStep} on ({@code stepsPerEpoch()} gives none);
     * starts the background thread. Close it, or iterate to the end.
     */
    public Batches epoch(int epoch, int fromStep) {
        checkStart(epoch, fromStep);
        return new Batches(epoch, fromStep);
    }

    /** These batches as a DL4J {@link org.nd4j.linalg.dataset.api.iterator.DataSetIterator}, from epoch 0. */
    public ImageDataSetIterator iterator() {
        return new ImageDataSetIterator(this);
    }

    void checkStart(int epoch, int fromStep) {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch " + epoch + ": expected 0 or more");
        }
        if (fromStep < 0 || fromStep > stepsPerEpoch) {
            throw new IllegalArgumentException("fromStep " + fromStep + ": expected 0.." + stepsPerEpoch
                    + " (steps per epoch)");
        }
    }

    /** The example indices of {@code epoch} in visiting order: a permutation when training, else 0, 1, ... */
    int[] order(int epoch) {
        int[] order = new int[size];
        for (int i = 0; i < size; i++) {
            order[i] = i;
        }
        if (isTraining()) {
            SplittableRandom random = Seeds.forOrder(seed, epoch);
            for (int i = size - 1; i > 0; i--) { // Fisher-Yates
                int j = random.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        return order;
    }

    @Override
    public String toString() {
        return (isTraining() ? "training" : "evaluation") + " batches of " + batchSize + " from " + dataset.describe()
                + " (" + size + " examples, " + stepsPerEpoch + " steps per epoch, " + transform + ")";
    }

    /** One batch as plain arrays, built off the caller's thread. */
    private record HostBatch(int count, float[] features, float[] labels) {
    }

    /** Carries a failure of the background thread to the caller. */
    private record Failure(int step, Throwable cause) {
    }

    private HostBatch build(int[] order, int epoch, int step, Batches owner) throws IOException {
        DataConfig config = transform.config();
        int perExample = config.channels() * config.height() * config.width();
        int classes = dataset.numClasses();
        int from = step * batchSize;
        int count = Math.min(batchSize, size - from);
        float[] features = new float[count * perExample];
        float[] labels = new float[count * classes];
        for (int j = 0; j < count && !owner.closed; j++) {
            int index = order[from + j];
            Image x;
            try {
                x = transform.apply(dataset.image(index), seed, epoch, index);
            } catch (IllegalArgumentException e) {
                // an image the transform cannot take (its channels, a resize past the pixel bound): name its file
                throw new DatasetException(dataset.source(index) + ": " + e.getMessage(), e);
            }
            System.arraycopy(x.data(), 0, features, j * perExample, perExample);
            labels[j * classes + dataset.label(index)] = 1f;
        }
        return new HostBatch(count, features, labels);
    }

    /**
     * The batches of one epoch, from a given step on. Not thread-safe: one consumer. Closing stops
     * the background thread; iterating to the end also ends it.
     */
    public final class Batches implements Iterator<DataSet>, AutoCloseable {
        private final int epoch;
        private final BlockingQueue<Object> ready = new ArrayBlockingQueue<>(1);
        private final Thread worker;
        private volatile boolean closed;
        private int step;

        private Batches(int epoch, int fromStep) {
            this.epoch = epoch;
            this.step = fromStep;
            int[] order = order(epoch);
            worker = new Thread(() -> produce(order, fromStep), "scalenet-batches-epoch-" + epoch);
            worker.setDaemon(true);
            worker.start();
        }

        private void produce(int[] order, int fromStep) {
            int s = fromStep;
            try {
                for (; s < stepsPerEpoch && !closed; s++) {
                    ready.put(build(order, epoch, s, this));
                }
            } catch (InterruptedException e) {
                // closed while waiting for the consumer: nothing left to do
            } catch (Throwable t) {
                try {
                    ready.put(new Failure(s, t));
                } catch (InterruptedException ignored) {
                    // closed: nobody will read the failure
                }
            }
        }

        public int epoch() {
            return epoch;
        }

        /** The step of the batch {@link #next()} returns next: save it to resume there. */
        public int nextStep() {
            return step;
        }

        @Override
        public boolean hasNext() {
            return !closed && step < stepsPerEpoch;
        }

        /**
         * The next batch.
         *
         * @throws UncheckedIOException if an image could not be read (the message names it)
         * @throws IllegalStateException if building the batch failed otherwise, or this was closed
         */
        @Override
        public DataSet next() {
            if (closed) {
                throw new IllegalStateException("these batches are closed");
            }
            if (step >= stepsPerEpoch) {
                throw new NoSuchElementException("epoch " + epoch + " has " + stepsPerEpoch + " steps");
            }
            Object item = take();
            if (item instanceof Failure f) {
                close();
                String where = "batch " + f.step() + " of epoch " + epoch + ": ";
                if (f.cause() instanceof IOException io) {
                    throw new UncheckedIOException(where + io.getMessage(), io);
                }
                if (f.cause() instanceof Error error) {
                    throw error;
                }
                throw new IllegalStateException(where + f.cause(), f.cause());
            }
            step++;
            return toDataSet((HostBatch) item);
        }

        /**
         * Waits for the batch being built. An interrupt does not abandon it (the caller's thread is interrupted again
         * once the batch is there): DL4J's AsyncDataSetIterator interrupts its prefetch thread to stop it and expects
         * the interrupt to surface at its own next blocking call, not as a failed {@code next()}.
         */
        private Object take() {
            boolean interrupted = false;
            try {
                while (true) {
                    try {
                        Object item = ready.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS);
                        if (item != null) return item;
                        if (closed || !worker.isAlive() && ready.isEmpty()) {
                            throw new IllegalStateException("batch " + step + " of epoch " + epoch
                                    + " will not come: these batches were closed");
                        }
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            } finally {
                if (interrupted) Thread.currentThread().interrupt();
            }
        }

        private DataSet toDataSet(HostBatch b) {
            DataConfig config = transform.config();
            // Outside any workspace: the caller keeps these arrays past the workspace scope it may be in.
            try (MemoryWorkspace ignored = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                INDArray features = Nd4j.create(b.features(),
                        new long[] {b.count(), config.channels(), config.height(), config.width()}, DataType.FLOAT);
                INDArray labels = Nd4j.create(b.labels(), new long[] {b.count(), dataset.numClasses()},
                        DataType.FLOAT);
                return new DataSet(features, labels);
            }
        }

        /** Stops the background thread and waits for it; further {@link #next()} calls fail. */
        @Override
        public void close() {
            closed = true;
            worker.interrupt();
            boolean interrupted = false;
            while (worker.isAlive()) {
                try {
                    worker.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
