package dev.scalenet.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** See {@link PatchEmbedding}. The convolution is a GEMM over unfolded, non-overlapping patches. */
final class PatchEmbeddingLayer extends ViewLayer<PatchEmbedding> {
    private final BatchShards shards = new BatchShards(this);
    private INDArray patches;

    PatchEmbeddingLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    @Override
    protected INDArray forward(INDArray input, boolean training) {
        PatchEmbedding c = layerConf();
        long b = input.size(0);
        if (!training && HostFloats.applies(input)) {
            int n = shards.shardsFor(b, b * c.numTokens() * c.getEmbedDim());
            if (n > 1) return inferSharded(input, n);
        }
        int p = c.getPatchSize();
        int g = c.gridSize();
        int d = c.getEmbedDim();
        // [B, C, g, p, g, p] -> [B, g, g, C, p, p]: one row per patch, features in the conv weight's (C, p, p) order
        INDArray unfolded = HostFloats.applies(input) ? new HostPatches(c.getInChans(), g, p).unfold(input)
                : input.dup('c').reshape('c', b, c.getInChans(), g, p, g, p).permute(0, 2, 4, 1, 3, 5)
                .dup('c').reshape('c', b * g * g, (long) c.getInChans() * p * p);
        INDArray w = projectionWeight();
        if (training) patches = unfolded;
        if (HostFloats.applies(input)) {
            return tokensOnHost(HostBlas.times(unfolded, w, false, true), b, null);
        }
        INDArray tokens = Ops.linear(unfolded, w, params.get("proj.bias"));
        int prefix = c.numPrefixTokens();
        long width = (long) c.numTokens() * d;
        INDArray out = Nd4j.createUninitialized(input.dataType(), b, width);
        out.get(NDArrayIndex.all(), NDArrayIndex.interval((long) prefix * d, width)).assign(tokens.reshape('c', b, (long) g * g * d));
        if (prefix > 0) {
            out.get(NDArrayIndex.all(), NDArrayIndex.interval(0, d)).assign(0.0).addiRowVector(params.get("clsToken").reshape(d));
        }
        out.addiRowVector(params.get("posEmbed").reshape(width));
        return out.reshape('c', b, c.numTokens(), d);
    }

    /**
     * Inference with the batch cut into shards ({@link BatchShards}), each patchified, projected and assembled into
     * tokens on its worker: on one thread this took about 0.4 ms of the grown micro model's 12 ms batch, with the
     * shards' cores idle.
     */
    private INDArray inferSharded(INDArray input, int n) {
        PatchEmbedding c = layerConf();
        long b = input.size(0);
        int p = c.getPatchSize();
        int d = c.getEmbedDim();
        INDArray out = createActivations(input.dataType(), b, c.numTokens(), d);
        INDArray w = projectionWeight();
        HostPatches patchify = new HostPatches(c.getInChans(), c.gridSize(), p);
        shards.runThreaded(n, BatchShards.Phase.INFER, out.length() / n, k -> {
            INDArrayIndex examples = NDArrayIndex.interval(BatchShards.start(k, n, b), BatchShards.start(k + 1, n, b));
            INDArray projected = HostBlas.times(patchify.unfold(input.get(examples, NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all())),
                    w, false, true);
            tokensOnHost(projected, examples.length(), out.get(examples, NDArrayIndex.all(), NDArrayIndex.all()));
        });
        return out;
    }

    /** The projection's weight as the GEMM takes it, {@code [embedDim, chans · patch²]}. */
    private INDArray projectionWeight() {
        PatchEmbedding c = layerConf();
        return params.get("proj.weight").reshape('c', c.getEmbedDim(), (long) c.getInChans() * c.getPatchSize() * c.getPatchSize());
    }

    /** {@link HostPatches#tokens} with this layer's bias, class token (if any) and position embedding. */
    private INDArray tokensOnHost(INDArray projected, long examples, INDArray into) {
        return HostPatches.tokens(projected, params.get("proj.bias"), layerConf().numPrefixTokens() > 0 ? params.get("clsToken") : null,
                params.get("posEmbed"), examples, into);
    }

    @Override
    protected INDArray backward(INDArray epsilon) {
        PatchEmbedding c = layerConf();
        long b = epsilon.size(0);
        int p = c.getPatchSize();
        int g = c.gridSize();
        int d = c.getEmbedDim();
        int prefix = c.numPrefixTokens();
        long width = (long) c.numTokens() * d;
        long k = (long) c.getInChans() * p * p;
        INDArray w = projectionWeight();
        INDArray dW = trainableGradient("proj.weight") == null ? null : trainableGradient("proj.weight").reshape('c', d, k);
        if (HostFloats.applies(epsilon)) {
            INDArray dTokens = HostPatches.tokensBackward(epsilon, prefix, trainableGradient("proj.bias"),
                    prefix > 0 ? trainableGradient("clsToken") : null, trainableGradient("posEmbed"));
            return new HostPatches(c.getInChans(), g, p).fold(Ops.linearBackward(dTokens, patches, w, dW, null), b);
        }
        INDArray eps = epsilon.dup('c').reshape('c', b, width);
        INDArray dPos = trainableGradient("posEmbed");
        if (dPos != null) {
            dPos.addi(eps.sum(0).reshape(dPos.shape()));
        }
        INDArray dCls = trainableGradient("clsToken");
        if (prefix > 0 && dCls != null) {
            dCls.addi(eps.get(NDArrayIndex.all(), NDArrayIndex.interval(0, d)).sum(0)
                    .reshape(1, 1, d));
        }
        INDArray dTokens = eps.get(NDArrayIndex.all(), NDArrayIndex.interval((long) prefix * d, width)).dup('c')
                .reshape('c', b * g * g, d);
        INDArray dPatches = Ops.linearBackward(dTokens, patches, w, dW, trainableGradient("proj.bias"));
        // inverse of permute(0, 2, 4, 1, 3, 5)
        return dPatches.reshape('c', b, g, g, c.getInChans(), p, p).permute(0, 3, 1, 4, 2, 5).dup('c')
                .reshape('c', b, c.getInChans(), c.getImgSize(), c.getImgSize());
    }

    @Override
    protected void clearForwardState() {
        patches = null;
    }
}
