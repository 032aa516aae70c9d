package dev.scalenet.layers;

import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * {@code cblas_sgemm} called directly for the layers' fp32 products. ND4J's GEMM ends in the same OpenBLAS function
 * (so the bits are the same, {@code HostBlasTest}), but first builds an op, validates its shapes and crosses into
 * libnd4j: 5% of the grown micro model's inference and of the micro model's training step, profiled. Found reflectively in JavaCPP's OpenBLAS presets, which the CPU backend brings
 * (the library compiles against nd4j-api only); without them, or for operands that are not c-order contiguous fp32,
 * ND4J's GEMM runs instead.
 */
final class HostBlas {
    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANS = 111;
    private static final int TRANS = 112;
    private static final MethodHandle SGEMM = sgemm();

    private HostBlas() {}

    /** Whether products go to OpenBLAS directly. */
    static boolean direct() {
        return SGEMM != null;
    }

    /** {@code c = a · b} ({@code [m, k] · [k, n]}). */
    static void product(INDArray a, INDArray b, INDArray c) {
        gemm(a, b, c, false, false, 1.0, 0.0);
    }

    /** {@code op(a) · op(b)} into a new c-order array in the current workspace, as {@code Nd4j.gemm(a, b, transA, transB)}. */
    static INDArray times(INDArray a, INDArray b, boolean transA, boolean transB) {
        if (SGEMM == null || !contiguous(a) || !contiguous(b)) {
            return Nd4j.gemm(a, b, transA, transB);
        }
        INDArray c = Nd4j.createUninitialized(DataType.FLOAT, transA ? a.size(1) : a.size(0), transB ? b.size(0) : b.size(1));
        gemm(a, b, c, transA, transB, 1.0, 0.0);
        return c;
    }

    /**
     * {@code c = alpha · op(a) · op(b) + beta · c}, as {@code Nd4j.gemm(a, b, c, transA, transB, alpha, beta)}: directly
     * when all three are fp32 c-order contiguous matrices, else by ND4J.
     */
    static void gemm(INDArray a, INDArray b, INDArray c, boolean transA, boolean transB, double alpha, double beta) {
        if (SGEMM == null || !contiguous(a) || !contiguous(b) || !contiguous(c)) {
            Nd4j.gemm(a, b, c, transA, transB, alpha, beta);
            return;
        }
        int m = Math.toIntExact(transA ? a.size(1) : a.size(0));
        int k = Math.toIntExact(transA ? a.size(0) : a.size(1));
        int n = Math.toIntExact(transB ? b.size(0) : b.size(1));
        if ((transB ? b.size(1) : b.size(0)) != k || c.size(0) != m || c.size(1) != n) {
            throw new IllegalArgumentException("product of " + a.shapeInfoToString() + (transA ? "ᵀ" : "") + " and "
                    + b.shapeInfoToString() + (transB ? "ᵀ" : "") + " into " + c.shapeInfoToString());
        }
        try {
            SGEMM.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k, (float) alpha,
                    pointer(a), Math.toIntExact(a.size(1)), pointer(b), Math.toIntExact(b.size(1)), (float) beta, pointer(c), n);
        } catch (Throwable t) {
            throw new IllegalStateException("cblas_sgemm failed", t);
        }
    }

    private static boolean contiguous(INDArray x) {
        return x.dataType() == DataType.FLOAT && x.rank() == 2 && HostFloats.inCOrder(x);
    }

    /** The array's first element (a view's buffer starts at the view's offset). */
    private static FloatPointer pointer(INDArray x) {
        return new FloatPointer(x.data().addressPointer());
    }

    private static MethodHandle sgemm() {
        if (!Nd4j.getEnvironment().isCPU() || "false".equalsIgnoreCase(System.getProperty("scalenet.directBlas", "true"))) {
            return null;
        }
        try {
            Class<?> presets = Class.forName("org.bytedeco.openblas.global.openblas_nolapack");
            Class<?> p = FloatPointer.class;
            MethodType type = MethodType.methodType(void.class, int.class, int.class, int.class, int.class, int.class, int.class,
                    float.class, p, int.class, p, int.class, float.class, p, int.class);
            return MethodHandles.publicLookup().findStatic(presets, "cblas_sgemm", type);
        } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
            return null; // not the CPU backend's OpenBLAS presets: ND4J's GEMM
        }
    }
}
