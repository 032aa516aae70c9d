package dev.scalenet.data;

import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Turns a dataset image (native size, pixels in [0, 1]) into model input of a {@link DataConfig}'s
 * size, normalised.
 * <ul>
 *   <li>eval: resize and centre-crop as timm does ({@link DataConfig#cropPct()}, bilinear; skipped
 *       when the image already has the size), adapt the channels (grey replicated to 3, RGB to grey
 *       by ITU-R BT.601 luma), normalise {@code (x - mean) / std};</li>
 *   <li>train: the same, with the {@link Augmentation} (padded random crop, horizontal flip) between
 *       channel adaptation and normalisation; padding is black (pixel 0) before normalising.</li>
 * </ul>
 * Randomness is a pure function of (seed, epoch, example index): the same triple gives the same
 * pixels whatever happened before, so a run resumed mid-epoch sees exactly the augmentations an
 * uninterrupted run would. Immutable and thread-safe.
 */
public final class ImageTransform {
    private final DataConfig config;
    private final Augmentation augmentation;
    private final boolean training;

    private ImageTransform(DataConfig config, Augmentation augmentation, boolean training) {
        this.config = Objects.requireNonNull(config, "config");
        this.augmentation = Objects.requireNonNull(augmentation, "augmentation");
        this.training = training;
    }

    /** The deterministic transform for evaluation and prediction. */
    public static ImageTransform eval(DataConfig config) {
        return new ImageTransform(config, Augmentation.NONE, false);
    }

    /** The training transform; {@link Augmentation#NONE} makes it equal to eval, pixel for pixel. */
    public static ImageTransform train(DataConfig config, Augmentation augmentation) {
        return new ImageTransform(config, augmentation, true);
    }

    public DataConfig config() {
        return config;
    }

    /** {@link Augmentation#NONE} for eval transforms. */
    public Augmentation augmentation() {
        return augmentation;
    }

    public boolean isTraining() {
        return training;
    }

    /**
     * Applies an eval transform.
     *
     * @throws IllegalStateException for a training transform, whose randomness needs
     *     {@link #apply(Image, long, int, int)}
     */
    public Image apply(Image image) {
        if (training) {
            throw new IllegalStateException("a training transform draws its augmentation from (seed, epoch, index):"
                    + " call apply(image, seed, epoch, index)");
        }
        return apply(image, 0, 0, 0);
    }

    /**
     * Applies the transform to example {@code index} in {@code epoch} of a run seeded with
     * {@code seed}; eval transforms ignore all three.
     *
     * @throws IllegalArgumentException if the image's channels cannot be adapted to the config's
     */
    public Image apply(Image image, long seed, int epoch, int index) {
        Image x = image;
        if (x.channels() == 3 && config.channels() == 1) {
            x = ImageOps.adaptChannels(x, 1); // before resizing, which then has a third of the work
        }
        x = ImageOps.resizeAndCentreCrop(x, config.height(), config.width(), config.cropPct());
        x = ImageOps.adaptChannels(x, config.channels());
        if (training) {
            // Always draw all three values, so each one's meaning does not depend on the others.
            SplittableRandom random = Seeds.forExample(seed, epoch, index);
            int p = augmentation.padding();
            int top = random.nextInt(2 * p + 1);
            int left = random.nextInt(2 * p + 1);
            boolean flip = random.nextDouble() < augmentation.flipProbability();
            if (p > 0) {
                x = ImageOps.padCrop(x, p, top, left);
            }
            if (flip) {
                x = ImageOps.flipHorizontal(x);
            }
        }
        return ImageOps.normalise(x, config.mean(), config.std());
    }

    @Override
    public String toString() {
        return (training ? "train " + augmentation : "eval") + " transform to " + config;
    }
}
