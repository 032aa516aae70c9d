package dev.scalenet.layers;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Map;

/**
 * One use of a pre-norm ViT block, as timm's {@code Block}:
 * <pre>
 *   x = x + [γ1 ⊙] (attn(norm1(x)) [+ s · adapter_attn(norm1(x))])
 *   x = x + [γ2 ⊙] (mlp(norm2(x))  [+ s · adapter_mlp(norm2(x))])
 * </pre>
 * The bracketed parallel adapters ({@code up(relu(down(h)))}) are ScaleNet's adjustment parameters; the
 * per-channel gates γ (timm's LayerScale {@code ls1.gamma}, {@code ls2.gamma}) scale a whole branch, adapter
 * included, so a gate at zero makes the block the identity. In training, stochastic depth may drop each branch (with its adapter) per example,
 * as timm's {@code DropPath}: the per-example keep masks are 0 or 1/(1 - rate). Parameters and gradients are views into a layer's flat arrays; an inserted block
 * is a {@code Block} holding the same views as its source block, so its gradients add to the source's.
 * Keeps the forward state of the last training pass for {@link #backward}.
 */
final class Block {
    private static final double LN_EPS = 1e-6;

    private final BlockShape shape;
    private final Map<String, INDArray> p;
    private Map<String, INDArray> g;
    private final boolean adapters;
    private final boolean gates;
    private final double adapterScale;
    private final boolean tokenMajor;

    // forward state for backward
    private long batch;
    private long tokens;
    private Ops.Normed n1;
    private INDArray h1;
    private INDArray qkv; // token-major: transposed, [3 * dim, rows]
    private HostAttention hostAttention; // null when attention ran as ND4J operations
    private INDArray qkvHeads;
    private INDArray attnProbs;
    private INDArray attnOut; // token-major: transposed, [dim, rows]
    private Ops.Normed n2;
    private INDArray h2;
    private INDArray fc1Out;
    private INDArray cdf;
    private INDArray fc1Pre; // fc1's output without its bias, when GELU ran on the host
    private INDArray geluOut;
    private INDArray attnAdapterHidden;
    private INDArray mlpAdapterHidden;
    private INDArray attnKeep;
    private INDArray mlpKeep;
    private INDArray attnUngated;
    private INDArray mlpUngated;

    /**
     * @param p views of this use's tensors by block-relative timm name (shared and own)
     * @param adapters whether {@code adapter.*} tensors are present and used
     * @param gates whether {@code ls1.gamma} and {@code ls2.gamma} are present and used
     * @param tokenMajor whether the rows come token-major ({@link TokenOrder}); then attention runs on the host, on
     *     the transposed projections {@link HostAttention} reads, else (example-major) as ND4J operations
     */
    Block(BlockShape shape, Map<String, INDArray> p, boolean adapters, boolean gates, double adapterScale, boolean tokenMajor) {
        this.shape = shape;
        this.p = p;
        this.adapters = adapters;
        this.gates = gates;
        this.adapterScale = adapterScale;
        this.tokenMajor = tokenMajor;
    }

    /**
     * @param x tokens as a {@code [batch * tokens, dim]} matrix
     * @param attnKeep, mlpKeep per-example stochastic-depth multipliers {@code [batch, 1]}, or null for none
     */
    INDArray forward(INDArray x, long batch, INDArray attnKeep, INDArray mlpKeep) {
        return run(x, batch, attnKeep, mlpKeep, true);
    }

    /** The forward pass without stochastic depth and without keeping what only backward needs. */
    INDArray infer(INDArray x, long batch) {
        return run(x, batch, null, null, false);
    }

