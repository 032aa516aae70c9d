package dev.scalenet.engine;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The CPU engine's linear layers' backward passes: direct BLAS ({@link HostBlas}) for the products and the bias
 * gradients summed in Java (ND4J took a reduction and an add, 2.3% of the micro model's training step). Backward
 * methods <em>add</em> parameter gradients into the given views: a tensor used twice gets the sum of both uses.
 */
final class CpuOps {
    private CpuOps() {}

    /** Adds dW, db of {@code y = x · Wᵀ + b} into the views (either may be null: frozen or absent) and returns dx. */
    static INDArray linearBackward(INDArray dy, INDArray x, INDArray w, INDArray dW, INDArray dB) {
        if (dW != null) {
            HostBlas.gemm(dy, x, dW, true, false, 1.0, 1.0);
        }
        addColumnSums(dy, dB);
        return HostBlas.times(dy, w, false, false);
    }

    /**
     * {@link #linearBackward} for a layer fed its input transposed, {@code y = (xᵀ)ᵀ · Wᵀ + b} given {@code xᵀ}: adds dW,
     * db into the views (either may be null) and returns dL/dx transposed, {@code [in, rows]}.
     */
    static INDArray linearBackwardInputTransposed(INDArray dy, INDArray xT, INDArray w, INDArray dW, INDArray dB) {
        if (dW != null) {
            HostBlas.gemm(dy, xT, dW, true, true, 1.0, 1.0);
        }
        addColumnSums(dy, dB);
        return HostBlas.times(w, dy, true, true);
    }

    /**
     * {@link #linearBackward} for a layer whose output was computed transposed, {@code yᵀ = W · xᵀ}, given dL/dyᵀ
     * {@code [out, rows]}: adds dW into its view (unless null: frozen) and returns dL/dx {@code [rows, in]}. The bias
     * gradient, dyᵀ's row sums, is the caller's.
     */
    static INDArray linearBackwardOutputTransposed(INDArray dyT, INDArray x, INDArray w, INDArray dW) {
        if (dW != null) {
            HostBlas.gemm(dyT, x, dW, false, false, 1.0, 1.0);
        }
        return HostBlas.times(dyT, w, true, false);
    }

    /** Adds {@code dy}'s column sums (a bias's gradient) into {@code dB} unless it is null (frozen or absent). */
    static void addColumnSums(INDArray dy, INDArray dB) {
        if (dB == null) return;
        int width = Math.toIntExact(dy.size(1));
        try (Work.Frame work = Work.frame()) {
            HostFloats.addInto(dB, HostMath.columnSums(HostFloats.read(dy, work), Math.toIntExact(dy.size(0)), width));
        }
    }
}
