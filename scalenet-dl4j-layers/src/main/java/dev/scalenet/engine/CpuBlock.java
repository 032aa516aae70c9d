package dev.scalenet.engine;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;

/**
 * The CPU engine's block: fp32 on the CPU backend, products by direct BLAS ({@link HostBlas}), every other step a Java
 * kernel (LayerNorm, GELU, ReLU, the fused residual end of a branch). Attention takes one of two kernels by sequence
 * length, and with it the row order of the whole stack ({@link TokenOrder}): up to
 * {@link EngineSettings#laneAttentionMaxTokens} tokens, {@link HostAttention} on token-major rows; longer,
 * {@link GemmAttention} on example-major rows. Its inference is its training forward pass without the caches, or, for a
 * whole stack, {@link #inferResident}.
 */
final class CpuBlock extends Block {
    private final boolean laneAttention;

    private INDArray qkv; // lane attention: transposed, [3 * dim, rows]; GEMM attention: [rows, 3 * dim] with its bias
    private INDArray attnProbs;
    private INDArray attnOut; // lane attention: transposed, [dim, rows]
    private INDArray fc1Pre; // fc1's output without its bias: GELU's kernel adds it

    /** @param laneAttention whether the rows come token-major and attention runs by {@link HostAttention} */
    CpuBlock(BlockDims dims, Map<String, INDArray> p, boolean adapters, boolean gates, double adapterScale, boolean laneAttention) {
        super(dims, p, adapters, gates, adapterScale);
        this.laneAttention = laneAttention;
    }

    @Override
    Normed layerNorm(INDArray x, INDArray gamma, INDArray beta, boolean training) {
        return HostLayerNorm.apply(x, gamma, beta, LN_EPS, training);
    }

    @Override
    INDArray times(INDArray a, INDArray w) {
        return HostBlas.times(a, w, false, true);
    }

    @Override
    INDArray branchProduct(INDArray a, INDArray w, int slot) {
        return branchProduct(a, false, w, slot);
    }

    /** {@code op(a) · Wᵀ} into this thread's product for {@code slot} ({@link Work#product}), or a new array when too large. */
    private static INDArray branchProduct(INDArray a, boolean transA, INDArray w, int slot) {
        INDArray y = Work.product(slot, transA ? a.size(1) : a.size(0), w.size(0));
        if (y == null) return HostBlas.times(a, w, transA, true);
        HostBlas.gemm(a, w, y, transA, true, 1.0, 0.0);
        return y;
    }

    @Override
    INDArray linearBackward(INDArray dy, INDArray a, INDArray w, INDArray dW, INDArray dB) {
        return CpuOps.linearBackward(dy, a, w, dW, dB);
    }

    @Override
    INDArray attentionProjected(INDArray h, boolean training) {
        int d = dims.embedDim();
        long n = examples * tokens;
        if (laneAttention) {
            qkv = HostBlas.times(p.get("attn.qkv.weight"), h, false, true); // transposed; the kernel adds the bias
            HostAttention attention = new HostAttention(tokens, dims.numHeads(), dims.headDim(), attentionScale());
            try (Work.Frame work = Work.frame()) {
                float[] probs = training ? work.floats(examples * dims.numHeads() * tokens * tokens) : null;
                float[] ctx = work.floats(n * d);
                attention.forward(HostFloats.read(qkv, work), HostFloats.copy(p.get("attn.qkv.bias")), Math.toIntExact(examples), probs, ctx);
                attnProbs = training ? HostFloats.write(probs, examples * dims.numHeads(), tokens, tokens) : null;
                attnOut = HostFloats.write(ctx, d, n);
            }
            return branchProduct(attnOut, true, p.get("attn.proj.weight"), 0);
        }
        qkv = times(h, p.get("attn.qkv.weight"));
        INDArray bias = p.get("attn.qkv.bias");
        if (bias != null) qkv.addiRowVector(bias); // ND4J's in-place add: one pass, where a Java kernel reads and writes a copy
        attnProbs = training ? Nd4j.createUninitialized(DataType.FLOAT, examples * dims.numHeads(), tokens, tokens) : null;
        attnOut = Nd4j.createUninitialized(DataType.FLOAT, n, d);
        new GemmAttention(tokens, dims.numHeads(), dims.headDim(), attentionScale()).forward(qkv, examples, attnProbs, attnOut);
        return branchProduct(attnOut, p.get("attn.proj.weight"), 0);
    }

