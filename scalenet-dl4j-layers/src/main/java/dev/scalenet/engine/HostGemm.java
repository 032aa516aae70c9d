package dev.scalenet.engine;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;

/**
 * A thread's GEMM operands and results for host-side inference ({@link CpuBlock#inferResident}): fp32 matrices kept
 * between calls, outside any workspace, one per numbered slot, each with a Java array of its own. Products are computed
 * into them ({@link HostBlas}) and read back into Java. Creating an ND4J array costs about 8 µs (its shape information), and a
 * block's inference creates a dozen; an inference of the grown micro model spent 5% of its time there.
 *
 * <p>Memory: each slot keeps its last shape, so a thread holds one set of a shard's matrices, bounded by
 * {@link #MAX_FLOATS_PER_SLOT}.
 */
final class HostGemm {
    /** Slots hold at most this many floats (16 MB); a stack whose matrices are bigger runs on ND4J arrays instead. */
    static final long MAX_FLOATS_PER_SLOT = 1L << 22;
    // the slots: a block's operands, products and LayerNorm statistics (Block.inferResident), then a stack's running
    // rows (ScaleNetBlocksLayer)
    static final int H = 0, QKV = 1, CTX = 2, Y = 3, DOWN = 4, UP = 5, FC1 = 6, X1 = 7, MEAN = 8, RSTD = 9;
    static final int ROWS_IN = 10, ROWS_A = 11, ROWS_B = 12;
    private static final int SLOTS = 13;
    private static final ThreadLocal<HostGemm> OF_THREAD = ThreadLocal.withInitial(HostGemm::new);

    private final INDArray[] matrices = new INDArray[SLOTS];
    private final long[][] shapes = new long[SLOTS][]; // the matrices' shapes, kept here: INDArray.size costs more
    private final float[][] floats = new float[SLOTS][0];
    private final float[][][] features = new float[SLOTS][0][0];

    private HostGemm() {}

    /** This thread's. */
    static HostGemm ofThread() {
        return OF_THREAD.get();
    }

    /** Slot {@code slot}'s Java array with room for {@code n} floats (contents undefined). */
    float[] floats(int slot, long n) {
        if (floats[slot].length < n) {
            floats[slot] = new float[Math.toIntExact(n)];
        }
        return floats[slot];
    }

    /** Slot {@code slot}'s feature-major Java arrays: {@code count} arrays of at least {@code n} floats (contents undefined). */
    float[][] features(int slot, int count, int n) {
        return features[slot] = HostFloats.atLeast(features[slot], count, n);
    }

    /** Slot {@code slot}'s matrix holding {@code src} as {@code [count, n]}: feature f in row f. */
    INDArray put(int slot, float[][] src, int count, int n) {
        INDArray m = matrix(slot, count, n);
        FloatBuffer buffer = m.data().asNioFloat();
        int at = buffer.position();
        for (int f = 0; f < count; f++) {
            buffer.position(at + f * n);
            buffer.put(src[f], 0, n);
        }
        return m;
    }

    /**
     * {@code a · b}, computed into slot {@code slot}'s matrix ({@link HostBlas}) and returned as that slot's feature-major arrays,
     * row f of the product in array f.
     */
    float[][] timesByFeature(int slot, INDArray a, INDArray b) {
        int count = Math.toIntExact(a.size(0));
        int n = Math.toIntExact(b.size(1));
        INDArray c = matrix(slot, count, n);
        HostBlas.product(a, b, c);
        float[][] out = features(slot, count, n);
        FloatBuffer buffer = c.data().asNioFloat();
        int at = buffer.position();
        for (int f = 0; f < count; f++) {
            buffer.position(at + f * n);
            buffer.get(out[f], 0, n);
        }
        return out;
    }

    /** {@code a · b}, computed into slot {@code slot}'s matrix ({@link HostBlas}), which is returned. */
    INDArray product(int slot, INDArray a, INDArray b) {
        INDArray c = matrix(slot, a.size(0), b.size(1));
        HostBlas.product(a, b, c);
        return c;
    }

    /** Slot {@code slot}'s c-order {@code [rows, cols]} matrix, made (outside any workspace) when the shape changes. */
    INDArray matrix(int slot, long rows, long cols) {
        INDArray m = matrices[slot];
        long[] shape = shapes[slot];
        if (m == null || shape[0] != rows || shape[1] != cols) {
            if (rows * cols > MAX_FLOATS_PER_SLOT) {
                throw new IllegalArgumentException("a " + rows + " x " + cols + " product is over HostGemm's " + MAX_FLOATS_PER_SLOT
                        + " floats a slot: check HostGemm.fits first");
            }
            try (MemoryWorkspace none = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                m = Nd4j.createUninitialized(DataType.FLOAT, rows, cols);
            }
            matrices[slot] = m;
            shapes[slot] = new long[] {rows, cols};
        }
        return m;
    }

    /** Whether matrices of {@code rows} rows and at most {@code widest} columns fit the slots. */
    static boolean fits(long rows, long widest) {
        return rows * widest <= MAX_FLOATS_PER_SLOT;
    }
}