    /**
     * {@link #infer} of token-major rows held in Java feature-major ({@link HostFeatureMajor}: {@code x[feature][row]},
     * rows = tokens · batch), into {@code out}: ND4J runs only the GEMMs, on the transposed matrices {@code [features,
     * rows]} and into {@code gemm}'s reused matrices, and nothing goes back into a new ND4J array between the steps.
     * The same arithmetic as {@link #infer}, summed in other orders ({@code ResidentInferenceTest}). {@code out} must
     * not be {@code x}.
     */
    void inferResident(float[][] x, int batch, int tokens, float[][] out, HostGemm gemm) {
        if (!tokenMajor) {
            throw new IllegalStateException("inferResident takes token-major rows");
        }
        int n = batch * tokens;
        int d = shape.embedDim();
        float eps = (float) LN_EPS;
        float[] mean = gemm.floats(HostGemm.MEAN, n);
        float[] rstd = gemm.floats(HostGemm.RSTD, n);

        float[][] h = gemm.features(HostGemm.H, d, n);
        HostFeatureMajor.layerNorm(x, n, HostFloats.copy(p.get("norm1.weight")), HostFloats.copy(p.get("norm1.bias")), eps, mean, rstd, h);
        INDArray h1 = gemm.put(HostGemm.H, h, d, n);
        INDArray qkvT = gemm.product(HostGemm.QKV, p.get("attn.qkv.weight"), h1);
        INDArray ctxT = gemm.matrix(HostGemm.CTX, d, n);
        new HostAttention(tokens, shape.numHeads(), shape.headDim(), scale())
                .forward(HostGemm.buffer(qkvT), qkvBias(), batch, null, HostGemm.buffer(ctxT));
        float[][] proj = gemm.timesByFeature(HostGemm.Y, p.get("attn.proj.weight"), ctxT);
        float[][] x1 = gemm.features(HostGemm.X1, d, n);
        endBranchResident("attn", x, proj, h, n, gemm, x1);

        HostFeatureMajor.layerNorm(x1, n, HostFloats.copy(p.get("norm2.weight")), HostFloats.copy(p.get("norm2.bias")), eps, mean, rstd, h);
        INDArray h2 = gemm.put(HostGemm.H, h, d, n);
        float[][] fc1 = gemm.timesByFeature(HostGemm.FC1, p.get("mlp.fc1.weight"), h2);
        HostFeatureMajor.gelu(fc1, HostFloats.copy(p.get("mlp.fc1.bias")), n);
        int hidden = shape.mlpHiddenDim();
        float[][] fc2 = gemm.timesByFeature(HostGemm.Y, p.get("mlp.fc2.weight"), gemm.put(HostGemm.FC1, fc1, hidden, n));
        endBranchResident("mlp", x1, fc2, h, n, gemm, out);
    }

    /** {@link #endBranch} in inference, feature-major: {@code y} the branch's last product, {@code hRows} its input. */
    private void endBranchResident(String branch, float[][] x, float[][] y, float[][] hRows, int n, HostGemm gemm, float[][] out) {
        boolean attn = branch.equals("attn");
        float[][] u = null;
        float[] uBias = null;
        if (adapters) {
            String a = "adapter." + branch;
            INDArray downWeight = p.get(a + ".down.weight");
            int rank = Math.toIntExact(downWeight.size(0));
            int d = shape.embedDim();
            float[][] down = gemm.features(HostGemm.DOWN, rank, n);
            HostFeatureMajor.linear(HostFloats.copy(downWeight), rank, d, hRows, n, down);
            HostFeatureMajor.relu(down, HostFloats.copy(p.get(a + ".down.bias")), rank, n);
            u = gemm.features(HostGemm.UP, d, n);
            HostFeatureMajor.linear(HostFloats.copy(p.get(a + ".up.weight")), d, rank, down, n, u);
            uBias = HostFloats.copy(p.get(a + ".up.bias"));
        }
        HostFeatureMajor.residual(x, y, HostFloats.copy(p.get(attn ? "attn.proj.bias" : "mlp.fc2.bias")), u,
                uBias, (float) adapterScale, gates ? HostFloats.copy(p.get(attn ? "ls1.gamma" : "ls2.gamma")) : null, shape.embedDim(), n, out);
    }

    private INDArray run(INDArray x, long batch, INDArray attnKeep, INDArray mlpKeep, boolean training) {
        long n = x.size(0);
        this.batch = batch;
        this.attnKeep = attnKeep;
        this.mlpKeep = mlpKeep;
        this.tokens = n / batch;

        n1 = Ops.layerNorm(x, p.get("norm1.weight"), p.get("norm1.bias"), LN_EPS, training);
        h1 = n1.out;
        attnOut = tokenMajor ? attentionOnHost(training) : attentionAsNd4jOps();
        if (adapters) attnAdapterHidden = adapterHidden("attn", h1);
        INDArray x1 = endBranch("attn", x, HostBlas.times(attnOut, p.get("attn.proj.weight"), tokenMajor, true),
                attnAdapterHidden, attnKeep, training);

        n2 = Ops.layerNorm(x1, p.get("norm2.weight"), p.get("norm2.bias"), LN_EPS, training);
        h2 = n2.out;
        INDArray pre = HostBlas.times(h2, p.get("mlp.fc1.weight"), false, true);
        if (HostFloats.applies(pre)) {
            fc1Pre = pre; // the kernel adds the bias
            geluOut = HostGelu.apply(fc1Pre, p.get("mlp.fc1.bias"));
        } else {
            fc1Out = pre.addiRowVector(p.get("mlp.fc1.bias"));
            cdf = Ops.normalCdf(fc1Out);
            geluOut = fc1Out.mul(cdf);
        }
        if (adapters) mlpAdapterHidden = adapterHidden("mlp", h2);
        return endBranch("mlp", x1, HostBlas.times(geluOut, p.get("mlp.fc2.weight"), false, true), mlpAdapterHidden, mlpKeep,
                training);
    }

