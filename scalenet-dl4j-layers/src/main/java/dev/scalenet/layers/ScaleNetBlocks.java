package dev.scalenet.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A stack of pre-norm transformer blocks in which blocks may be used more than once: ScaleNet's
 * layer-wise weight sharing. {@code numSourceBlocks} blocks own parameters ({@code src<k>.<timm name>});
 * {@code order} lists, for each position of the deep stack, the source block that runs there.
 *
 * <p>A position whose source already ran earlier in {@code order} is an <em>inserted block</em>: it shares
 * every tensor of its source (one copy in the parameter array; its gradient is the sum over all uses)
 * and adds its own adjustment parameters ({@code use<j>.*}): two parallel bottleneck adapters of rank
 * {@code adapterRank} (up-projections start at zero, so an inserted block starts as an exact copy),
 * with {@code untiedNorms} its own LayerNorms, and with {@code gates} timm's LayerScale vectors
 * {@code ls1.gamma}/{@code ls2.gamma} on its two branches, initialised at zero so the inserted block starts
 * as the identity (the grown model then computes exactly the base model's function).
 * With {@code adaptersEverywhere} every position, not only the inserted ones, gets adapters.
 *
 * <p>Which positions are inserted follows from {@code order} (a source's second and later uses), unless
 * {@code insertedPositions} lists them: untied growth gives every position its own source block (copies)
 * and still marks the copies as inserted, so they get the same adjustments.
 *
 * <p>Sharing lives inside one layer because a DL4J graph gives each vertex its own parameter slice:
 * two vertices cannot alias a tensor. Input and output are {@code [batch, tokens, embedDim]}.
 */
public class ScaleNetBlocks extends VitLayerConf {
    private int embedDim;
    private int numHeads;
    private int mlpHiddenDim;
    private boolean qkvBias = true;
    private int numSourceBlocks;
    private int[] order;
    private int adapterRank;
    private double adapterScale = 1.0;
    private boolean untiedNorms;
    private boolean gates;
    private boolean adaptersEverywhere;
    private int[] insertedPositions;
    private double dropPathRate;
    private boolean recompute;

    /** For DL4J's JSON deserialisation. */
    public ScaleNetBlocks() {}

    protected ScaleNetBlocks(Builder b) {
        super(b);
        this.embedDim = b.embedDim;
        this.numHeads = b.numHeads;
        this.mlpHiddenDim = b.mlpHiddenDim > 0 ? b.mlpHiddenDim : 4 * b.embedDim;
        this.qkvBias = b.qkvBias;
        this.numSourceBlocks = b.numSourceBlocks;
        this.order = b.order != null ? b.order.clone() : identityOrder(b.numSourceBlocks);
        this.adapterRank = b.adapterRank;
        this.adapterScale = b.adapterScale;
        this.untiedNorms = b.untiedNorms;
        this.gates = b.gates;
        this.adaptersEverywhere = b.adaptersEverywhere;
        this.insertedPositions = b.insertedPositions == null ? null : b.insertedPositions.clone();
        this.dropPathRate = b.dropPathRate;
        validate();
    }

    private static int[] identityOrder(int n) {
        int[] o = new int[n];
        for (int i = 0; i < n; i++) o[i] = i;
        return o;
    }

    /** Positions in one stack at most: far past any ViT grown here, and it bounds what an order costs to check. */
    public static final int MAX_DEPTH = 4096;

    /**
     * The largest adapter scale |s| accepted: adapters are scaled by about 0.1 to 1 in practice (AdaptFormer's 0.1,
     * ScaleNet's 1), and a thousand times more still leaves fp32 activations far from overflow.
     */
    public static final double MAX_ADAPTER_SCALE = 1000;

    @Override
    public void validate() {
        require(embedDim > 0, "embedDim", embedDim, "positive");
        require(numHeads > 0 && embedDim % numHeads == 0, "numHeads", numHeads, "a positive divisor of embedDim " + embedDim);
        require(mlpHiddenDim > 0, "mlpHiddenDim", mlpHiddenDim, "positive");
        require(numSourceBlocks >= 1, "numSourceBlocks", numSourceBlocks, "at least 1");
        require(order != null && order.length >= 1 && order.length <= MAX_DEPTH, "order",
                order == null ? null : dev.scalenet.Capped.list(order), "1 to " + MAX_DEPTH + " source block indices");
        boolean[] used = new boolean[Math.min(numSourceBlocks, MAX_DEPTH)];
        for (int j = 0; j < order.length; j++) {
            require(order[j] >= 0 && order[j] < numSourceBlocks, "order[" + j + "]", order[j],
                    "a source block index 0.." + (numSourceBlocks - 1));
            used[order[j]] = true;
        }
        for (int k = 0; k < numSourceBlocks; k++) {
            // also bounds numSourceBlocks by the order's length
            require(k < used.length && used[k], "order", dev.scalenet.Capped.list(order),
                    "every source block 0.." + (numSourceBlocks - 1) + " at least once (" + k + " is missing)");
        }
        require(adapterRank >= 0 && adapterRank <= embedDim, "adapterRank", adapterRank,
                "0 (no adapters) to embedDim " + embedDim + " (a bottleneck)");
        // the engines compute in fp32: a scale past this makes the residual stream overflow (1e308 is finite as a double,
        // infinite as the float the kernels multiply by), so a model that loads could give NaN logits
        require(Math.abs(adapterScale) <= MAX_ADAPTER_SCALE, "adapterScale", adapterScale,
                "a number from -" + (long) MAX_ADAPTER_SCALE + " to " + (long) MAX_ADAPTER_SCALE);
        if (insertedPositions != null) {
            require(insertedPositions.length <= order.length, "insertedPositions", dev.scalenet.Capped.list(insertedPositions),
                    "at most one entry per position (" + order.length + ")");
            for (int i = 0; i < insertedPositions.length; i++) {
                require(insertedPositions[i] >= 0 && insertedPositions[i] < order.length, "insertedPositions[" + i + "]",
                        insertedPositions[i], "a position 0.." + (order.length - 1) + " of the stack");
            }
        }
        require(dropPathRate >= 0 && dropPathRate < 1, "dropPathRate", dropPathRate, "in [0, 1)");
        requireTensorSizes();
    }

    /** Stochastic-depth rate at position {@code j}: timm's linear rule, 0 at the first block, the full rate at the last. */
    public double dropPathRate(int j) {
        return order.length == 1 ? dropPathRate : dropPathRate * j / (order.length - 1);
    }

    public BlockShape blockShape() {
        return new BlockShape(embedDim, numHeads, mlpHiddenDim, qkvBias);
    }

    /**
     * Whether position {@code j} is an inserted block: one of {@code insertedPositions} when they are given,
     * else a position whose source block already ran earlier in the order.
     */
    public boolean isInserted(int j) {
        if (insertedPositions != null) {
            for (int i : insertedPositions) {
                if (i == j) return true;
            }
            return false;
        }
        return isRepeat(order, j);
    }

    /** The positions of {@code order} whose source block already ran earlier in it: a shared stack's inserted blocks. */
    public static int[] repeatedPositions(int[] order) {
        return java.util.stream.IntStream.range(0, order.length).filter(j -> isRepeat(order, j)).toArray();
    }

    private static boolean isRepeat(int[] order, int j) {
        for (int i = 0; i < j; i++) {
            if (order[i] == order[j]) return true;
        }
        return false;
    }

    /**
     * The stack in one line, e.g. {@code 8 positions, order 0,1,2,3,0,1,2,3 over 4 shared source blocks (4 heads, MLP
     * 128); inserted 4-7: adapters rank 8, gates}.
     */
    public String describe() {
        int[] inserted = java.util.stream.IntStream.range(0, order.length).filter(this::isInserted).toArray();
        StringBuilder s = new StringBuilder().append(order.length).append(" positions, order ")
                .append(java.util.Arrays.stream(order).mapToObj(String::valueOf).collect(java.util.stream.Collectors.joining(",")))
                .append(" over ").append(numSourceBlocks).append(" shared source blocks (").append(numHeads).append(" heads, MLP ")
                .append(mlpHiddenDim).append(')');
        if (inserted.length > 0) {
            java.util.List<String> kinds = new java.util.ArrayList<>();
            if (adapterRank > 0) kinds.add("adapters rank " + adapterRank + (adaptersEverywhere ? " (every position)" : ""));
            if (gates) kinds.add("gates");
            if (untiedNorms) kinds.add("untied norms");
            s.append("; inserted ").append(java.util.Arrays.stream(inserted).mapToObj(String::valueOf)
                    .collect(java.util.stream.Collectors.joining(","))).append(kinds.isEmpty() ? ": pure sharing" : ": " + String.join(", ", kinds));
        } else if (adapterRank > 0 && adaptersEverywhere) {
            s.append("; adapters rank ").append(adapterRank).append(" on every position");
        }
        return s.toString();
    }

    /** Number of positions in the deep stack. */
    public int depth() {
        return order.length;
    }

    @Override
    public Map<String, long[]> paramShapes() {
        BlockShape shape = blockShape();
        Map<String, long[]> m = new LinkedHashMap<>();
        for (int k = 0; k < numSourceBlocks; k++) {
            for (Map.Entry<String, long[]> e : shape.blockTensors().entrySet()) {
                m.put(sourcePrefix(k) + e.getKey(), e.getValue());
            }
        }
        for (int j = 0; j < order.length; j++) {
            m.putAll(adjustmentShapes(j));
        }
        return m;
    }

    /**
     * The adjustment parameters of position {@code j}: for an inserted block its untied norms, gates and
     * adapters; for any other position adapters only with {@code adaptersEverywhere}.
     */
    public Map<String, long[]> adjustmentShapes(int j) {
        Map<String, long[]> m = new LinkedHashMap<>();
        boolean inserted = isInserted(j);
        BlockShape shape = blockShape();
        if (inserted && untiedNorms) {
            shape.normTensors().forEach((k, v) -> m.put(usePrefix(j) + k, v));
        }
        if (inserted && gates) {
            shape.gateTensors().forEach((k, v) -> m.put(usePrefix(j) + k, v));
        }
        if (adapterRank > 0 && (inserted || adaptersEverywhere)) {
            shape.adapterTensors(adapterRank).forEach((k, v) -> m.put(usePrefix(j) + k, v));
        }
        return m;
    }

    /** Whether position {@code j} runs with adapters. */
    public boolean hasAdapters(int j) {
        return adapterRank > 0 && (adaptersEverywhere || isInserted(j));
    }

    /** Whether position {@code j} runs with LayerScale gates. */
    public boolean hasGates(int j) {
        return gates && isInserted(j);
    }

    public static String sourcePrefix(int k) {
        return "src" + k + ".";
    }

    public static String usePrefix(int j) {
        return "use" + j + ".";
    }

    @Override
    public boolean isWeightParam(String name) {
        return BlockShape.isWeight(name.substring(name.indexOf('.') + 1));
    }

    @Override
    public void initParams(Map<String, INDArray> views) {
        initNormsAndLinears(views);
        for (Map.Entry<String, INDArray> e : views.entrySet()) {
            if (e.getKey().contains(".up.")) {
                e.getValue().assign(0.0); // an inserted block starts as an exact copy of its source
            } else if (e.getKey().endsWith(".gamma")) {
                e.getValue().assign(0.0); // a gated inserted block starts as the identity
            }
        }
    }

    /** The tensors position {@code j} runs with, by block-relative timm name. */
    Map<String, INDArray> viewsForPosition(Map<String, INDArray> all, int j) {
        Map<String, INDArray> m = new LinkedHashMap<>();
        String src = sourcePrefix(order[j]);
        for (String rel : blockShape().blockTensors().keySet()) {
            m.put(rel, all.get(src + rel));
        }
        for (String key : adjustmentShapes(j).keySet()) {
            m.put(key.substring(usePrefix(j).length()), all.get(key));
        }
        return m;
    }

    @Override
    ViewLayer<?> createLayer(NeuralNetConfiguration conf, DataType dataType) {
        return new ScaleNetBlocksLayer(conf, dataType);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        if (!(inputType instanceof InputType.InputTypeRecurrent)
                || ((InputType.InputTypeRecurrent) inputType).getSize() != embedDim) {
            throw wrongInput(layerName, inputType, "tokens [batch, tokens, " + embedDim + "]");
        }
        return InputType.recurrent(embedDim, ((InputType.InputTypeRecurrent) inputType).getTimeSeriesLength(), RNNFormat.NWC);
    }

    @Override
    public void setNIn(InputType inputType, boolean override) {
        getOutputType(-1, inputType);
    }

    public int getEmbedDim() { return embedDim; }
    public void setEmbedDim(int embedDim) { this.embedDim = embedDim; }
    public int getNumHeads() { return numHeads; }
    public void setNumHeads(int numHeads) { this.numHeads = numHeads; }
    public int getMlpHiddenDim() { return mlpHiddenDim; }
    public void setMlpHiddenDim(int mlpHiddenDim) { this.mlpHiddenDim = mlpHiddenDim; }
    public boolean isQkvBias() { return qkvBias; }
    public void setQkvBias(boolean qkvBias) { this.qkvBias = qkvBias; }
    public int getNumSourceBlocks() { return numSourceBlocks; }
    public void setNumSourceBlocks(int numSourceBlocks) { this.numSourceBlocks = numSourceBlocks; }
    public int[] getOrder() { return order.clone(); }
    public void setOrder(int[] order) { this.order = order.clone(); }
    public int getAdapterRank() { return adapterRank; }
    public void setAdapterRank(int adapterRank) { this.adapterRank = adapterRank; }
    public double getAdapterScale() { return adapterScale; }
    public void setAdapterScale(double adapterScale) { this.adapterScale = adapterScale; }
    public boolean isUntiedNorms() { return untiedNorms; }
    public void setUntiedNorms(boolean untiedNorms) { this.untiedNorms = untiedNorms; }
    public boolean isGates() { return gates; }
    public void setGates(boolean gates) { this.gates = gates; }
    public boolean isAdaptersEverywhere() { return adaptersEverywhere; }
    public void setAdaptersEverywhere(boolean adaptersEverywhere) { this.adaptersEverywhere = adaptersEverywhere; }
    /** The positions marked inserted, or null when they follow from {@code order}. */
    public int[] getInsertedPositions() { return insertedPositions == null ? null : insertedPositions.clone(); }
    public void setInsertedPositions(int[] positions) { this.insertedPositions = positions == null ? null : positions.clone(); }
    public double getDropPathRate() { return dropPathRate; }
    /**
     * Whether training keeps only each position's input in the forward pass and runs each block again in the backward
     * pass (activation recomputation): memory grows with depth by one input per position instead of one block's
     * activations, for one more forward pass of the stack; the gradients are the same bits.
     */
    public boolean isRecompute() { return recompute; }
    public void setRecompute(boolean recompute) { this.recompute = recompute; }
    public void setDropPathRate(double dropPathRate) { this.dropPathRate = dropPathRate; }

    @Override
    public ScaleNetBlocks clone() {
        ScaleNetBlocks c = (ScaleNetBlocks) super.clone();
        c.order = order.clone();
        c.insertedPositions = insertedPositions == null ? null : insertedPositions.clone();
        return c;
    }

    /** Builder in DL4J's style: {@code new ScaleNetBlocks.Builder().embedDim(192).numHeads(3)...build()}. */
    public static class Builder extends org.deeplearning4j.nn.conf.layers.BaseLayer.Builder<Builder> {
        private int embedDim;
        private int numHeads;
        private int mlpHiddenDim;
        private boolean qkvBias = true;
        private int numSourceBlocks = 1;
        private int[] order;
        private int adapterRank;
        private double adapterScale = 1.0;
        private boolean untiedNorms;
        private boolean gates;
        private boolean adaptersEverywhere;
        private int[] insertedPositions;
        private double dropPathRate;

        public Builder embedDim(int v) { embedDim = v; return this; }
        public Builder numHeads(int v) { numHeads = v; return this; }
        /** Hidden width of the MLP; default 4 × embedDim. */
        public Builder mlpHiddenDim(int v) { mlpHiddenDim = v; return this; }
        public Builder qkvBias(boolean v) { qkvBias = v; return this; }
        public Builder numSourceBlocks(int v) { numSourceBlocks = v; return this; }
        /** Source block index per position; default each source once, in order. */
        public Builder order(int... v) { order = v.clone(); return this; }
        /** Rank of the parallel adapters of inserted blocks; 0 for none. */
        public Builder adapterRank(int v) { adapterRank = v; return this; }
        /** Multiplier of the adapters' output. */
        public Builder adapterScale(double v) { adapterScale = v; return this; }
        /** Give inserted blocks their own LayerNorms instead of sharing the source's. */
        public Builder untiedNorms(boolean v) { untiedNorms = v; return this; }
        /** LayerScale gates, initialised at zero, on both branches of inserted blocks: a function-preserving start. */
        public Builder gates(boolean v) { gates = v; return this; }
        /** Adapters on every position, not only on inserted blocks. */
        public Builder adaptersEverywhere(boolean v) { adaptersEverywhere = v; return this; }
        /** The positions that are inserted blocks; default (null): a source's second and later uses in {@code order}. */
        public Builder insertedPositions(int... v) { insertedPositions = v == null ? null : v.clone(); return this; }
        /** Stochastic depth (timm's drop_path_rate): rising linearly from 0 at the first position to this at the last. */
        public Builder dropPathRate(double v) { dropPathRate = v; return this; }

        @Override
        @SuppressWarnings("unchecked")
        public ScaleNetBlocks build() {
            return new ScaleNetBlocks(this);
        }
    }
}
