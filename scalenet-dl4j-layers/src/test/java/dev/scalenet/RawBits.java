package dev.scalenet;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The bit patterns of a float32 array, for "bit-identical" checks: ND4J's {@code equals} compares with an epsilon
 * (1e-5), so two arrays it calls equal may still differ in their last bits.
 */
public final class RawBits {
    private RawBits() {}

    /** {@link Float#floatToRawIntBits} of every element, in C order. */
    public static int[] of(INDArray a) {
        if (a.dataType() != DataType.FLOAT) throw new IllegalArgumentException("expected a FLOAT array, got " + a.dataType());
        float[] values = a.dup('c').data().asFloat(); // dup: a view's buffer may hold more than its elements
        int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++) bits[i] = Float.floatToRawIntBits(values[i]);
        return bits;
    }
}