    /**
     * {@code x + keep ⊙ γ ⊙ ((y + b) + s · adapter)}: the end of branch {@code attn} (proj, its adapter, ls1) or
     * {@code mlp} (fc2, its adapter, ls2), given {@code y}, the branch's last product without its bias, and the adapter's
     * hidden activations (null without adapters). In training with gates, keeps the branch before its gate for γ's
     * gradient. By {@link HostResidual} on token-major rows (the short sequences the host kernels are for), else as ND4J
     * operations (on long sequences their in-place adds beat the copies).
     */
    private INDArray endBranch(String branch, INDArray x, INDArray y, INDArray adapterHidden, INDArray keep, boolean training) {
        boolean attn = branch.equals("attn");
        INDArray bias = p.get(attn ? "attn.proj.bias" : "mlp.fc2.bias");
        INDArray gamma = gates ? p.get(attn ? "ls1.gamma" : "ls2.gamma") : null;
        String up = "adapter." + branch + ".up";
        INDArray u = adapterHidden == null ? null : HostBlas.times(adapterHidden, p.get(up + ".weight"), false, true);
        INDArray uBias = adapterHidden == null ? null : p.get(up + ".bias");
        boolean keepUngated = training && gamma != null;
        INDArray sum;
        INDArray ungated = null;
        if (tokenMajor) {
            int rows = Math.toIntExact(y.size(0));
            int width = Math.toIntExact(y.size(1));
            float[] yHost = HostFloats.read(y, 1);
            float[] out = HostFloats.scratch(3, y.length());
            HostResidual.forward(HostFloats.read(x, 0), yHost, HostFloats.copy(bias), u == null ? null : HostFloats.read(u, 2),
                    HostFloats.copy(uBias), (float) adapterScale, HostFloats.copy(gamma), keepPerRow(keep), rows, width,
                    keepUngated, out);
            sum = HostFloats.write(out, y.shape());
            if (keepUngated) ungated = HostFloats.write(yHost, y.shape());
        } else {
            INDArray v = bias == null ? y : y.addiRowVector(bias);
            if (u != null) {
                if (uBias != null) u.addiRowVector(uBias);
                v.addi(u.muli(adapterScale));
            }
            if (keepUngated) ungated = v;
            if (gamma != null) v = v.mulRowVector(gamma);
            if (keep != null) v = Ops.scaleExamples(v, keep, tokenMajor);
            sum = v.addi(x);
        }
        if (attn) attnUngated = ungated;
        else mlpUngated = ungated;
        return sum;
    }

    /** Stochastic depth's per-example multipliers ({@code [batch, 1]}, or null) as one per token-major row. */
    private float[] keepPerRow(INDArray keep) {
        if (keep == null) return null;
        float[] perExample = HostFloats.copy(keep);
        float[] perRow = new float[Math.toIntExact(batch * tokens)];
        for (int r = 0; r < perRow.length; r++) {
            perRow[r] = perExample[r % perExample.length]; // row = token * batch + example
        }
        return perRow;
    }

