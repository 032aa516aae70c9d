package dev.scalenet.data;

import dev.scalenet.InvalidSettingException;

import dev.scalenet.io.AtomicFiles;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A validation split carved from a training set: a seeded random choice of {@code size} examples held out, the
 * rest kept for training. Model choices (width, depth, learning rate, ...) are made on the validation part so
 * that the official test set is used once, for the final numbers. Both parts are views: no pixels are copied.
 */
public final class HoldOut {
    /** The seed every front end carves with unless told otherwise: the experiment's and the bundled model's split. */
    public static final long DEFAULT_SEED = 20261129L;
    /** How many training examples every front end holds out unless told otherwise: the experiment's 5,000. */
    public static final int DEFAULT_VALIDATION_SIZE = 5000;

    private final ImageDataset train;
    private final ImageDataset validation;

    private HoldOut(ImageDataset train, ImageDataset validation) {
        this.train = train;
        this.validation = validation;
    }

    /**
     * Holds out {@code size} examples of {@code data}, chosen by {@code seed}; of the rest, keeps the first
     * {@code trainSize} of the same shuffle ({@code 0}: all of them). Deterministic given the arguments.
     */
    public static HoldOut carve(ImageDataset data, int size, int trainSize, long seed) {
        InvalidSettingException.require(size > 0 && size < data.size(), "validationSize", size,
                "between 1 and " + (data.size() - 1) + " (the " + data.size() + " examples of " + data.describe() + ")");
        int rest = data.size() - size;
        InvalidSettingException.require(trainSize >= 0 && trainSize <= rest, "trainSize", trainSize,
                "0 (all) or at most the " + rest + " examples left after holding out " + size);
        int[] order = new int[data.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = order.length - 1; i > 0; i--) { // Fisher-Yates
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        int[] held = Arrays.copyOfRange(order, 0, size);
        int[] kept = Arrays.copyOfRange(order, size, size + (trainSize == 0 ? rest : trainSize));
        // ascending indices: reads stay sequential in the underlying files
        Arrays.sort(held);
        Arrays.sort(kept);
        String what = " of " + data.describe() + " (hold-out seed " + seed + ")";
        return new HoldOut(new View(data, kept, kept.length + " training examples" + what),
                new View(data, held, held.length + " validation examples" + what));
    }

    /**
     * Writes the split as a dataset folder that every front end reads: the kept part as {@code train-*} IDX files,
     * the held-out part as {@code val-*} (the evaluation split, see {@link Datasets}), and {@code classes.txt}. The
     * folder is built beside {@code dir} and renamed into place, so it is whole or absent; an existing {@code dir}
     * is refused rather than mixed with. Needs grey images of one size (see {@link IdxDataset#write}).
     */
    public void save(Path dir) throws IOException {
        Path target = dir.toAbsolutePath().normalize();
        AtomicFiles.deleteLeftovers(target); // what a killed split into this folder left
        try {
            AtomicFiles.writeFolder(target, folder -> {
                IdxDataset.write(train, folder, Datasets.TRAIN_PREFIX);
                IdxDataset.write(validation, folder, Datasets.VALIDATION_PREFIX);
                ClassNames.write(folder.resolve(ClassNames.FILE_NAME), train.classNames());
            });
        } catch (FileAlreadyExistsException e) {
            throw new DatasetException(target + ": already exists: expected a new folder for the split (remove it first)");
        }
    }

    public ImageDataset train() { return train; }
    public ImageDataset validation() { return validation; }

    /** Some examples of a dataset, by index. */
    private static final class View implements ImageDataset {
        private final ImageDataset data;
        private final int[] indices;
        private final String description;

        View(ImageDataset data, int[] indices, String description) {
            this.data = data;
            this.indices = indices;
            this.description = description;
        }

        @Override public int size() { return indices.length; }
        @Override public List<String> classNames() { return data.classNames(); }
        @Override public int label(int index) { return data.label(indices[index]); }
        @Override public Image image(int index) throws IOException { return data.image(indices[index]); }
        @Override public String describe() { return description; }
        @Override public String source(int index) { return data.source(indices[index]); }
    }
}
