package dev.scalenet.data;

/**
 * Training augmentation: a random crop of the input size from the image zero-padded by
 * {@code padding} pixels on each side (as torchvision's {@code RandomCrop(size, padding)}; 2 to 4
 * suits 28x28), then a horizontal flip with probability {@code flipProbability}. Immutable.
 */
public final class Augmentation {
    /** No padding, no flips: training images differ from eval images only in order. */
    public static final Augmentation NONE = new Augmentation(0, 0);
    /** No padding, flips with probability 0.5. */
    public static final Augmentation DEFAULT = new Augmentation(0, 0.5);

    private final int padding;
    private final double flipProbability;

    private Augmentation(int padding, double flipProbability) {
        if (padding < 0) {
            throw new IllegalArgumentException("augmentation padding " + padding + ": expected 0 or more pixels");
        }
        if (!(flipProbability >= 0 && flipProbability <= 1)) {
            throw new IllegalArgumentException("augmentation flip probability " + flipProbability
                    + ": expected a probability in [0, 1]");
        }
        this.padding = padding;
        this.flipProbability = flipProbability;
    }

    public static Augmentation of(int padding, double flipProbability) {
        return new Augmentation(padding, flipProbability);
    }

    public Augmentation withPadding(int padding) {
        return new Augmentation(padding, flipProbability);
    }

    public Augmentation withFlipProbability(double flipProbability) {
        return new Augmentation(padding, flipProbability);
    }

    public int padding() {
        return padding;
    }

    public double flipProbability() {
        return flipProbability;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Augmentation a && padding == a.padding && flipProbability == a.flipProbability;
    }

    @Override
    public int hashCode() {
        return 31 * padding + Double.hashCode(flipProbability);
    }

    @Override
    public String toString() {
        return "Augmentation[padding=" + padding + ", flipProbability=" + flipProbability + "]";
    }
}
