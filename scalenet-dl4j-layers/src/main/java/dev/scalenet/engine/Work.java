package dev.scalenet.engine;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;

/**
 * A thread's work memory for the CPU engine's kernels, handed out by frames: a kernel opens a frame, asks it for what its
 * shapes need (Java arrays, feature-major sets of them, fp32 matrices for products), and closes it when it returns; the
 * next frame on that thread gets the same memory again in the same order, grown where it needs more. Frames nest (a
 * kernel may call another), so no caller picks a numbered slot that another might be using. Contents are undefined when
 * handed out.
 *
 * <p>Memory: a thread keeps the largest of what its kernels asked for. Matrices live outside any workspace (creating an
 * ND4J array costs about 8 µs, and the resident inference makes a dozen a block), are made again when their shape
 * changes, and hold at most {@link #MAX_MATRIX_FLOATS} floats each.
 */
final class Work {
    /** The largest matrix a frame hands out (16 MB); {@link CpuEngine#infersResident} checks a stack's shapes against it. */
    static final long MAX_MATRIX_FLOATS = 1L << 22;
    /**
     * The largest {@link #product} (256 MB): a product kept per thread instead of per block, so one this large saves
     * far more in a deep stack's forward state than it costs.
     */
    static final long MAX_PRODUCT_FLOATS = 1L << 26;
    private static final ThreadLocal<Work> OF_THREAD = ThreadLocal.withInitial(Work::new);

    private float[][] floats = new float[8][];
    private float[][][] features = new float[8][][];
    private INDArray[] matrices = new INDArray[8];
    private long[][] shapes = new long[8][]; // the matrices' shapes, kept here: INDArray.size costs more
    private int floatsTop;
    private int featuresTop;
    private int matricesTop;

    private Work() {}

    /** This thread's branch products ({@link #product}), by slot. */
    private final INDArray[] products = new INDArray[3];

    /**
     * A c-order fp32 {@code [rows, cols]} matrix outside any workspace, this thread's for {@code slot} until the next
     * call with that slot: for an activation read once, right after it is made, so that it takes no room where the
     * forward state is kept. Slots: 0 a residual branch's last product, 1 its adapter's, 2 the MLP's hidden activations.
     * Null when it would be over {@link #MAX_PRODUCT_FLOATS}.
     */
    static INDArray product(int slot, long rows, long cols) {
        if (rows * cols > MAX_PRODUCT_FLOATS) return null;
        Work w = OF_THREAD.get();
        INDArray m = w.products[slot];
        if (m == null || m.size(0) != rows || m.size(1) != cols) {
            m = unscoped(rows, cols);
            w.products[slot] = m;
        }
        return m;
    }

    /** A new c-order fp32 matrix outside any workspace: it outlives the workspace scope that asked for it. */
    private static INDArray unscoped(long rows, long cols) {
        try (MemoryWorkspace none = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return Nd4j.createUninitialized(DataType.FLOAT, rows, cols);
        }
    }

    /** Opens a frame on this thread's work memory. */
    static Frame frame() {
        return OF_THREAD.get().new Frame();
    }

    /** Whether matrices of {@code rows} rows and at most {@code widest} columns fit. */
    static boolean fits(long rows, long widest) {
        return rows * widest <= MAX_MATRIX_FLOATS;
    }

    /** What is handed out until {@link #close}; use each only inside the frame. */
    final class Frame implements AutoCloseable {
        private final int floatsStart = floatsTop;
        private final int featuresStart = featuresTop;
        private final int matricesStart = matricesTop;

        /** An array of at least {@code n} floats. */
        float[] floats(long n) {
            if (floatsTop == floats.length) floats = Arrays.copyOf(floats, 2 * floatsTop);
            if (floats[floatsTop] == null || floats[floatsTop].length < n) floats[floatsTop] = new float[Math.toIntExact(n)];
            return floats[floatsTop++];
        }

        /** At least {@code count} arrays of at least {@code n} floats each (feature-major rows, or attention's lanes). */
        float[][] features(int count, int n) {
            if (featuresTop == features.length) features = Arrays.copyOf(features, 2 * featuresTop);
            float[][] f = features[featuresTop];
            if (f == null || f.length < count || (count > 0 && f[0].length < n)) {
                int have = f == null || f.length == 0 ? 0 : f[0].length;
                f = new float[Math.max(count, f == null ? 0 : f.length)][Math.max(n, have)];
                features[featuresTop] = f;
            }
            featuresTop++;
            return f;
        }

        /** A c-order fp32 {@code [rows, cols]} matrix outside any workspace. */
        INDArray matrix(long rows, long cols) {
            if (rows * cols > MAX_MATRIX_FLOATS) {
                throw new IllegalArgumentException("a " + rows + " x " + cols + " work matrix is over " + MAX_MATRIX_FLOATS
                        + " floats: check Work.fits first");
            }
            if (matricesTop == matrices.length) {
                matrices = Arrays.copyOf(matrices, 2 * matricesTop);
                shapes = Arrays.copyOf(shapes, 2 * matricesTop);
            }
            INDArray m = matrices[matricesTop];
            long[] shape = shapes[matricesTop];
            if (m == null || shape[0] != rows || shape[1] != cols) {
                m = unscoped(rows, cols);
                matrices[matricesTop] = m;
                shapes[matricesTop] = new long[] {rows, cols};
            }
            matricesTop++;
            return m;
        }

        @Override
        public void close() {
            floatsTop = floatsStart;
            featuresTop = featuresStart;
            matricesTop = matricesStart;
        }
    }
}
