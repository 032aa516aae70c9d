package dev.scalenet.engine;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;

/**
 * Moves float arrays between ND4J's off-heap buffers and Java arrays, for the CPU engine's kernels ({@link HostAttention},
 * {@link HostResidual}, {@link HostGelu}, {@link HostLayerNorm}, {@link HostPatches}): on the small shapes of a batch
 * shard, one Java pass over a copy beats a chain of ND4J operations, each of which costs 20-30 µs of fixed overhead.
 * The Java arrays come from the kernel's work frame ({@link Work}).
 */
final class HostFloats {
    private HostFloats() {}

    /** Copies an fp32 array, in c order, into an array of the kernel's work frame. */
    static float[] read(INDArray x, Work.Frame work) {
        return fill(work.floats(x.length()), x);
    }

    /**
     * A new Java array holding {@code x} in c order (null for null): for a kernel's parameter vectors, read straight out
     * of the parameter array, where {@code toFloatVector()} runs an ND4J copy first.
     */
    static float[] copy(INDArray x) {
        return x == null ? null : fill(new float[Math.toIntExact(x.length())], x);
    }

    /**
     * {@code into += values} for a gradient view (null: nothing to do): in Java when the view is contiguous, as
     * parameter-gradient views are, where ND4J takes an array creation and an add, each with its fixed cost.
     */
    static void addInto(INDArray into, float[] values) {
        if (into == null) return;
        if (into.length() != values.length) {
            throw new IllegalArgumentException("adding " + values.length + " values into " + into.shapeInfoToString());
        }
        if (into.dataType() != DataType.FLOAT || !inCOrder(into)) {
            into.addi(Nd4j.createFromArray(values).reshape(into.shape()).castTo(into.dataType()));
            return;
        }
        float[] sum = new float[values.length];
        contiguous(into).get(sum, 0, sum.length);
        for (int i = 0; i < sum.length; i++) {
            sum[i] += values[i];
        }
        contiguous(into).put(sum, 0, sum.length);
    }

    /**
     * The first {@code run} floats of every {@code every} of a c-order fp32 array ({@code x.length() / every} runs),
     * one after another into {@code dst}: one token of each example, without ND4J's view and strided copy.
     */
    static float[] readRuns(INDArray x, int every, int run, float[] dst) {
        FloatBuffer buffer = contiguous(asCOrder(x)).slice();
        int runs = Math.toIntExact(x.length() / every);
        for (int k = 0; k < runs; k++) {
            buffer.get(k * every, dst, k * run, run);
        }
        return dst;
    }

    /** Writes the first elements of {@code src} into {@code into}, a c-order contiguous fp32 array or view (a range of rows). */
    static void writeInto(float[] src, INDArray into) {
        if (!inCOrder(into)) {
            throw new IllegalArgumentException("writing into a non-contiguous array " + into.shapeInfoToString());
        }
        contiguous(into).put(src, 0, Math.toIntExact(into.length()));
    }

    private static float[] fill(float[] dst, INDArray x) {
        contiguous(asCOrder(x)).get(dst, 0, (int) x.length());
        return dst;
    }

    /** Whether {@code x}'s elements lie one after another in c order (a whole array, or a view of whole rows). */
    static boolean inCOrder(INDArray x) {
        return x.ordering() == 'c' && x.elementWiseStride() == 1;
    }

    /** {@code x}, or its c-order copy where it is not {@link #inCOrder}. */
    private static INDArray asCOrder(INDArray x) {
        return inCOrder(x) ? x : x.dup('c');
    }

    /** A new c-order fp32 array of {@code shape} in the current workspace, holding the first elements of {@code src}. */
    static INDArray write(float[] src, long... shape) {
        INDArray out = Nd4j.createUninitialized(DataType.FLOAT, shape);
        contiguous(out).put(src, 0, (int) out.length());
        return out;
    }

    /** An fp32 array's elements in c order as a buffer whose index 0 is its first element (a c-order copy's, if need be). */
    static FloatBuffer buffer(INDArray x) {
        return contiguous(asCOrder(x)).slice();
    }

    private static FloatBuffer contiguous(INDArray x) {
        if (x.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("host kernels take FLOAT arrays, got " + x.shapeInfoToString());
        }
        return x.data().asNioFloat(); // positioned at the array's offset
    }
}
