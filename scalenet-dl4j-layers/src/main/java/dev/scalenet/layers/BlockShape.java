package dev.scalenet.layers;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The tensor shapes of one pre-norm transformer block and of its ScaleNet adapters, keyed by timm's
 * names relative to the block ({@code attn.qkv.weight}, ...). Linear weights are {@code [out, in]}.
 */
public final class BlockShape implements Serializable {
    private final int embedDim;
    private final int numHeads;
    private final int mlpHiddenDim;
    private final boolean qkvBias;

    public BlockShape(int embedDim, int numHeads, int mlpHiddenDim, boolean qkvBias) {
        if (embedDim <= 0 || numHeads <= 0 || embedDim % numHeads != 0) {
            throw new IllegalArgumentException("embedDim " + embedDim + " must be a positive multiple of numHeads " + numHeads);
        }
        if (mlpHiddenDim <= 0) {
            throw new IllegalArgumentException("mlpHiddenDim must be positive, was " + mlpHiddenDim);
        }
        this.embedDim = embedDim;
        this.numHeads = numHeads;
        this.mlpHiddenDim = mlpHiddenDim;
        this.qkvBias = qkvBias;
    }

    public int embedDim() { return embedDim; }
    public int numHeads() { return numHeads; }
    public int headDim() { return embedDim / numHeads; }
    public int mlpHiddenDim() { return mlpHiddenDim; }
    public boolean qkvBias() { return qkvBias; }

    /** The block's own tensors, in timm's order. */
    public Map<String, long[]> blockTensors() {
        Map<String, long[]> m = new LinkedHashMap<>();
        m.putAll(normTensors());
        m.put("attn.qkv.weight", new long[] {3L * embedDim, embedDim});
        if (qkvBias) {
            m.put("attn.qkv.bias", new long[] {3L * embedDim});
        }
        m.put("attn.proj.weight", new long[] {embedDim, embedDim});
        m.put("attn.proj.bias", new long[] {embedDim});
        // norm2 sits between attention and MLP in timm's state dict; the order only affects layout.
        m.put("mlp.fc1.weight", new long[] {mlpHiddenDim, embedDim});
        m.put("mlp.fc1.bias", new long[] {mlpHiddenDim});
        m.put("mlp.fc2.weight", new long[] {embedDim, mlpHiddenDim});
        m.put("mlp.fc2.bias", new long[] {embedDim});
        return m;
    }

    /** The two LayerNorms, which an inserted block may own instead of sharing. */
    public Map<String, long[]> normTensors() {
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("norm1.weight", new long[] {embedDim});
        m.put("norm1.bias", new long[] {embedDim});
        m.put("norm2.weight", new long[] {embedDim});
        m.put("norm2.bias", new long[] {embedDim});
        return m;
    }

    /** timm's LayerScale vectors, one per branch, as named in timm's {@code Block}. */
    public Map<String, long[]> gateTensors() {
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("ls1.gamma", new long[] {embedDim});
        m.put("ls2.gamma", new long[] {embedDim});
        return m;
    }

    /** One parallel bottleneck adapter per branch: down {@code [rank, dim]}, up {@code [dim, rank]}. */
    public Map<String, long[]> adapterTensors(int rank) {
        Map<String, long[]> m = new LinkedHashMap<>();
        for (String branch : new String[] {"attn", "mlp"}) {
            m.put("adapter." + branch + ".down.weight", new long[] {rank, embedDim});
            m.put("adapter." + branch + ".down.bias", new long[] {rank});
            m.put("adapter." + branch + ".up.weight", new long[] {embedDim, rank});
            m.put("adapter." + branch + ".up.bias", new long[] {embedDim});
        }
        return m;
    }

    /** Linear weights get weight decay; norms and biases do not. */
    static boolean isWeight(String relativeName) {
        return relativeName.endsWith(".weight") && !relativeName.startsWith("norm");
    }
}
