package dev.scalenet.engine;

import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * {@code cblas_sgemm} called directly for the layers' fp32 products. ND4J's GEMM ends in the same OpenBLAS function
 * (so the bits are the same, {@code HostBlasTest}), but first builds an op, validates its shapes and crosses into
 * libnd4j: 5% of the grown micro model's inference and of the micro model's training step, profiled. Found reflectively in
 * JavaCPP's OpenBLAS presets, which the CPU backend brings (the library compiles against nd4j-api only), once, and logged
 * once at INFO: the CPU engine runs only where this call is found ({@link Engine#forCall}), so a missing BLAS shows in
 * the log as the reference engine, never as a silent slow path. Operands that are not c-order contiguous fp32 go to
 * ND4J's GEMM, which ends in the same function.
 */
final class HostBlas {
    private static final Logger log = LoggerFactory.getLogger(HostBlas.class);
    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANS = 111;
    private static final int TRANS = 112;
    private static final MethodHandle SGEMM = sgemm();

    private HostBlas() {}

    /** Whether OpenBLAS's {@code cblas_sgemm} was found (on the CPU backend with its OpenBLAS presets). */
    static boolean found() {
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

    /**
     * {@code c = alpha · op(a) · op(b) + beta · c} on sub-matrices: each operand starts {@code offset} floats into its
     * c-order contiguous fp32 array and has rows {@code ld} floats apart (a head's columns inside a qkv matrix).
     */
    static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, INDArray a, long aOffset, int lda,
                     INDArray b, long bOffset, int ldb, float beta, INDArray c, long cOffset, int ldc) {
        within(a, aOffset, transA ? k : m, transA ? m : k, lda);
        within(b, bOffset, transB ? n : k, transB ? k : n, ldb);
        within(c, cOffset, m, n, ldc);
        try {
            SGEMM.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k, alpha,
                    pointer(a).position(aOffset), lda, pointer(b).position(bOffset), ldb, beta, pointer(c).position(cOffset), ldc);
        } catch (Throwable t) {
            throw new IllegalStateException("cblas_sgemm failed", t);
        }
    }

    /** Checks that a {@code rows x cols} sub-matrix at {@code offset} with row stride {@code ld} lies inside {@code x}. */
    private static void within(INDArray x, long offset, int rows, int cols, int ld) {
        if (x.dataType() != DataType.FLOAT || !HostFloats.inCOrder(x) || offset < 0 || cols > ld || offset + (long) (rows - 1) * ld + cols > x.length()) {
            throw new IllegalArgumentException("a " + rows + " x " + cols + " sub-matrix at " + offset + " with row stride "
                    + ld + " is not inside " + x.shapeInfoToString());
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
        if (!Nd4j.getEnvironment().isCPU()) {
            log.info("ND4J's backend is not the CPU one: no direct BLAS, the layers run on the reference engine");
            return null;
        }
        try {
            Class<?> presets = Class.forName("org.bytedeco.openblas.global.openblas_nolapack");
            Class<?> p = FloatPointer.class;
            MethodType type = MethodType.methodType(void.class, int.class, int.class, int.class, int.class, int.class, int.class,
                    float.class, p, int.class, p, int.class, float.class, p, int.class);
            MethodHandle h = MethodHandles.publicLookup().findStatic(presets, "cblas_sgemm", type);
            log.info("fp32 products call OpenBLAS's cblas_sgemm directly (JavaCPP's OpenBLAS presets): the CPU engine can run");
            return h;
        } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
            log.info("OpenBLAS's cblas_sgemm not found ({}): the layers run on the reference engine (ND4J operations)", e.toString());
            return null;
        }
    }
}