    /**
     * Adds this use's parameter gradients into {@code gradients} (views keyed like the parameters; a frozen
     * parameter has no entry and gets no gradient computed); returns dL/dx.
     */
    INDArray backward(INDArray dy, Map<String, INDArray> gradients) {
        if (n1 == null) {
            throw new IllegalStateException("backward() without a training forward pass");
        }
        this.g = gradients;

        // MLP branch: y = x1 + keep · (fc2(gelu(fc1(h2))) [+ adapter(h2)])
        INDArray dMlp = gateBackward("ls2.gamma", mlpKeep == null ? dy : Ops.scaleExamples(dy, mlpKeep, tokenMajor), mlpUngated);
        INDArray dGelu = Ops.linearBackward(dMlp, geluOut, p.get("mlp.fc2.weight"), g.get("mlp.fc2.weight"), g.get("mlp.fc2.bias"));
        // on the host, GELU's backward adds fc1's bias gradient as it goes
        INDArray dFc1 = fc1Pre != null ? HostGelu.backward(dGelu, fc1Pre, p.get("mlp.fc1.bias"), g.get("mlp.fc1.bias"))
                : Ops.geluBackward(dGelu, fc1Out, cdf);
        INDArray dH2 = Ops.linearBackward(dFc1, h2, p.get("mlp.fc1.weight"), g.get("mlp.fc1.weight"),
                fc1Pre != null ? null : g.get("mlp.fc1.bias"));
        if (adapters) {
            dH2.addi(adapterBackward("mlp", dMlp, h2, mlpAdapterHidden));
        }
        INDArray dX1 = n2.backward(dH2, p.get("norm2.weight"), g.get("norm2.weight"), g.get("norm2.bias"), dy);

        // attention branch: x1 = x + keep · (proj(attention(qkv(h1))) [+ adapter(h1)])
        INDArray dAttn = gateBackward("ls1.gamma", attnKeep == null ? dX1 : Ops.scaleExamples(dX1, attnKeep, tokenMajor), attnUngated);
        INDArray dH1;
        if (tokenMajor) { // attention's input and output transposed
            INDArray dAttnOutT = Ops.linearBackwardInputTransposed(dAttn, attnOut, p.get("attn.proj.weight"),
                    g.get("attn.proj.weight"), g.get("attn.proj.bias"));
            dH1 = Ops.linearBackwardOutputTransposed(attentionBackwardOnHost(dAttnOutT), h1, p.get("attn.qkv.weight"),
                    g.get("attn.qkv.weight"));
        } else {
            INDArray dAttnOut = Ops.linearBackward(dAttn, attnOut, p.get("attn.proj.weight"), g.get("attn.proj.weight"),
                    g.get("attn.proj.bias"));
            dH1 = Ops.linearBackward(attentionBackwardAsNd4jOps(dAttnOut), h1, p.get("attn.qkv.weight"),
                    g.get("attn.qkv.weight"), g.get("attn.qkv.bias"));
        }
        if (adapters) {
            dH1.addi(adapterBackward("attn", dAttn, h1, attnAdapterHidden));
        }
        return n1.backward(dH1, p.get("norm1.weight"), g.get("norm1.weight"), g.get("norm1.bias"), dX1);
    }

    /** Drops the forward state (the arrays live in a workspace that is about to be reused). */
    void clear() {
        n1 = null;
        hostAttention = null;
        h1 = qkv = qkvHeads = attnProbs = attnOut = h2 = fc1Out = cdf = fc1Pre = geluOut = null;
        n2 = null;
        attnAdapterHidden = mlpAdapterHidden = null;
        attnKeep = mlpKeep = null;
        attnUngated = mlpUngated = null;
    }

    /** Adds dL/dγ = Σ_rows dOut ⊙ ungated; returns the gradient of the ungated branch, dOut ⊙ γ (dOut itself without gates). */
    private INDArray gateBackward(String gamma, INDArray dOut, INDArray ungated) {
        if (!gates) return dOut;
        INDArray dGamma = g.get(gamma);
        if (dGamma != null) {
            dGamma.addi(dOut.mul(ungated).sum(0));
        }
        return dOut.mulRowVector(p.get(gamma));
    }

    /**
     * Attention of token-major {@link #h1} by {@link HostAttention}, over the transposed qkv projection (its bias added
     * by the kernel); returns the context transposed, {@code [dim, rows]}. Keeps the probabilities in training.
     */
    private INDArray attentionOnHost(boolean training) {
        int heads = shape.numHeads();
        long n = batch * tokens;
        qkv = HostBlas.times(p.get("attn.qkv.weight"), h1, false, true);
        hostAttention = new HostAttention(tokens, heads, shape.headDim(), scale());
        float[] probs = training ? HostFloats.scratch(1, batch * heads * tokens * tokens) : null;
        float[] ctx = HostFloats.scratch(2, n * shape.embedDim());
        hostAttention.forward(HostFloats.read(qkv, 0), qkvBias(), Math.toIntExact(batch), probs, ctx);
        attnProbs = training ? HostFloats.write(probs, batch * heads, tokens, tokens) : null;
        return HostFloats.write(ctx, shape.embedDim(), n);
    }

