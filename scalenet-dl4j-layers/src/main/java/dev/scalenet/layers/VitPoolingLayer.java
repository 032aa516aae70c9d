package dev.scalenet.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * See {@link VitPooling}. LayerNorm acts on each token alone, so for token pooling normalising before or
 * after taking token 0 is the same; only average pooling without {@code fc_norm} normalises every token.
 */
final class VitPoolingLayer extends ViewLayer<VitPooling> {
    private static final double LN_EPS = 1e-6;
    private Ops.Normed norm;
    private long tokens;

    VitPoolingLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private boolean normsEveryToken() {
        return layerConf().getGlobalPool() == GlobalPool.AVG && !layerConf().isFcNorm();
    }

    @Override
    protected INDArray forward(INDArray input, boolean training) {
        VitPooling c = layerConf();
        long b = input.size(0);
        tokens = input.size(1);
        int d = c.getEmbedDim();
        String n = c.normName();
        INDArray out;
        if (normsEveryToken()) {
            norm = Ops.layerNorm(input.dup('c').reshape('c', b * tokens, d), params.get(n + ".weight"), params.get(n + ".bias"), LN_EPS, training);
            out = patchTokens(norm.out.reshape('c', b, tokens, d)).mean(1);
        } else if (!training && c.getGlobalPool() == GlobalPool.TOKEN && HostFloats.applies(input)) {
            // inference's class token and norm in Java: where ND4J makes a view, a strided copy and the norm's arrays
            int tokenFloats = Math.toIntExact(tokens) * d;
            float[] cls = HostFloats.readRuns(input, tokenFloats, d, new float[Math.toIntExact(b) * d]);
            HostLayerNorm.forward(cls, Math.toIntExact(b), HostFloats.copy(params.get(n + ".weight")), HostFloats.copy(params.get(n + ".bias")),
                    (float) LN_EPS, cls, null, null);
            out = createActivations(input.dataType(), b, d);
            HostFloats.writeInto(cls, out);
        } else {
            INDArray pooled = c.getGlobalPool() == GlobalPool.TOKEN
                    ? input.get(NDArrayIndex.all(), NDArrayIndex.point(0), NDArrayIndex.all()).dup('c')
                    : patchTokens(input).mean(1);
            norm = Ops.layerNorm(pooled, params.get(n + ".weight"), params.get(n + ".bias"), LN_EPS, training);
            out = norm.out;
        }
        if (!training) norm = null;
        return out;
    }

    private INDArray patchTokens(INDArray x) {
        return x.get(NDArrayIndex.all(), NDArrayIndex.interval(layerConf().getNumPrefixTokens(), tokens), NDArrayIndex.all());
    }

    @Override
    protected INDArray backward(INDArray epsilon) {
        VitPooling c = layerConf();
        long b = epsilon.size(0);
        int d = c.getEmbedDim();
        String n = c.normName();
        INDArray dx = Nd4j.zeros(epsilon.dataType(), b, tokens, d);
        long patches = tokens - c.getNumPrefixTokens();
        if (normsEveryToken()) {
            INDArray dNormed = Nd4j.zeros(epsilon.dataType(), b, tokens, d);
            patchTokens(dNormed).assign(epsilon.reshape(b, 1, d).broadcast(b, patches, d).div(patches));
            return norm.backward(dNormed.reshape('c', b * tokens, d), params.get(n + ".weight"),
                    trainableGradient(n + ".weight"), trainableGradient(n + ".bias"), null).reshape('c', b, tokens, d);
        }
        INDArray dPooled = norm.backward(epsilon, params.get(n + ".weight"),
                trainableGradient(n + ".weight"), trainableGradient(n + ".bias"), null);
        if (c.getGlobalPool() == GlobalPool.TOKEN) {
            dx.get(NDArrayIndex.all(), NDArrayIndex.point(0), NDArrayIndex.all()).assign(dPooled);
        } else {
            patchTokens(dx).assign(dPooled.reshape(b, 1, d).broadcast(b, patches, d).div(patches));
        }
        return dx;
    }

    @Override
    protected void clearForwardState() {
        norm = null;
    }
}
