package dev.scalenet.layers;

import dev.scalenet.engine.Engine;
import dev.scalenet.engine.Normed;
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
    private Normed norm;
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
        Engine engine = Engine.forCall(input);
        INDArray gamma = params.get(n + ".weight");
        INDArray beta = params.get(n + ".bias");
        INDArray out;
        if (normsEveryToken()) {
            norm = engine.layerNorm(input.dup('c').reshape('c', b * tokens, d), gamma, beta, LN_EPS, training);
            out = patchTokens(norm.out.reshape('c', b, tokens, d)).mean(1);
        } else if (!training && c.getGlobalPool() == GlobalPool.TOKEN) {
            out = engine.firstTokenNormed(input, gamma, beta, LN_EPS);
        } else {
            INDArray pooled = c.getGlobalPool() == GlobalPool.TOKEN
                    ? input.get(NDArrayIndex.all(), NDArrayIndex.point(0), NDArrayIndex.all()).dup('c')
                    : patchTokens(input).mean(1);
            norm = engine.layerNorm(pooled, gamma, beta, LN_EPS, training);
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
