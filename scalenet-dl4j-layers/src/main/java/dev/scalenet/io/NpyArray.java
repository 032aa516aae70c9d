package dev.scalenet.io;

import java.util.Objects;

/**
 * A float32 array read from or written to a {@code .npy} file, row-major (C) order. Takes ownership
 * of {@code data} without copying.
 */
public final class NpyArray {
    private final long[] shape;
    private final float[] data;

    /** @throws IllegalArgumentException if the shape's element count differs from {@code data.length} */
    public NpyArray(long[] shape, float[] data) {
        this.shape = Objects.requireNonNull(shape, "shape").clone();
        this.data = Objects.requireNonNull(data, "data");
        long numel = Shapes.numel(this.shape);
        if (numel != data.length) {
            throw new IllegalArgumentException("shape " + Shapes.format(this.shape) + " does not hold "
                    + data.length + " values");
        }
    }

    /** A copy of the shape; empty for a scalar. */
    public long[] shape() {
        return shape.clone();
    }

    /** The backing array; not a copy. */
    public float[] data() {
        return data;
    }

    public long numel() {
        return data.length;
    }

    @Override
    public String toString() {
        return "NpyArray" + Shapes.format(shape);
    }
}
