package dev.scalenet.engine;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erf;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The reference engine's steps as ND4J operations, on 2-D token matrices {@code [rows, features]}, forward and backward.
 * Results are allocated in whatever workspace is current, so callers decide lifetime. Backward methods <em>add</em>
 * parameter gradients into the given views: a tensor used twice gets the sum of both uses.
 */
final class ReferenceOps {
    private static final double SQRT_HALF = Math.sqrt(0.5);
    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2 * Math.PI);

    private ReferenceOps() {}

    /** {@code y = x · Wᵀ + b} with torch's {@code [out, in]} weight layout; {@code b} may be null. */
    static INDArray linear(INDArray x, INDArray w, INDArray b) {
        INDArray y = Nd4j.gemm(x, w, false, true);
        return b == null ? y : y.addiRowVector(b);
    }

    /** Adds dW, db of {@link #linear} into the views (either may be null: frozen or absent) and returns dx. */
    static INDArray linearBackward(INDArray dy, INDArray x, INDArray w, INDArray dW, INDArray dB) {
        if (dW != null) {
            Nd4j.gemm(dy, x, dW, true, false, 1.0, 1.0);
        }
        if (dB != null) {
            dB.addi(dy.sum(0).reshape(dB.shape()));
        }
        return Nd4j.gemm(dy, w, false, false);
    }

    /** LayerNorm over the last axis of {@code [rows, features]} with the biased variance, as torch. */
    static Normed layerNorm(INDArray x, INDArray gamma, INDArray beta, double eps) {
        return Nd4jNormed.of(x, gamma, beta, eps);
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
        public INDArray backward(INDArray dy, INDArray gamma, INDArray dGamma, INDArray dBeta, INDArray addend) {
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
}