    /** Attention of {@link #qkv} as ND4J operations, timm's way: per-head copies, batched products, softmax. */
    private INDArray attentionAsNd4jOps() {
        int heads = shape.numHeads();
        int hd = shape.headDim();
        qkv = HostBlas.times(h1, p.get("attn.qkv.weight"), false, true);
        INDArray bias = p.get("attn.qkv.bias");
        if (bias != null) qkv.addiRowVector(bias);
        // timm: reshape(B, N, 3, heads, hd).permute(2, 0, 3, 1, 4): q, k, v each [B * heads, N, hd]
        qkvHeads = qkv.reshape('c', batch, tokens, 3, heads, hd).permute(2, 0, 3, 1, 4).dup('c')
                .reshape('c', 3, batch * heads, tokens, hd);
        INDArray q = qkvHeads.slice(0);
        INDArray k = qkvHeads.slice(1);
        INDArray v = qkvHeads.slice(2);
        attnProbs = Ops.softmaxLastAxis(Ops.bmm(q, k, false, true).muli(scale()));
        INDArray ctx = Ops.bmm(attnProbs, v, false, false);
        // heads merge back as (heads, hd): transpose(1, 2).reshape(B, N, C)
        return ctx.reshape('c', batch, heads, tokens, hd).permute(0, 2, 1, 3).dup('c').reshape('c', batch * tokens, shape.embedDim());
    }

    /**
     * dL/dqkv transposed, {@code [3 * dim, rows]}, given dL/dctx transposed; adds the qkv bias's gradient, each row's
     * sum, summed here (ND4J's sum along that axis took 3.5% of the micro model's training step).
     */
    private INDArray attentionBackwardOnHost(INDArray dAttnOutT) {
        int n = Math.toIntExact(batch * tokens);
        int features = 3 * shape.embedDim();
        float[] out = HostFloats.scratch(3, (long) features * n);
        hostAttention.backward(HostFloats.read(qkv, 0), qkvBias(), HostFloats.read(attnProbs, 1),
                HostFloats.read(dAttnOutT, 2), Math.toIntExact(batch), out);
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

    private INDArray attentionBackwardAsNd4jOps(INDArray dAttnOut) {
        int heads = shape.numHeads();
        int hd = shape.headDim();
        INDArray dCtx = dAttnOut.reshape('c', batch, tokens, heads, hd).permute(0, 2, 1, 3).dup('c')
                .reshape('c', batch * heads, tokens, hd);
        INDArray q = qkvHeads.slice(0);
        INDArray k = qkvHeads.slice(1);
        INDArray v = qkvHeads.slice(2);
        INDArray dQkvHeads = Nd4j.createUninitialized(dAttnOut.dataType(), 3, batch * heads, tokens, hd);
        Ops.bmmInto(attnProbs, dCtx, dQkvHeads.slice(2), true, false);
        INDArray dScores = Ops.softmaxBackward(Ops.bmm(dCtx, v, false, true), attnProbs).muli(scale());
        Ops.bmmInto(dScores, k, dQkvHeads.slice(0), false, false);
        Ops.bmmInto(dScores, q, dQkvHeads.slice(1), true, false);
        return dQkvHeads.reshape('c', 3, batch, heads, tokens, hd).permute(1, 3, 0, 2, 4).dup('c')
                .reshape('c', batch * tokens, 3L * shape.embedDim());
    }

    /** The qkv projection's bias as floats, or null where the model has none (timm's {@code qkv_bias=False}). */
    private float[] qkvBias() {
        INDArray b = p.get("attn.qkv.bias");
        return HostFloats.copy(b);
    }

    private double scale() {
        return 1.0 / Math.sqrt(shape.headDim());
    }

    private INDArray adapterHidden(String branch, INDArray h) {
        String a = "adapter." + branch;
        INDArray pre = HostBlas.times(h, p.get(a + ".down.weight"), false, true);
        INDArray bias = p.get(a + ".down.bias");
        if (HostFloats.applies(pre)) return HostRelu.apply(pre, bias);
        return Transforms.relu(bias == null ? pre : pre.addiRowVector(bias), false);
    }

    /** Adds the adapter's gradients; returns its contribution to dL/dh. */
    private INDArray adapterBackward(String branch, INDArray dOut, INDArray h, INDArray hidden) {
        String a = "adapter." + branch;
        INDArray dScaled = dOut.mul(adapterScale);
        INDArray dHidden = Ops.linearBackward(dScaled, hidden, p.get(a + ".up.weight"), g.get(a + ".up.weight"), g.get(a + ".up.bias"));
        // relu'(z) = [z > 0] = [relu(z) > 0]
        dHidden.muli(Transforms.step(hidden, true));
        return Ops.linearBackward(dHidden, h, p.get(a + ".down.weight"), g.get(a + ".down.weight"), g.get(a + ".down.bias"));
    }
}