    @Override
    INDArray attentionProjectedBackward(INDArray dOut, INDArray h) {
        int d = dims.embedDim();
        if (laneAttention) { // attention's input and output transposed
            INDArray dAttnOutT = CpuOps.linearBackwardInputTransposed(dOut, attnOut, p.get("attn.proj.weight"),
                    g.get("attn.proj.weight"), g.get("attn.proj.bias"));
            return CpuOps.linearBackwardOutputTransposed(laneAttentionBackward(dAttnOutT), h, p.get("attn.qkv.weight"),
                    g.get("attn.qkv.weight"));
        }
        INDArray dCtx = linearBackward(dOut, attnOut, p.get("attn.proj.weight"), g.get("attn.proj.weight"), g.get("attn.proj.bias"));
        INDArray dQkv = Nd4j.createUninitialized(DataType.FLOAT, examples * tokens, 3L * d);
        new GemmAttention(tokens, dims.numHeads(), dims.headDim(), attentionScale()).backward(qkv, attnProbs, dCtx, examples, dQkv);
        return linearBackward(dQkv, h, p.get("attn.qkv.weight"), g.get("attn.qkv.weight"), g.get("attn.qkv.bias"));
    }

    /**
     * dL/dqkv transposed, {@code [3 * dim, rows]}, given dL/dctx transposed; adds the qkv bias's gradient, each row's
     * sum, summed here (ND4J's sum along that axis took 3.5% of the micro model's training step).
     */
    private INDArray laneAttentionBackward(INDArray dAttnOutT) {
        int n = Math.toIntExact(examples * tokens);
        int features = 3 * dims.embedDim();
        try (Work.Frame work = Work.frame()) {
            float[] out = work.floats((long) features * n);
            new HostAttention(tokens, dims.numHeads(), dims.headDim(), attentionScale()).backward(HostFloats.read(qkv, work),
                    HostFloats.copy(p.get("attn.qkv.bias")), HostFloats.read(attnProbs, work), HostFloats.read(dAttnOutT, work),
                    Math.toIntExact(examples), out);
            INDArray dBias = g.get("attn.qkv.bias");
            if (dBias != null) {
                float[] sums = new float[features];
                for (int f = 0; f < features; f++) {
                    sums[f] = HostMath.sum(out, f * n, (f + 1) * n);
                }
                HostFloats.addInto(dBias, sums);
            }
            return HostFloats.write(out, features, n);
        }
    }

    @Override
    INDArray mlpHidden(INDArray h, boolean training) {
        fc1Pre = times(h, p.get("mlp.fc1.weight"));
        INDArray hidden = Work.product(2, fc1Pre.size(0), fc1Pre.size(1)); // fc2's product reads it at once
        if (hidden == null) return HostGelu.apply(fc1Pre, p.get("mlp.fc1.bias"));
        HostGelu.applyInto(fc1Pre, p.get("mlp.fc1.bias"), hidden);
        return hidden;
    }

    /**
     * Recomputed from fc1's output, which GELU's backward keeps anyway: one GELU pass more a step (under 2% of DeiT-Tiny's
     * training step) for not keeping four activations of the block's width per token (a fifth of what it keeps).
     */
    @Override
    INDArray mlpHiddenAgain() {
        return HostGelu.apply(fc1Pre, p.get("mlp.fc1.bias"));
    }

    @Override
    INDArray mlpHiddenBackward(INDArray dHidden, INDArray h) {
        // GELU's backward adds fc1's bias gradient as it goes
        INDArray dFc1 = HostGelu.backward(dHidden, fc1Pre, p.get("mlp.fc1.bias"), g.get("mlp.fc1.bias"));
        return linearBackward(dFc1, h, p.get("mlp.fc1.weight"), g.get("mlp.fc1.weight"), null);
    }

    @Override
    INDArray reluOfLinear(INDArray pre, INDArray bias) {
        return HostRelu.apply(pre, bias);
    }

    @Override
    INDArray residual(INDArray x, INDArray y, INDArray bias, INDArray u, INDArray uBias, INDArray gamma, float[] keep,
                      boolean keepUngated, boolean attnBranch) {
        int rows = Math.toIntExact(y.size(0));
        int width = Math.toIntExact(y.size(1));
        INDArray out = Nd4j.createUninitialized(DataType.FLOAT, y.shape());
        INDArray ungated = keepUngated ? Nd4j.createUninitialized(DataType.FLOAT, y.shape()) : null;
        HostResidual.forward(HostFloats.buffer(x), HostFloats.buffer(y), HostFloats.copy(bias), u == null ? null : HostFloats.buffer(u),
                HostFloats.copy(uBias), (float) adapterScale, HostFloats.copy(gamma), keepPerRow(keep), rows, width,
                ungated == null ? null : HostFloats.buffer(ungated), HostFloats.buffer(out));
        if (keepUngated) keepUngated(attnBranch, ungated);
        return out;
    }

    /** Stochastic depth's per-example multipliers (or null) as one per row, in this block's row order. */
    private float[] keepPerRow(float[] perExample) {
        if (perExample == null) return null;
        float[] perRow = new float[Math.toIntExact(examples * tokens)];
        for (int r = 0; r < perRow.length; r++) {
            perRow[r] = perExample[laneAttention ? r % perExample.length : (int) (r / tokens)];
        }
        return perRow;
    }

