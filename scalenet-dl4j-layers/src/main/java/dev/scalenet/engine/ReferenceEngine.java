package dev.scalenet.engine;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Map;

/** The reference engine: every step as ND4J operations, example-major ({@link Engine}). */
final class ReferenceEngine extends Engine {
    @Override
    public String name() {
        return "reference";
    }

    @Override
    public INDArray toStackOrder(INDArray rows, long examples, long tokens) {
        return rows;
    }

    @Override
    public void toExampleMajorInto(INDArray stackRows, long examples, long tokens, INDArray into) {
        into.assign(stackRows);
    }

    @Override
    public INDArray toExampleMajor(INDArray stackRows, long examples, long tokens) {
        return stackRows;
    }

    @Override
    public BlockPass block(BlockDims dims, Map<String, INDArray> params, boolean adapters, boolean gates, double adapterScale, long tokens) {
        return new ReferenceBlock(dims, params, adapters, gates, adapterScale);
    }

    @Override
    public Normed layerNorm(INDArray x, INDArray gamma, INDArray beta, double eps, boolean training) {
        return ReferenceOps.layerNorm(x, gamma, beta, eps);
    }

    @Override
    public INDArray firstTokenNormed(INDArray x, INDArray gamma, INDArray beta, double eps) {
        INDArray first = x.get(NDArrayIndex.all(), NDArrayIndex.point(0), NDArrayIndex.all()).dup('c');
        return ReferenceOps.layerNorm(first, gamma, beta, eps).out;
    }

    @Override
    public INDArray patchRows(INDArray images, int chans, int grid, int patch) {
        long b = images.size(0);
        // [B, C, g, p, g, p] -> [B, g, g, C, p, p]: one row per patch
        return images.dup('c').reshape('c', b, chans, grid, patch, grid, patch).permute(0, 2, 4, 1, 3, 5)
                .dup('c').reshape('c', b * grid * grid, (long) chans * patch * patch);
    }

    @Override
    public INDArray patchImages(INDArray rows, long batch, int chans, int grid, int patch) {
        // inverse of permute(0, 2, 4, 1, 3, 5)
        return rows.reshape('c', batch, grid, grid, chans, patch, patch).permute(0, 3, 1, 4, 2, 5).dup('c')
                .reshape('c', batch, chans, (long) grid * patch, (long) grid * patch);
    }

    @Override
    public INDArray times(INDArray a, INDArray w) {
        return Nd4j.gemm(a, w, false, true);
    }

    @Override
    public INDArray linearBackward(INDArray dy, INDArray x, INDArray w, INDArray dW, INDArray dB) {
        return ReferenceOps.linearBackward(dy, x, w, dW, dB);
    }

    @Override
    public INDArray tokens(INDArray projected, INDArray bias, INDArray cls, INDArray pos, long batch, INDArray into) {
        long d = projected.size(1);
        long patches = projected.size(0) / batch;
        int prefix = cls == null ? 0 : 1;
        long width = (prefix + patches) * d;
        INDArray tokens = bias == null ? projected : projected.addRowVector(bias);
        INDArray out = Nd4j.createUninitialized(projected.dataType(), batch, width);
        out.get(NDArrayIndex.all(), NDArrayIndex.interval((long) prefix * d, width)).assign(tokens.reshape('c', batch, patches * d));
        if (prefix > 0) {
            out.get(NDArrayIndex.all(), NDArrayIndex.interval(0, d)).assign(0.0).addiRowVector(cls.reshape(d));
        }
        out.addiRowVector(pos.reshape(width));
        INDArray shaped = out.reshape('c', batch, prefix + patches, d);
        if (into == null) return shaped;
        into.assign(shaped);
        return into;
    }

    @Override
    public INDArray tokensBackward(INDArray dTokens, int prefix, INDArray dBias, INDArray dCls, INDArray dPos) {
        long b = dTokens.size(0);
        long t = dTokens.size(1);
        long d = dTokens.size(2);
        long width = t * d;
        INDArray eps = dTokens.dup('c').reshape('c', b, width);
        if (dPos != null) {
            dPos.addi(eps.sum(0).reshape(dPos.shape()));
        }
        if (prefix > 0 && dCls != null) {
            dCls.addi(eps.get(NDArrayIndex.all(), NDArrayIndex.interval(0, d)).sum(0).reshape(dCls.shape()));
        }
        INDArray dProjected = eps.get(NDArrayIndex.all(), NDArrayIndex.interval((long) prefix * d, width)).dup('c')
                .reshape('c', b * (t - prefix), d);
        if (dBias != null) {
            dBias.addi(dProjected.sum(0).reshape(dBias.shape()));
        }
        return dProjected;
    }

    @Override
    public INDArray crossEntropy(INDArray labels, double smoothing, INDArray logits, INDArray mask, boolean scores) {
        INDArray t = smoothing == 0 ? labels : labels.mul(1 - smoothing).addi(smoothing / labels.size(1));
        INDArray shifted = logits.subColumnVector(logits.max(true, 1));
        INDArray logSum = Transforms.log(Transforms.exp(shifted, true).sum(true, 1), false);
        INDArray logSoftmax = shifted.subiColumnVector(logSum);
        INDArray out;
        if (scores) {
            out = logSoftmax.muli(t).sum(true, 1).negi();
        } else {
            // d/dz of −Σ t log softmax(z) is softmax(z)·Σt − t
            out = Transforms.exp(logSoftmax, false).muliColumnVector(t.sum(true, 1)).subi(t);
        }
        if (mask != null) out.muliColumnVector(mask.reshape(out.size(0), 1).castTo(out.dataType()));
        return out;
    }
}
