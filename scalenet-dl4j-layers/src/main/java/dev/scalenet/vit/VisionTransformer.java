package dev.scalenet.vit;

import dev.scalenet.layers.GlobalPool;
import dev.scalenet.layers.PatchEmbedding;
import dev.scalenet.layers.ScaleNetBlocks;
import dev.scalenet.layers.SoftmaxCrossEntropy;
import dev.scalenet.layers.VitPooling;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.zoo.ModelMetaData;
import org.deeplearning4j.zoo.PretrainedType;
import org.deeplearning4j.zoo.ZooModel;
import org.deeplearning4j.zoo.ZooType;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;

import dev.scalenet.Capped;
import dev.scalenet.io.SafeTensors;

import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * timm's {@code VisionTransformer} as a DL4J zoo model. {@link #init()} returns a ready
 * {@link ComputationGraph} of four vertices:
 * <pre>
 *   pixels [B, C, H, W] -> patchEmbed -> blocks -> pool -> head (class probabilities [B, classes])
 * </pre>
 * {@code blocks} is a {@link ScaleNetBlocks} stack: by default each of the {@code depth} blocks once;
 * with {@link Builder#order} some run again as ScaleNet's inserted, weight-sharing blocks. The head is a softmax
 * {@link OutputLayer}, as DL4J's classifiers are, so DL4J's {@code Evaluation}, {@code ROC} and early-stopping scoring
 * take {@code output()} as class probabilities; {@link SoftmaxCrossEntropy} trains it from the head's pre-activation,
 * which is timm's logits ({@link Features#logits(ComputationGraph, INDArray)}).
 *
 * <p>Pretrained weights, the DL4J zoo way: {@link #initPretrained(PretrainedType)} loads a model bundled in this
 * library's jar ({@link Pretrained}; nothing is downloaded) into this configuration's graph, when one was trained on
 * that type with exactly this architecture; {@link #pretrainedAvailable} says whether there is one. Other timm
 * checkpoints load through {@link VitModel#load} (a {@code .safetensors} with its JSON).
 */
public final class VisionTransformer extends ZooModel<VisionTransformer> {
    public static final String INPUT = "pixels";
    public static final String PATCH_EMBED = "patchEmbed";
    public static final String BLOCKS = "blocks";
    public static final String POOL = "pool";
    public static final String HEAD = "head";

    private VitConfig config;
    private final int[] order;
    private final int adapterRank;
    private final double adapterScale;
    private final boolean untiedNorms;
    private final boolean gates;
    private final boolean adaptersEverywhere;
    private final int[] insertedPositions;
    private final double dropPathRate;
    private final long seed;
    private final IUpdater updater;
    private final DataType dataType;
    private final double labelSmoothing;
    private final WorkspaceMode workspaceMode;

    private VisionTransformer(Builder b) {
        this.config = Objects.requireNonNull(b.config, "config");
        this.order = b.order;
        this.adapterRank = b.adapterRank;
        this.adapterScale = b.adapterScale;
        this.untiedNorms = b.untiedNorms;
        this.gates = b.gates;
        this.adaptersEverywhere = b.adaptersEverywhere;
        this.insertedPositions = b.insertedPositions;
        this.dropPathRate = b.dropPathRate;
        this.seed = b.seed;
        this.updater = b.updater;
        this.dataType = b.dataType;
        this.labelSmoothing = b.labelSmoothing;
        this.workspaceMode = b.workspaceMode;
    }

    public static Builder builder() {
        return new Builder();
    }

    public VitConfig config() {
        return config;
    }

    /** The graph configuration, for users who want to change it before building the network. */
    public ComputationGraphConfiguration conf() {
        VitConfig c = config;
        ScaleNetBlocks.Builder blocks = new ScaleNetBlocks.Builder()
                .embedDim(c.embedDim()).numHeads(c.numHeads()).mlpHiddenDim(c.mlpHiddenDim()).qkvBias(c.qkvBias())
                .numSourceBlocks(c.depth()).adapterRank(adapterRank).adapterScale(adapterScale).untiedNorms(untiedNorms)
                .gates(gates).adaptersEverywhere(adaptersEverywhere).dropPathRate(dropPathRate);
        if (order != null) blocks.order(order);
        if (insertedPositions != null) blocks.insertedPositions(insertedPositions);
        return new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(dataType)
                .updater(updater)
                .trainingWorkspaceMode(workspaceMode)
                .inferenceWorkspaceMode(workspaceMode)
                .graphBuilder()
                .addInputs(INPUT)
                .setInputTypes(InputType.convolutional(c.imgSize(), c.imgSize(), c.inChans()))
                .addLayer(PATCH_EMBED, new PatchEmbedding.Builder().imgSize(c.imgSize()).patchSize(c.patchSize())
                        .inChans(c.inChans()).embedDim(c.embedDim()).classToken(c.classToken()).build(), INPUT)
                .addLayer(BLOCKS, blocks.build(), PATCH_EMBED)
                .addLayer(POOL, new VitPooling.Builder().embedDim(c.embedDim()).numPrefixTokens(c.classToken() ? 1 : 0)
                        .globalPool(c.globalPool()).fcNorm(c.fcNorm()).build(), BLOCKS)
                .addLayer(HEAD, new OutputLayer.Builder().nIn(c.embedDim()).nOut(c.numClasses())
                        .activation(Activation.SOFTMAX).lossFunction(new SoftmaxCrossEntropy(labelSmoothing))
                        .weightInit(WeightInit.ZERO) // timm zero-initialises the classifier head
                        .build(), POOL)
                .setOutputs(HEAD)
                .build();
    }

    @Override
    @SuppressWarnings("unchecked")
    public ComputationGraph init() {
        ComputationGraph graph = new ComputationGraph(conf());
        graph.init();
        return graph;
    }

    /** The architecture of a graph built by this class, read back from its layer configurations. */
    public static VitConfig configOf(ComputationGraph graph) {
        return configOf(graph.getConfiguration());
    }

    /** The architecture a graph configuration of this class describes. */
    public static VitConfig configOf(ComputationGraphConfiguration conf) {
        PatchEmbedding pe = layer(conf, PATCH_EMBED, PatchEmbedding.class);
        ScaleNetBlocks blocks = layer(conf, BLOCKS, ScaleNetBlocks.class);
        VitPooling pool = layer(conf, POOL, VitPooling.class);
        OutputLayer head = layer(conf, HEAD, OutputLayer.class);
        return VitConfig.builder().imgSize(pe.getImgSize()).patchSize(pe.getPatchSize()).inChans(pe.getInChans())
                .numClasses((int) head.getNOut()).embedDim(blocks.getEmbedDim()).depth(blocks.getNumSourceBlocks())
                .numHeads(blocks.getNumHeads()).mlpRatio((double) blocks.getMlpHiddenDim() / blocks.getEmbedDim())
                .qkvBias(blocks.isQkvBias()).classToken(pe.isClassToken()).globalPool(pool.getGlobalPool())
                .fcNorm(pool.isFcNorm()).build();
    }

    /**
     * A compact form of DL4J's {@code graph.summary()}: one row per vertex with its parameter count and what it is.
     * DL4J's own table lists every tensor of a layer, which for a grown block stack is one row of thousands of
     * characters; here the stack is one line (depth, order, source blocks, adjustments).
     */
    public static String summary(ComputationGraph graph) {
        VitConfig c = configOf(graph);
        ScaleNetBlocks blocks = blocksOf(graph);
        String[][] rows = {
                {PATCH_EMBED, "PatchEmbedding", c.patchSize() + "x" + c.patchSize() + " patches of " + c.inChans() + "x" + c.imgSize()
                        + "x" + c.imgSize() + " to width " + c.embedDim() + (c.classToken() ? ", class token" : "") + ", position embedding"},
                {BLOCKS, "ScaleNetBlocks", blocks.describe()},
                {POOL, "VitPooling", c.globalPool() + " pooling" + (c.fcNorm() ? ", fc_norm" : ", final norm")},
                {HEAD, "OutputLayer", c.embedDim() + " -> " + c.numClasses() + " classes, softmax"},
        };
        StringBuilder s = new StringBuilder(String.format(java.util.Locale.ROOT, "%-11s %-15s %12s  %s%n", "vertex", "layer", "parameters", "what"));
        for (String[] r : rows) {
            s.append(String.format(java.util.Locale.ROOT, "%-11s %-15s %,12d  %s%n", r[0], r[1], graph.getLayer(r[0]).numParams(), r[2]));
        }
        return s.append(String.format(java.util.Locale.ROOT, "%-11s %-15s %,12d%n", "total", "", graph.numParams())).toString();
    }

    /** The block stack of a graph built by this class. */
    public static ScaleNetBlocks blocksOf(ComputationGraph graph) {
        return layer(graph.getConfiguration(), BLOCKS, ScaleNetBlocks.class);
    }

    /** The layer configuration of vertex {@code name}, which must be a {@code type}. */
    static <T> T layer(ComputationGraphConfiguration conf, String name, Class<T> type) {
        GraphVertex v = conf.getVertices().get(name);
        Object layer = v instanceof LayerVertex && ((LayerVertex) v).getLayerConf() != null
                ? ((LayerVertex) v).getLayerConf().getLayer() : null;
        if (!type.isInstance(layer)) {
            throw new IllegalArgumentException("not a ScaleNet ViT graph: vertex '" + name + "' should be a "
                    + type.getSimpleName() + " layer, found " + (layer != null ? layer.getClass().getName() : v != null ? v.getClass().getSimpleName()
                    : "no such vertex") + " (vertices: " + Capped.list(new java.util.TreeSet<>(conf.getVertices().keySet())) + ")");
        }
        return type.cast(layer);
    }

    @Override
    public String pretrainedUrl(PretrainedType pretrainedType) {
        return null; // bundled weights are in the jar, nothing to download: see initPretrained
    }

    /** True when a bundled model was trained on {@code type} with this builder's architecture (plain stack, no adapters). */
    @Override
    public boolean pretrainedAvailable(PretrainedType type) {
        return bundled(type).isPresent();
    }

    /** {@link #initPretrained(PretrainedType)} with the type a bundled model of this architecture has (DL4J's default, IMAGENET, otherwise). */
    @Override
    public ComputationGraph initPretrained() throws IOException {
        PretrainedType type = Arrays.stream(PretrainedType.values()).filter(this::pretrainedAvailable).findFirst()
                .orElse(PretrainedType.IMAGENET);
        return initPretrained(type);
    }

    /**
     * This configuration's graph ({@link #init()}: its seed, updater, label smoothing, workspace mode) with the
     * weights of the bundled model trained on {@code type}.
     *
     * @throws UnsupportedOperationException if {@link #pretrainedAvailable} is false; the message lists the bundled
     *     models and their architectures
     */
    @Override
    @SuppressWarnings("unchecked")
    public <M extends Model> M initPretrained(PretrainedType type) throws IOException {
        Pretrained p = bundled(type).orElseThrow(() -> new UnsupportedOperationException("no bundled pretrained "
                + modelName() + " for " + type + " with " + config + (order != null || adapterRank != 0 ? ", order "
                + Capped.list(order) + ", adapter rank " + adapterRank : "") + "; bundled: "
                + Arrays.stream(Pretrained.values()).map(b -> b.id() + " (" + b.type() + ", " + b.config() + ")")
                        .collect(Collectors.joining("; "))
                + ". Build with config(Pretrained.<MODEL>.config()), or load a timm .safetensors with VitModel.load"));
        ComputationGraph graph = init();
        p.withExtracted(file -> {
            TimmCheckpoint.fill(graph, SafeTensors.read(file));
            return graph;
        });
        return (M) graph;
    }

    private Optional<Pretrained> bundled(PretrainedType type) {
        boolean plainStack = order == null && adapterRank == 0 && !untiedNorms; // the bundled weights have no adapters
        return plainStack ? Pretrained.find(type, config) : Optional.empty();
    }

    @Override
    public long pretrainedChecksum(PretrainedType pretrainedType) {
        return 0L;
    }

    @Override
    public Class<? extends Model> modelType() {
        return ComputationGraph.class;
    }

    @Override
    public ModelMetaData metaData() {
        return new ModelMetaData(new int[][] {{config.inChans(), config.imgSize(), config.imgSize()}}, 1, ZooType.CNN);
    }

    /** {@code {{channels, height, width}}}; height and width must be equal. */
    @Override
    public void setInputShape(int[][] inputShape) {
        int[] s = inputShape[0];
        if (s.length != 3 || s[1] != s[2]) {
            throw new IllegalArgumentException("input shape must be {channels, size, size}, was " + java.util.Arrays.toString(s));
        }
        config = config.toBuilder().inChans(s[0]).imgSize(s[1]).build();
    }

    @Override
    public String modelName() {
        return "vit-d" + config.embedDim() + "-L" + config.depth() + (order != null ? "-x" + order.length : "");
    }

    public static final class Builder {
        private VitConfig config = VitConfig.deitTinyPatch16();
        private int[] order;
        private int adapterRank;
        private double adapterScale = 1.0;
        private boolean untiedNorms;
        private boolean gates;
        private boolean adaptersEverywhere;
        private int[] insertedPositions;
        private double dropPathRate;
        private long seed = 42;
        private IUpdater updater = new Adam(1e-3);
        private DataType dataType = DataType.FLOAT;
        private double labelSmoothing;
        private WorkspaceMode workspaceMode = WorkspaceMode.ENABLED;

        private Builder() {}

        public Builder config(VitConfig v) { config = Objects.requireNonNull(v); return this; }
        /** Source block per position (length = deep depth); {@code null} for each block once. */
        public Builder order(int... v) { order = v == null ? null : v.clone(); return this; }
        public Builder adapterRank(int v) { adapterRank = v; return this; }
        public Builder adapterScale(double v) { adapterScale = v; return this; }
        public Builder untiedNorms(boolean v) { untiedNorms = v; return this; }
        /** Zero-initialised LayerScale gates on inserted blocks (see {@link ScaleNetBlocks}). */
        public Builder gates(boolean v) { gates = v; return this; }
        /** Adapters on every position, not only on inserted blocks. */
        public Builder adaptersEverywhere(boolean v) { adaptersEverywhere = v; return this; }
        /** Positions that are inserted blocks; null (default): a source's repeated uses in {@link #order}. */
        public Builder insertedPositions(int... v) { insertedPositions = v == null ? null : v.clone(); return this; }
        /** timm's {@code drop_path_rate}: stochastic depth, rising linearly over the positions of the stack. */
        public Builder dropPathRate(double v) { dropPathRate = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder updater(IUpdater v) { updater = Objects.requireNonNull(v); return this; }
        public Builder dataType(DataType v) { dataType = Objects.requireNonNull(v); return this; }
        public Builder labelSmoothing(double v) { labelSmoothing = v; return this; }
        public Builder workspaceMode(WorkspaceMode v) { workspaceMode = Objects.requireNonNull(v); return this; }

        public VisionTransformer build() {
            return new VisionTransformer(this);
        }
    }
}
