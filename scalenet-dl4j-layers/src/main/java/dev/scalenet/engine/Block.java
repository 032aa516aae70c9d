package dev.scalenet.engine;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Map;

/**
 * One use of a pre-norm ViT block, as timm's {@code Block}, written once for both engines:
 * <pre>
 *   x = x + [γ1 ⊙] (attn(norm1(x)) [+ s · adapter_attn(norm1(x))])
 *   x = x + [γ2 ⊙] (mlp(norm2(x))  [+ s · adapter_mlp(norm2(x))])
 * </pre>
 * The bracketed parallel adapters ({@code up(relu(down(h)))}) are ScaleNet's adjustment parameters; the per-channel
 * gates γ (timm's LayerScale {@code ls1.gamma}, {@code ls2.gamma}) scale a whole branch, adapter included, so a gate at
 * zero makes the block the identity. In training, stochastic depth may drop each branch (with its adapter) per example,
 * as timm's {@code DropPath}. Parameters and gradients are views into a layer's flat arrays; an inserted block holds the
 * same views as its source block, so its gradients add to the source's.
 *
 * <p>This class is the block's structure, forward and backward; each engine writes the steps once
 * ({@link ReferenceBlock} as ND4J operations, {@link CpuBlock} as fp32 host kernels and direct BLAS). A new
 * adjustment goes here, with its steps in the two engines where it needs a new one.
 */
abstract class Block implements BlockPass {
    static final double LN_EPS = 1e-6;

    final BlockDims dims;
    final Map<String, INDArray> p;
    final boolean adapters;
    final boolean gates;
    final double adapterScale;
    /** The parameter gradients of the backward pass under way. */
    Map<String, INDArray> g;

    // forward state for backward
    long examples;
    long tokens;
    float[] attnKeep;
    float[] mlpKeep;
    private Normed n1;
    private INDArray h1;
    private Normed n2;
    private INDArray h2;
    private INDArray attnAdapterHidden;
    private INDArray mlpAdapterHidden;
    private INDArray attnUngated;
    private INDArray mlpUngated;

    /**
     * @param p views of this use's tensors by block-relative timm name (shared and own)
     * @param adapters whether {@code adapter.*} tensors are present and used
     * @param gates whether {@code ls1.gamma} and {@code ls2.gamma} are present and used
     */
    Block(BlockDims dims, Map<String, INDArray> p, boolean adapters, boolean gates, double adapterScale) {
        this.dims = dims;
        this.p = p;
        this.adapters = adapters;
        this.gates = gates;
        this.adapterScale = adapterScale;
    }

    @Override
    public final INDArray forward(INDArray x, long examples, float[] attnKeep, float[] mlpKeep) {
        return run(x, examples, attnKeep, mlpKeep, true);
    }

    @Override
    public final INDArray infer(INDArray x, long examples) {
        return run(x, examples, null, null, false);
    }

    private INDArray run(INDArray x, long examples, float[] attnKeep, float[] mlpKeep, boolean training) {
        this.examples = examples;
        this.tokens = x.size(0) / examples;
        this.attnKeep = attnKeep;
        this.mlpKeep = mlpKeep;

        n1 = layerNorm(x, p.get("norm1.weight"), p.get("norm1.bias"), training);
        h1 = n1.out;
        INDArray attn = attentionProjected(h1, training);
        attnAdapterHidden = adapters ? adapterHidden("attn", h1) : null;
        INDArray x1 = endBranch("attn", x, attn, attnAdapterHidden, attnKeep, training);

        n2 = layerNorm(x1, p.get("norm2.weight"), p.get("norm2.bias"), training);
        h2 = n2.out;
        INDArray mlpHidden = mlpHidden(h2, training);
        INDArray y = branchProduct(mlpHidden, p.get("mlp.fc2.weight"), 0);
        mlpAdapterHidden = adapters ? adapterHidden("mlp", h2) : null;
        return endBranch("mlp", x1, y, mlpAdapterHidden, mlpKeep, training);
    }

    @Override
    public final INDArray backward(INDArray dy, Map<String, INDArray> gradients) {
        if (n1 == null) {
            throw new IllegalStateException("backward() without a training forward pass");
        }
        this.g = gradients;

        // MLP branch: y = x1 + keep · γ2 · (fc2(gelu(fc1(h2))) [+ s · adapter(h2)])
        INDArray dMlp = gateBackward("ls2.gamma", mlpKeep == null ? dy : scaleExamples(dy, mlpKeep), mlpUngated);
        INDArray dHidden = linearBackward(dMlp, mlpHiddenAgain(), p.get("mlp.fc2.weight"), g.get("mlp.fc2.weight"), g.get("mlp.fc2.bias"));
        INDArray dH2 = mlpHiddenBackward(dHidden, h2);
        if (adapters) dH2.addi(adapterBackward("mlp", dMlp, h2, mlpAdapterHidden));
        INDArray dX1 = n2.backward(dH2, p.get("norm2.weight"), g.get("norm2.weight"), g.get("norm2.bias"), dy);

        // attention branch: x1 = x + keep · γ1 · (proj(attention(qkv(h1))) [+ s · adapter(h1)])
        INDArray dAttn = gateBackward("ls1.gamma", attnKeep == null ? dX1 : scaleExamples(dX1, attnKeep), attnUngated);
        INDArray dH1 = attentionProjectedBackward(dAttn, h1);
        if (adapters) dH1.addi(adapterBackward("attn", dAttn, h1, attnAdapterHidden));
        return n1.backward(dH1, p.get("norm1.weight"), g.get("norm1.weight"), g.get("norm1.bias"), dX1);
    }

