package dev.scalenet.io;

import java.util.Objects;

/**
 * A named float32 tensor in row-major (C) order, as read from or written to a checkpoint.
 *
 * <p>The tensor takes ownership of {@code values} without copying, since checkpoints can be large;
 * callers must not modify the array afterwards.
 */
public final class Tensor {
    private final String name;
    private final long[] shape;
    private final float[] values;
    private final DType sourceDType;

    /**
     * @throws IllegalArgumentException if a dimension is negative or the shape's element count
     *     differs from {@code values.length}
     */
    public Tensor(String name, long[] shape, float[] values, DType sourceDType) {
        this.name = Objects.requireNonNull(name, "name");
        this.shape = Objects.requireNonNull(shape, "shape").clone();
        this.values = Objects.requireNonNull(values, "values");
        this.sourceDType = Objects.requireNonNull(sourceDType, "sourceDType");
        long numel = Shapes.numel(this.shape);
        if (numel < 0) {
            throw new IllegalArgumentException(
                    "tensor '" + name + "': invalid shape " + Shapes.format(this.shape));
        }
        if (numel != values.length) {
            throw new IllegalArgumentException("tensor '" + name + "': shape " + Shapes.format(this.shape)
                    + " has " + numel + " elements but " + values.length + " values were given");
        }
    }

    /** A tensor whose source dtype is {@link DType#F32}. */
    public static Tensor of(String name, long[] shape, float[] values) {
        return new Tensor(name, shape, values, DType.F32);
    }

    public String name() {
        return name;
    }

    /** A copy of the shape; empty for a scalar. */
    public long[] shape() {
        return shape.clone();
    }

    /** The backing array, row-major; not a copy. */
    public float[] values() {
        return values;
    }

    /** The dtype the tensor was stored in on disk. */
    public DType sourceDType() {
        return sourceDType;
    }

    public long numel() {
        return values.length;
    }

    @Override
    public String toString() {
        return "Tensor[" + name + " " + Shapes.format(shape) + " " + sourceDType + "]";
    }
}
