package dev.scalenet.engine;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Map;

/**
 * The reference engine's block: every step as ND4J operations, example-major rows, any backend and any precision. Its
 * attention is timm's: per-head copies, batched products, softmax. The gradient checks run this engine in fp64; the
 * CPU engine is compared with it ({@code EngineParityTest}).
 */
final class ReferenceBlock extends Block {
    private INDArray qkvHeads;
    private INDArray attnProbs;
    private INDArray attnOut;
    private INDArray fc1Out;
    private INDArray cdf;
    private INDArray hidden;

    ReferenceBlock(BlockDims dims, Map<String, INDArray> p, boolean adapters, boolean gates, double adapterScale) {
        super(dims, p, adapters, gates, adapterScale);
    }

    @Override
    Normed layerNorm(INDArray x, INDArray gamma, INDArray beta, boolean training) {
        return ReferenceOps.layerNorm(x, gamma, beta, LN_EPS);
    }

    @Override
    INDArray times(INDArray a, INDArray w) {
        return Nd4j.gemm(a, w, false, true);
    }

    @Override
    INDArray linearBackward(INDArray dy, INDArray a, INDArray w, INDArray dW, INDArray dB) {
        return ReferenceOps.linearBackward(dy, a, w, dW, dB);
    }

    @Override
    INDArray branchProduct(INDArray a, INDArray w, int slot) {
        return times(a, w);
    }

    @Override
    INDArray attentionProjected(INDArray h, boolean training) {
        int heads = dims.numHeads();
        int hd = dims.headDim();
        INDArray qkv = times(h, p.get("attn.qkv.weight"));
        INDArray bias = p.get("attn.qkv.bias");
        if (bias != null) qkv.addiRowVector(bias);
        // timm: reshape(B, N, 3, heads, hd).permute(2, 0, 3, 1, 4): q, k, v each [B * heads, N, hd]
        qkvHeads = qkv.reshape('c', examples, tokens, 3, heads, hd).permute(2, 0, 3, 1, 4).dup('c')
                .reshape('c', 3, examples * heads, tokens, hd);
        INDArray q = qkvHeads.slice(0);
        INDArray k = qkvHeads.slice(1);
        INDArray v = qkvHeads.slice(2);
        attnProbs = ReferenceOps.softmaxLastAxis(Nd4j.matmul(q, k, false, true, false).muli(attentionScale()));
        INDArray ctx = Nd4j.matmul(attnProbs, v, false, false, false);
        // heads merge back as (heads, hd): transpose(1, 2).reshape(B, N, C)
        attnOut = ctx.reshape('c', examples, heads, tokens, hd).permute(0, 2, 1, 3).dup('c')
                .reshape('c', examples * tokens, dims.embedDim());
        return times(attnOut, p.get("attn.proj.weight"));
    }

    @Override
    INDArray attentionProjectedBackward(INDArray dOut, INDArray h) {
        int heads = dims.numHeads();
        int hd = dims.headDim();
        INDArray dAttnOut = linearBackward(dOut, attnOut, p.get("attn.proj.weight"), g.get("attn.proj.weight"), g.get("attn.proj.bias"));
        INDArray dCtx = dAttnOut.reshape('c', examples, tokens, heads, hd).permute(0, 2, 1, 3).dup('c')
                .reshape('c', examples * heads, tokens, hd);
        INDArray q = qkvHeads.slice(0);
        INDArray k = qkvHeads.slice(1);
        INDArray v = qkvHeads.slice(2);
        INDArray dQkvHeads = Nd4j.createUninitialized(dAttnOut.dataType(), 3, examples * heads, tokens, hd);
        Nd4j.matmul(attnProbs, dCtx, dQkvHeads.slice(2), true, false, false);
        INDArray dScores = ReferenceOps.softmaxBackward(Nd4j.matmul(dCtx, v, false, true, false), attnProbs).muli(attentionScale());
        Nd4j.matmul(dScores, k, dQkvHeads.slice(0), false, false, false);
        Nd4j.matmul(dScores, q, dQkvHeads.slice(1), true, false, false);
        INDArray dQkv = dQkvHeads.reshape('c', 3, examples, heads, tokens, hd).permute(1, 3, 0, 2, 4).dup('c')
                .reshape('c', examples * tokens, 3L * dims.embedDim());
        return linearBackward(dQkv, h, p.get("attn.qkv.weight"), g.get("attn.qkv.weight"), g.get("attn.qkv.bias"));
    }

    @Override
    INDArray mlpHidden(INDArray h, boolean training) {
        fc1Out = times(h, p.get("mlp.fc1.weight")).addiRowVector(p.get("mlp.fc1.bias"));
        cdf = ReferenceOps.normalCdf(fc1Out);
        hidden = fc1Out.mul(cdf);
        return hidden;
    }

    @Override
    INDArray mlpHiddenAgain() {
        return hidden;
    }

    @Override
    INDArray mlpHiddenBackward(INDArray dHidden, INDArray h) {
        INDArray dFc1 = ReferenceOps.geluBackward(dHidden, fc1Out, cdf);
        return linearBackward(dFc1, h, p.get("mlp.fc1.weight"), g.get("mlp.fc1.weight"), g.get("mlp.fc1.bias"));
    }

    @Override
    INDArray reluOfLinear(INDArray pre, INDArray bias) {
        return Transforms.relu(bias == null ? pre : pre.addiRowVector(bias), false);
    }

    @Override
    INDArray residual(INDArray x, INDArray y, INDArray bias, INDArray u, INDArray uBias, INDArray gamma, float[] keep,
                      boolean keepUngated, boolean attnBranch) {
        INDArray v = bias == null ? y : y.addiRowVector(bias);
        if (u != null) {
            if (uBias != null) u.addiRowVector(uBias);
            v.addi(u.muli(adapterScale));
        }
        if (keepUngated) keepUngated(attnBranch, v);
        if (gamma != null) v = v.mulRowVector(gamma);
        if (keep != null) v = scaleExamples(v, keep);
        return v.addi(x);
    }

    @Override
    public void clear() {
        super.clear();
        qkvHeads = attnProbs = attnOut = fc1Out = cdf = hidden = null;
    }
}
