package dev.scalenet.layers;

import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * {@code cblas_sgemm} called directly for {@link HostGemm}'s products. ND4J's GEMM ends in the same OpenBLAS function
 * (so the bits are the same), but first builds an op, validates its shapes and crosses into libnd4j: 5% of the grown
 * micro model's inference, profiled. Found reflectively in JavaCPP's OpenBLAS presets, which the CPU backend brings
 * (the library compiles against nd4j-api only); without them, or for operands that are not c-order contiguous fp32,
 * ND4J's GEMM runs instead.
 */
final class HostBlas {
    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANS = 111;
    private static final MethodHandle SGEMM = sgemm();

    private HostBlas() {}

    /** Whether products go to OpenBLAS directly. */
    static boolean direct() {
        return SGEMM != null;
    }

    /** {@code c = a · b} ({@code [m, k] · [k, n]}, all fp32). */
    static void product(INDArray a, INDArray b, INDArray c) {
        if (SGEMM == null || !contiguous(a) || !contiguous(b) || !contiguous(c)) {
            Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
            return;
        }
        int m = Math.toIntExact(a.size(0));
        int k = Math.toIntExact(a.size(1));
        int n = Math.toIntExact(b.size(1));
        if (b.size(0) != k || c.size(0) != m || c.size(1) != n) {
            throw new IllegalArgumentException("product of " + a.shapeInfoToString() + " and " + b.shapeInfoToString()
                    + " into " + c.shapeInfoToString());
        }
        try {
            SGEMM.invokeExact(ROW_MAJOR, NO_TRANS, NO_TRANS, m, n, k, 1f, pointer(a), k, pointer(b), n, 0f, pointer(c), n);
        } catch (Throwable t) {
            throw new IllegalStateException("cblas_sgemm failed", t);
        }
    }

    private static boolean contiguous(INDArray x) {
        return x.dataType() == DataType.FLOAT && x.rank() == 2 && x.ordering() == 'c' && x.elementWiseStride() == 1;
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