    @Override
    public void clear() {
        n1 = n2 = null;
        h1 = h2 = null;
        attnAdapterHidden = mlpAdapterHidden = null;
        attnUngated = mlpUngated = null;
        attnKeep = mlpKeep = null;
    }

    /**
     * {@code x + keep ⊙ γ ⊙ ((y + b) + s · (u + b_u))}: the end of branch {@code attn} (proj, its adapter, ls1) or
     * {@code mlp} (fc2, its adapter, ls2), given {@code y}, the branch's last product without its bias, and the adapter's
     * hidden activations (null without adapters). In training with gates, keeps the branch before its gate for γ's
     * gradient ({@link #keepUngated}).
     */
    private INDArray endBranch(String branch, INDArray x, INDArray y, INDArray adapterHidden, float[] keep, boolean training) {
        boolean attn = branch.equals("attn");
        String up = "adapter." + branch + ".up";
        INDArray u = adapterHidden == null ? null : branchProduct(adapterHidden, p.get(up + ".weight"), 1);
        return residual(x, y, p.get(attn ? "attn.proj.bias" : "mlp.fc2.bias"), u, u == null ? null : p.get(up + ".bias"),
                gates ? p.get(attn ? "ls1.gamma" : "ls2.gamma") : null, keep, training && gates, attn);
    }

    /** Keeps a branch's value before its gate, for γ's gradient. */
    final void keepUngated(boolean attnBranch, INDArray ungated) {
        if (attnBranch) attnUngated = ungated;
        else mlpUngated = ungated;
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

    /** The adapter's hidden activations, {@code relu(down(h))}. */
    private INDArray adapterHidden(String branch, INDArray h) {
        String a = "adapter." + branch + ".down";
        return reluOfLinear(times(h, p.get(a + ".weight")), p.get(a + ".bias"));
    }

    /** Adds the adapter's gradients; returns its contribution to dL/dh. */
    private INDArray adapterBackward(String branch, INDArray dOut, INDArray h, INDArray hidden) {
        String a = "adapter." + branch;
        INDArray dHidden = linearBackward(dOut.mul(adapterScale), hidden, p.get(a + ".up.weight"), g.get(a + ".up.weight"),
                g.get(a + ".up.bias"));
        // relu'(z) = [z > 0] = [relu(z) > 0]
        dHidden.muli(Transforms.step(hidden, true));
        return linearBackward(dHidden, h, p.get(a + ".down.weight"), g.get(a + ".down.weight"), g.get(a + ".down.bias"));
    }

    double attentionScale() {
        return 1.0 / Math.sqrt(dims.headDim());
    }

    // ---- the steps, once per engine

    /** LayerNorm over the rows' features (biased variance, as torch), eps 1e-6. */
    abstract Normed layerNorm(INDArray x, INDArray gamma, INDArray beta, boolean training);

    /** {@code a · Wᵀ} for a torch-layout weight {@code [out, in]}, without bias. */
    abstract INDArray times(INDArray a, INDArray w);

    /**
     * {@link #times} for a product the branch's residual end reads once, at once ({@code slot} 0 for the branch, 1 for
     * its adapter): an engine may hand out memory that the next such product reuses, rather than the forward state's.
     */
    abstract INDArray branchProduct(INDArray a, INDArray w, int slot);

    /** Adds dW, db into the views (either may be null: frozen or absent) and returns dL/da, for {@code y = a·Wᵀ + b}. */
    abstract INDArray linearBackward(INDArray dy, INDArray a, INDArray w, INDArray dW, INDArray dB);

    /** {@code proj(attention(qkv(h)))} without proj's bias; keeps what its backward needs when training. */
    abstract INDArray attentionProjected(INDArray h, boolean training);

    /** Given dL/d(proj's output), adds the qkv and proj gradients and returns dL/dh. */
    abstract INDArray attentionProjectedBackward(INDArray dOut, INDArray h);

    /**
     * {@code gelu(fc1(h))}, which only fc2's product reads in the forward pass; keeps what its backward and
     * {@link #mlpHiddenAgain} need when training.
     */
    abstract INDArray mlpHidden(INDArray h, boolean training);

    /** In backward, the forward pass's {@code gelu(fc1(h))} again, for fc2's weight gradient: kept, or recomputed. */
    abstract INDArray mlpHiddenAgain();

    /** Given dL/d(gelu's output), adds fc1's gradients and returns dL/dh. */
    abstract INDArray mlpHiddenBackward(INDArray dHidden, INDArray h);

    /** {@code relu(pre + bias)}, bias possibly null. */
    abstract INDArray reluOfLinear(INDArray pre, INDArray bias);

    /**
     * {@code x + keep ⊙ γ ⊙ ((y + b) + s · (u + b_u))}, any of b, u (with b_u), γ and keep possibly null (absent); when
     * {@code keepUngated}, hands the branch before γ and keep to {@link #keepUngated}.
     */
    abstract INDArray residual(INDArray x, INDArray y, INDArray bias, INDArray u, INDArray uBias, INDArray gamma,
                               float[] keep, boolean keepUngated, boolean attnBranch);

    /**
     * Each example's rows times its multiplier (stochastic depth's keep mask), the rows example-major; an engine that
     * orders rows otherwise overrides this.
     */
    INDArray scaleExamples(INDArray rows, float[] perExample) {
        long batch = perExample.length;
        INDArray m = Nd4j.create(perExample, new long[] {batch, 1}, 'c').castTo(rows.dataType());
        return rows.reshape('c', batch, rows.length() / batch).mulColumnVector(m).reshape('c', rows.shape());
    }
}
