package dev.scalenet.engine;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Map;

/**
 * The seam between the ViT layers and their arithmetic. A layer asks {@link #forCall} once per call and runs every step
 * of that call on the engine it gets; there are two:
 * <ul>
 *   <li>the <b>reference</b>: ND4J operations, any backend (CUDA included), any precision; the gradient checks run it;</li>
 *   <li>the <b>CPU engine</b>: fp32 on the CPU backend, products by OpenBLAS called directly, every other step a Java
 *   kernel.</li>
 * </ul>
 * The rule, in one place: the CPU engine takes a call when it is switched on ({@link EngineSettings#cpuEngine}), the
 * backend is the CPU one with OpenBLAS's {@code cblas_sgemm} found ({@link HostBlas}), the activations are fp32 and a
 * batch shard's activations hold at most {@link EngineSettings#cpuEngineMaxElements} elements; the reference takes
 * every other call, whole. {@code EngineParityTest} compares the two on every shape the project meets.
 *
 * <p>This package may import ND4J, JavaCPP and SLF4J, never DL4J's layer classes or the rest of the project (besides
 * {@code dev.scalenet.InvalidSettingException}).
 */
public abstract class Engine {
    private static final Engine REFERENCE = new ReferenceEngine();
    private static final Engine CPU = new CpuEngine();

    Engine() {}

    /** The engine for a layer call over {@code activations}, whose batch shards hold {@code elementsPerShard} elements each. */
    public static Engine forCall(INDArray activations, long elementsPerShard) {
        return cpuTakes(activations.dataType(), elementsPerShard) ? CPU : REFERENCE;
    }

    /** The engine for a layer call over {@code activations}, unsharded. */
    public static Engine forCall(INDArray activations) {
        return forCall(activations, activations.length());
    }

    /** Whether the CPU engine takes a call over activations of {@code type}, {@code elementsPerShard} a shard. */
    static boolean cpuTakes(DataType type, long elementsPerShard) {
        EngineSettings s = EngineSettings.current();
        return s.cpuEngine() && s.directBlas() && type == DataType.FLOAT && elementsPerShard <= s.cpuEngineMaxElements()
                && HostBlas.found() && Nd4j.getEnvironment().isCPU();
    }

    /** The reference engine. */
    public static Engine reference() {
        return REFERENCE;
    }

    /** {@code reference} or {@code cpu}. */
    public abstract String name();

    @Override
    public String toString() {
        return name();
    }

    // ---- the transformer stack

    /**
     * A shard's example-major rows {@code [examples * tokens, dim]} in the order this engine's blocks take them for
     * sequences of {@code tokens}: {@code rows} itself, or a new array.
     */
    public abstract INDArray toStackOrder(INDArray rows, long examples, long tokens);

    /** Writes rows in this engine's stack order back example-major into {@code into} (c-order, or a range of rows). */
    public abstract void toExampleMajorInto(INDArray stackRows, long examples, long tokens, INDArray into);

    /** Rows in this engine's stack order, example-major: the array itself when already so. */
    public INDArray toExampleMajor(INDArray stackRows, long examples, long tokens) {
        INDArray out = Nd4j.createUninitialized(stackRows.dataType(), stackRows.shape());
        toExampleMajorInto(stackRows, examples, tokens, out);
        return out;
    }

    /**
     * One use of a block over sequences of {@code tokens}, on rows in this engine's stack order.
     *
     * @param params views of this use's tensors by block-relative timm name ({@code norm1.weight}, {@code attn.qkv.weight},
     *     {@code adapter.mlp.up.bias}, {@code ls1.gamma}, ...)
     */
    public abstract BlockPass block(BlockDims dims, Map<String, INDArray> params, boolean adapters, boolean gates,
                                    double adapterScale, long tokens);

    /**
     * Whether {@link #inferResident} takes a stack's inference over shards of {@code rowsPerShard} rows: the CPU engine's
     * one resident path, where a shard's rows stay in Java from the first block to the last.
     */
    public boolean infersResident(BlockDims dims, long tokens, long rowsPerShard) {
        return false;
    }

    /** Inference of example-major {@code [examples, tokens, dim]} through {@code blocks} (made by {@link #block}) into {@code into}. */
    public void inferResident(List<BlockPass> blocks, INDArray x, long examples, long tokens, INDArray into) {
        throw new UnsupportedOperationException(name() + " has no resident inference");
    }

    // ---- the other layers' steps

    /** LayerNorm over the last axis of {@code [rows, features]} (biased variance, as torch). */
    public abstract Normed layerNorm(INDArray x, INDArray gamma, INDArray beta, double eps, boolean training);

    /** Inference's LayerNorm of each example's first token of {@code [batch, tokens, dim]}: a new {@code [batch, dim]}. */
    public abstract INDArray firstTokenNormed(INDArray x, INDArray gamma, INDArray beta, double eps);

    /** Images {@code [batch, chans, size, size]} to one row per patch, {@code [batch * grid², chans * patch²]}, features in the conv weight's (chans, p, p) order. */
    public abstract INDArray patchRows(INDArray images, int chans, int grid, int patch);

    /** The inverse of {@link #patchRows}, for the gradient. */
    public abstract INDArray patchImages(INDArray rows, long batch, int chans, int grid, int patch);

    /** {@code a · Wᵀ} for a torch-layout weight {@code [out, in]}: a new array. */
    public abstract INDArray times(INDArray a, INDArray w);

    /** Adds dW, db of {@code y = x · Wᵀ + b} into the views (either may be null: frozen or absent) and returns dx. */
    public abstract INDArray linearBackward(INDArray dy, INDArray x, INDArray w, INDArray dW, INDArray dB);

    /**
     * Tokens {@code [batch, prefix + patches, dim]} from the projected patches without their bias ({@code [batch *
     * patches, dim]}): the class token first unless {@code cls} is null, the bias added to each patch token, the position
     * embedding ({@code [1, prefix + patches, dim]}) to every token. Written into {@code into} (c-order, or a range of
     * examples), or a new array when it is null; returns the one written.
     */
    public abstract INDArray tokens(INDArray projected, INDArray bias, INDArray cls, INDArray pos, long batch, INDArray into);

    /**
     * The gradient of {@link #tokens}: returns dL/dprojected {@code [batch * patches, dim]} and adds the sums of
     * {@code dTokens} into {@code dBias}, {@code dCls} and {@code dPos}, each unless null (frozen, or no class token).
     */
    public abstract INDArray tokensBackward(INDArray dTokens, int prefix, INDArray dBias, INDArray dCls, INDArray dPos);

    /**
     * Softmax cross-entropy per row of {@code logits [rows, classes]} against {@code labels} smoothed by {@code smoothing}
     * (each class gets ε/K, the label's 1 − ε + ε/K): when {@code scores}, {@code −Σ t·log softmax(z)} as {@code [rows,
     * 1]}, else the gradient {@code softmax(z)·Σt − t}; each times the row's {@code mask} entry (null: none).
     */
    public abstract INDArray crossEntropy(INDArray labels, double smoothing, INDArray logits, INDArray mask, boolean scores);
}