    @Override
    INDArray scaleExamples(INDArray rows, float[] perExample) {
        if (!laneAttention) return super.scaleExamples(rows, perExample);
        long batch = perExample.length;
        INDArray m = Nd4j.create(perExample, new long[] {batch, 1}, 'c');
        INDArray byToken = rows.reshape('c', rows.size(0) / batch, batch, rows.size(1));
        INDArray out = Nd4j.createUninitialized(rows.dataType(), byToken.shape());
        Nd4j.getExecutioner().exec(new BroadcastMulOp(byToken, m.reshape(batch), out, 1));
        return out.reshape('c', rows.shape());
    }

    @Override
    public void clear() {
        super.clear();
        qkv = attnProbs = attnOut = fc1Pre = null;
    }

    /**
     * {@link #infer} of token-major rows held in Java feature-major ({@link HostFeatureMajor}: {@code x[feature][row]},
     * rows = tokens · batch), into {@code out}: ND4J runs only the GEMMs, on the transposed matrices {@code [features,
     * rows]} and into the thread's work matrices ({@link HostGemm}), and nothing goes back into a new ND4J array between
     * the steps. The same arithmetic as {@link #infer}, summed in other orders ({@code ResidentInferenceTest}).
     * {@code out} must not be {@code x}.
     */
    void inferResident(float[][] x, int batch, int tokens, float[][] out) {
        if (!laneAttention) {
            throw new IllegalStateException("inferResident takes token-major rows");
        }
        int n = batch * tokens;
        int d = dims.embedDim();
        float eps = (float) LN_EPS;
        try (Work.Frame work = Work.frame()) {
            float[] mean = work.floats(n);
            float[] rstd = work.floats(n);
            float[][] h = work.features(d, n);
            HostFeatureMajor.layerNorm(x, n, HostFloats.copy(p.get("norm1.weight")), HostFloats.copy(p.get("norm1.bias")), eps, mean, rstd, h);
            INDArray qkvT = HostGemm.product(work, p.get("attn.qkv.weight"), HostGemm.put(work, h, d, n));
            INDArray ctxT = work.matrix(d, n);
            new HostAttention(tokens, dims.numHeads(), dims.headDim(), attentionScale())
                    .forward(HostFloats.buffer(qkvT), HostFloats.copy(p.get("attn.qkv.bias")), batch, null, HostFloats.buffer(ctxT));
            float[][] proj = HostGemm.timesByFeature(work, p.get("attn.proj.weight"), ctxT);
            float[][] x1 = work.features(d, n);
            endBranchResident("attn", x, proj, h, n, work, x1);

            HostFeatureMajor.layerNorm(x1, n, HostFloats.copy(p.get("norm2.weight")), HostFloats.copy(p.get("norm2.bias")), eps, mean, rstd, h);
            float[][] fc1 = HostGemm.timesByFeature(work, p.get("mlp.fc1.weight"), HostGemm.put(work, h, d, n));
            HostFeatureMajor.gelu(fc1, HostFloats.copy(p.get("mlp.fc1.bias")), n);
            int hidden = dims.mlpHiddenDim();
            float[][] fc2 = HostGemm.timesByFeature(work, p.get("mlp.fc2.weight"), HostGemm.put(work, fc1, hidden, n));
            endBranchResident("mlp", x1, fc2, h, n, work, out);
        }
    }

    /** The end of a branch in resident inference, feature-major: {@code y} the branch's last product, {@code hRows} its input. */
    private void endBranchResident(String branch, float[][] x, float[][] y, float[][] hRows, int n, Work.Frame work, float[][] out) {
        boolean attn = branch.equals("attn");
        float[][] u = null;
        float[] uBias = null;
        if (adapters) {
            String a = "adapter." + branch;
            INDArray downWeight = p.get(a + ".down.weight");
            int rank = Math.toIntExact(downWeight.size(0));
            int d = dims.embedDim();
            float[][] down = work.features(rank, n);
            HostFeatureMajor.linear(HostFloats.copy(downWeight), rank, d, hRows, n, down);
            HostFeatureMajor.relu(down, HostFloats.copy(p.get(a + ".down.bias")), rank, n);
            u = work.features(d, n);
            HostFeatureMajor.linear(HostFloats.copy(p.get(a + ".up.weight")), d, rank, down, n, u);
            uBias = HostFloats.copy(p.get(a + ".up.bias"));
        }
        HostFeatureMajor.residual(x, y, HostFloats.copy(p.get(attn ? "attn.proj.bias" : "mlp.fc2.bias")), u,
                uBias, (float) adapterScale, gates ? HostFloats.copy(p.get(attn ? "ls1.gamma" : "ls2.gamma")) : null, dims.embedDim(), n, out);
    }
}
