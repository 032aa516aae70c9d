package dev.scalenet.layers;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erf;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The tensor operations of a ViT, forward and backward, on 2-D token matrices {@code [tokens, features]}.
 * Results are allocated in whatever workspace is current, so callers decide lifetime. Backward methods
 * <em>add</em> parameter gradients into the given views: a tensor used twice gets the sum of both uses.
 */
final class Ops {
    private static final double SQRT_HALF = Math.sqrt(0.5);
    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2 * Math.PI);

    private Ops() {}

    /** {@code y = x · Wᵀ + b} with torch's {@code [out, in]} weight layout; {@code b} may be null. */
    static INDArray linear(INDArray x, INDArray w, INDArray b) {
        INDArray y = HostBlas.times(x, w, false, true);
        return b == null ? y : y.addiRowVector(b);
    }

    /** Adds dW, db of {@link #linear} into the views (either may be null: frozen or absent) and returns dx. */
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
     * Adds {@code dy}'s column sums (a bias's gradient) into {@code dB} unless it is null (frozen or absent): on the host
     * where the kernels apply (ND4J took a reduction and an add, 2.3% of the micro model's training step), else by ND4J.
     */
    private static void addColumnSums(INDArray dy, INDArray dB) {
        if (dB == null) return;
        if (HostFloats.applies(dy)) {
            int width = Math.toIntExact(dy.size(1));
            HostFloats.addInto(dB, HostMath.columnSums(HostFloats.read(dy, 0), Math.toIntExact(dy.size(0)), width));
        } else {
            dB.addi(dy.sum(0).reshape(dB.shape()));
        }
    }

    /**
     * {@link #linearBackward} for a layer whose output was computed transposed, {@code yᵀ = W · xᵀ}, given dL/dyᵀ
     * {@code [out, rows]}: adds dW into its view (unless null: frozen) and returns dL/dx {@code [rows, in]}. The bias
     * gradient, dyᵀ's row sums, is the caller's: ND4J's sum along that axis is slow.
     */
    static INDArray linearBackwardOutputTransposed(INDArray dyT, INDArray x, INDArray w, INDArray dW) {
        if (dW != null) {
            HostBlas.gemm(dyT, x, dW, false, false, 1.0, 1.0);
        }
        return HostBlas.times(dyT, w, true, false);
    }

    /** A LayerNorm's output and, after a training pass, what its backward pass needs. */
    abstract static class Normed {
        final INDArray out;

        Normed(INDArray out) {
            this.out = out;
        }

        /** Adds dγ, dβ into the views (null when frozen) and returns dx, plus {@code addend} when not null. */
        abstract INDArray backward(INDArray dy, INDArray gamma, INDArray dGamma, INDArray dBeta, INDArray addend);
    }

    /**
     * LayerNorm over the last axis of {@code [rows, features]} with the biased variance, as torch: by {@link HostLayerNorm}
     * where it applies, else as ND4J operations.
     */
    static Normed layerNorm(INDArray x, INDArray gamma, INDArray beta, double eps, boolean training) {
        return HostFloats.applies(x) ? HostLayerNorm.apply(x, gamma, beta, eps, training) : Nd4jNormed.of(x, gamma, beta, eps);
    }

    /** LayerNorm as ND4J operations: keeps x̂ and 1/σ. */
    private static final class Nd4jNormed extends Normed {
        private final INDArray xHat;
        private final INDArray rstd;

        private Nd4jNormed(INDArray xHat, INDArray rstd, INDArray gamma, INDArray beta) {
            super(xHat.mulRowVector(gamma).addiRowVector(beta));
            this.xHat = xHat;
            this.rstd = rstd;
        }

        static Nd4jNormed of(INDArray x, INDArray gamma, INDArray beta, double eps) {
            INDArray mean = x.mean(true, 1);
            INDArray xHat = x.subColumnVector(mean);
            INDArray var = xHat.mul(xHat).mean(true, 1);
            INDArray rstd = Transforms.pow(var.addi(eps), -0.5, false);
            xHat.muliColumnVector(rstd);
            return new Nd4jNormed(xHat, rstd, gamma, beta);
        }

        @Override
        INDArray backward(INDArray dy, INDArray gamma, INDArray dGamma, INDArray dBeta, INDArray addend) {
            if (dGamma != null) {
                dGamma.addi(dy.mul(xHat).sum(0));
            }
            if (dBeta != null) {
                dBeta.addi(dy.sum(0));
            }
            INDArray dxHat = dy.mulRowVector(gamma);
            INDArray meanDxHat = dxHat.mean(true, 1);
            INDArray meanDxHatXHat = dxHat.mul(xHat).mean(true, 1);
            INDArray dx = dxHat.subiColumnVector(meanDxHat)
                    .subi(xHat.mulColumnVector(meanDxHatXHat))
                    .muliColumnVector(rstd);
            return addend == null ? dx : dx.addi(addend);
        }
    }

    /** Φ(x), the standard normal CDF, which exact GELU multiplies by: {@code gelu(x) = x·Φ(x)}. */
    static INDArray normalCdf(INDArray x) {
        INDArray t = x.mul(SQRT_HALF);
        Nd4j.exec(new Erf(t, t));
        return t.addi(1.0).muli(0.5);
    }

    /** d gelu / dx = Φ(x) + x·φ(x), given Φ(x) from the forward pass. */
    static INDArray geluBackward(INDArray dy, INDArray x, INDArray cdf) {
        INDArray pdf = x.mul(x).muli(-0.5);
        Transforms.exp(pdf, false).muli(INV_SQRT_2PI);
        return pdf.muli(x).addi(cdf).muli(dy);
    }

    /** Row softmax over the last axis of a rank-3 array, in place. */
    static INDArray softmaxLastAxis(INDArray x) {
        Nd4j.exec(new SoftMax(x, x, x.rank() - 1));
        return x;
    }

    /** Given y = softmax(s) and dy, returns ds = y ⊙ (dy − Σ dy ⊙ y), in place over dy. */
    static INDArray softmaxBackward(INDArray dy, INDArray y) {
        long rows = y.length() / y.size(-1);
        INDArray dy2 = dy.reshape('c', rows, y.size(-1));
        INDArray dot = dy2.mul(y.reshape('c', rows, y.size(-1))).sum(true, 1);
        dy2.subiColumnVector(dot);
        return dy.muli(y);
    }

    /**
     * Multiplies each example's rows of a {@code [batch * tokens, dim]} matrix, example-major or token-major
     * ({@link TokenOrder}), by its entry of {@code perExample} ({@code [batch, 1]}): stochastic depth's per-sample keep mask.
     */
    static INDArray scaleExamples(INDArray rows, INDArray perExample, boolean tokenMajor) {
        long batch = perExample.size(0);
        if (!tokenMajor) {
            return rows.reshape('c', batch, rows.length() / batch).mulColumnVector(perExample).reshape('c', rows.shape());
        }
        INDArray byToken = rows.reshape('c', rows.size(0) / batch, batch, rows.size(1));
        INDArray out = Nd4j.createUninitialized(rows.dataType(), byToken.shape());
        Nd4j.getExecutioner().exec(new BroadcastMulOp(byToken, perExample.reshape(batch), out, 1));
        return out.reshape('c', rows.shape());
    }

    /** Batched {@code a · b} over the leading axis, with optional transposes. */
    static INDArray bmm(INDArray a, INDArray b, boolean transA, boolean transB) {
        return Nd4j.matmul(a, b, transA, transB, false);
    }

    /** Batched product written into {@code out}. */
    static void bmmInto(INDArray a, INDArray b, INDArray out, boolean transA, boolean transB) {
        Nd4j.matmul(a, b, out, transA, transB, false);
    }
}
