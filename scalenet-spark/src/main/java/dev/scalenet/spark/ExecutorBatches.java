package dev.scalenet.spark;

import dev.scalenet.data.BatchLoader;
import dev.scalenet.data.DataConfig;
import dev.scalenet.data.Datasets;
import dev.scalenet.data.Split;
import dev.scalenet.io.Json;
import dev.scalenet.train.TrainConfig;
import org.apache.spark.api.java.function.Function;
import org.nd4j.linalg.dataset.DataSet;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Builds a training batch on an executor: step {@code s} of epoch {@code e} of the recipe's batches of the training
 * data, read from a path every executor can read, or from the copy the driver shipped ({@link ShippedData}). The batches are the driver's own ({@link TrainConfig#trainingBatches}
 * over the same data, normalisation, seed and augmentation), so a batch is the same wherever it is built. Each JVM
 * opens the data once.
 */
final class ExecutorBatches implements Serializable {
    private static final long serialVersionUID = 1L;
    /** The loaders this JVM has opened, by {@link #key()}. */
    private static final Map<String, BatchLoader> OPEN = new ConcurrentHashMap<>();

    private final String trainData;
    /** The driver's copy of the data, or null: the executors read {@link #trainData}. */
    private final ShippedData shipped;
    private final String recipe;
    private final String dataConfig;
    /** The driver's loader as {@link BatchLoader#toString()} gives it: names the data, its size and the transform. */
    private final String driverLoader;

    /**
     * The batches of {@code driver} (the trainer's loader), rebuilt on the executors from {@code trainData}, or from
     * {@code shipped} when it is not null.
     */
    ExecutorBatches(Path trainData, ShippedData shipped, TrainConfig recipe, BatchLoader driver) {
        this.trainData = trainData.toAbsolutePath().normalize().toString();
        this.shipped = shipped;
        this.recipe = recipe.toJson().toString();
        this.dataConfig = driver.transform().config().toJson().toString();
        this.driverLoader = driver.toString();
    }

    /** Step {@code step} of epoch {@code epoch}, as the driver's loader gives it. */
    DataSet batch(int epoch, int step) {
        try (BatchLoader.Batches b = loader().epoch(epoch, step)) {
            return b.next();
        }
    }

    /** A Spark function from step to batch, for one epoch. */
    Function<Integer, DataSet> ofEpoch(int epoch) {
        return new OfEpoch(this, epoch);
    }

    private BatchLoader loader() {
        return OPEN.computeIfAbsent(key(), k -> open());
    }

    private BatchLoader open() {
        Path dir = shipped == null ? Path.of(trainData) : shipped.localDir();
        BatchLoader loader;
        try {
            TrainConfig config = TrainConfig.fromJson(Json.parse(recipe)).build();
            loader = config.trainingBatches(Datasets.open(dir, Split.TRAIN), DataConfig.fromJson(Json.parse(dataConfig)));
        } catch (IOException e) {
            throw new UncheckedIOException("the training data at " + dir + " could not be read on this executor: "
                    + e.getMessage(), e);
        }
        // a shipped copy describes itself by its folder here: compare it as if it were at the driver's path
        String seen = shipped == null ? loader.toString() : loader.toString().replace(dir.toString(), trainData);
        if (!seen.equals(driverLoader)) {
            throw new IllegalStateException("the training data at " + dir + " differs on this executor: it gives "
                    + seen + " where the driver has " + driverLoader + (shipped == null ? "; the data path must hold"
                    + " the same data on every executor (a shared file system), or ship it with --shipData true" : ""));
        }
        return loader;
    }

    private String key() {
        return trainData + '\n' + shipped + '\n' + recipe + '\n' + dataConfig;
    }

    /** Not a lambda: a named, serializable class travels to the executors without lambda deserialisation. */
    private static final class OfEpoch implements Function<Integer, DataSet> {
        private static final long serialVersionUID = 1L;
        private final ExecutorBatches batches;
        private final int epoch;

        OfEpoch(ExecutorBatches batches, int epoch) {
            this.batches = batches;
            this.epoch = epoch;
        }

        @Override
        public DataSet call(Integer step) {
            return batches.batch(epoch, step);
        }
    }
}
