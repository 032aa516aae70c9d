package dev.scalenet.engine;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.FloatBuffer;

/**
 * Products for the resident inference ({@link CpuBlock#inferResident}), between feature-major Java rows and a frame's
 * work matrices ({@link Work}): rows go into a matrix, products are computed into matrices by direct BLAS and read back
 * into Java, and no ND4J array is created between the steps.
 */
final class HostGemm {
    private HostGemm() {}

    /** A work matrix holding {@code src} as {@code [count, n]}: feature f in row f. */
    static INDArray put(Work.Frame work, float[][] src, int count, int n) {
        INDArray m = work.matrix(count, n);
        FloatBuffer buffer = HostFloats.buffer(m);
        for (int f = 0; f < count; f++) {
            buffer.put(f * n, src[f], 0, n);
        }
        return m;
    }

    /** {@code a · b}, computed into a work matrix and returned as feature-major arrays, row f of the product in array f. */
    static float[][] timesByFeature(Work.Frame work, INDArray a, INDArray b) {
        int count = Math.toIntExact(a.size(0));
        int n = Math.toIntExact(b.size(1));
        INDArray c = product(work, a, b);
        float[][] out = work.features(count, n);
        FloatBuffer buffer = HostFloats.buffer(c);
        for (int f = 0; f < count; f++) {
            buffer.get(f * n, out[f], 0, n);
        }
        return out;
    }

    /** {@code a · b}, computed into a work matrix, which is returned. */
    static INDArray product(Work.Frame work, INDArray a, INDArray b) {
        INDArray c = work.matrix(a.size(0), b.size(1));
        HostBlas.product(a, b, c);
        return c;
    }
}
