package dev.scalenet.layers;

import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every layer's hand-written backward pass agrees with central finite differences of its forward pass, in
 * double precision (DL4J's GradientCheckUtil: ε 1e-6, max relative error 1e-5, absolute errors below 1e-9
 * ignored), on up to 40 entries of every parameter tensor. All parameters are randomised first: at timm's
 * initialisation the zero head would make every other gradient zero and the check vacuous.
 */
class GradientCheckTest {
    private static final int BATCH = 3;
    private static final int TOKENS = 5;
    private static final int DIM = 8;
    private static final int CLASSES = 4;

    private static DataType previousDefault;
    private static DataType previousFloatingDefault;

    @BeforeAll
    static void doublePrecision() {
        previousDefault = Nd4j.dataType();
        previousFloatingDefault = Nd4j.defaultFloatingPointType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    /** Surefire runs every test class in one JVM: the float32 tests after this one must get float32 arrays again. */
    @AfterAll
    static void restorePrecision() {
        Nd4j.setDefaultDataTypes(previousDefault, previousFloatingDefault);
    }

    /** tokens -> stack -> average pooling -> logits; the stack is the layer under test. */
    private static ComputationGraph tokenGraph(ScaleNetBlocks stack) {
        return TokenGraph.of(new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.DOUBLE).updater(new NoOp())
                .trainingWorkspaceMode(WorkspaceMode.NONE).inferenceWorkspaceMode(WorkspaceMode.NONE), stack, TOKENS, CLASSES);
    }

    private static void randomise(ComputationGraph g) {
        Nd4j.getRandom().setSeed(7);
        g.params().assign(Nd4j.randn(DataType.DOUBLE, g.params().shape()).muli(0.5));
    }

    private static INDArray labels(int n) {
        INDArray y = Nd4j.zeros(DataType.DOUBLE, n, CLASSES);
        for (int i = 0; i < n; i++) y.putScalar(i, i % CLASSES, 1.0);
        return y;
    }

    private static void assertGradientsMatch(ComputationGraph g, INDArray input) {
        randomise(g);
        boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(g)
                .inputs(new INDArray[] {input}).labels(new INDArray[] {labels((int) input.size(0))})
                .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9).subset(true).maxPerParam(40));
        assertTrue(ok, "gradient check failed; see the log for the failing parameters");
    }

    private static INDArray tokens() {
        Nd4j.getRandom().setSeed(3);
        return Nd4j.randn(DataType.DOUBLE, BATCH, TOKENS, DIM);
    }

    private static ScaleNetBlocks.Builder stack() {
        return new ScaleNetBlocks.Builder().embedDim(DIM).numHeads(2).mlpHiddenDim(12);
    }

    @Test
    @DisplayName("a single transformer block (with pooling, fc_norm and the softmax cross-entropy head)")
    void transformerBlock() {
        assertGradientsMatch(tokenGraph(new TransformerBlock.Builder().embedDim(DIM).numHeads(2).mlpHiddenDim(12).build()), tokens());
    }

    @Test
    @DisplayName("a block without qkv bias")
    void blockWithoutQkvBias() {
        assertGradientsMatch(tokenGraph(new TransformerBlock.Builder().embedDim(DIM).numHeads(4).qkvBias(false).build()), tokens());
    }

    @Test
    @DisplayName("one shared block used twice: its gradient is the sum over both uses")
    void sharedBlockUsedTwice() {
        assertGradientsMatch(tokenGraph(stack().numSourceBlocks(1).order(0, 0).build()), tokens());
    }

    @Test
    @DisplayName("inserted blocks with parallel adapters")
    void adapters() {
        assertGradientsMatch(tokenGraph(stack().numSourceBlocks(2).order(0, 1, 0, 1).adapterRank(3).adapterScale(0.7).build()), tokens());
    }

    @Test
    @DisplayName("inserted blocks with adapters and untied LayerNorms, interleaved")
    void adaptersWithUntiedNorms() {
        assertGradientsMatch(tokenGraph(stack().numSourceBlocks(2).order(0, 0, 1, 1).adapterRank(2).untiedNorms(true).build()), tokens());
    }

    @Test
    @DisplayName("inserted blocks with LayerScale gates (function-preserving growth) and adapters")
    void gates() {
        assertGradientsMatch(tokenGraph(stack().numSourceBlocks(2).order(0, 1, 0, 1).adapterRank(2).gates(true).build()), tokens());
    }

    @Test
    @DisplayName("adapters on every position, the original blocks' too")
    void adaptersEverywhere() {
        assertGradientsMatch(tokenGraph(stack().numSourceBlocks(2).order(0, 1, 1).adapterRank(2).adaptersEverywhere(true).build()), tokens());
    }

    @Test
    @DisplayName("untied growth: own blocks everywhere, positions 2 and 3 marked inserted, with gates, adapters and untied norms")
    void untiedGrowth() {
        assertGradientsMatch(tokenGraph(stack().numSourceBlocks(4).order(0, 1, 2, 3).insertedPositions(2, 3).adapterRank(2)
                .gates(true).untiedNorms(true).build()), tokens());
    }

    @Test
    @DisplayName("stochastic depth: with the masks of one step fixed, dropped branches pass no gradient and kept ones are rescaled")
    void dropPath() {
        ComputationGraph g = tokenGraph(stack().numSourceBlocks(2).order(0, 1, 0, 1).adapterRank(2).dropPathRate(0.6).build());
        g.getLayer("blocks").setIterationCount(3); // the masks are a function of (seed, iteration)
        assertGradientsMatch(g, tokens());
    }

    @Test
    @DisplayName("a stack run in three batch shards (one example each), with adapters, gates and stochastic depth: the shards' gradient buffers add up")
    void batchShards() {
        ComputationGraph g = BatchShardsTest.withShards(3, () -> tokenGraph(stack().numSourceBlocks(2).order(0, 1, 0, 1)
                .adapterRank(2).gates(true).dropPathRate(0.6).build()));
        g.getLayer("blocks").setIterationCount(3);
        assertGradientsMatch(g, tokens());
    }

    private static ComputationGraph vit(VitConfig.Builder config, double labelSmoothing) {
        return VisionTransformer.builder()
                .config(config.imgSize(8).patchSize(4).inChans(2).numClasses(CLASSES).embedDim(DIM).depth(2).numHeads(2).build())
                .dataType(DataType.DOUBLE).updater(new NoOp()).workspaceMode(WorkspaceMode.NONE)
                .labelSmoothing(labelSmoothing).build().init();
    }

    private static INDArray images() {
        Nd4j.getRandom().setSeed(5);
        return Nd4j.randn(DataType.DOUBLE, BATCH, 2, 8, 8);
    }

    @Test
    @DisplayName("whole ViT: patch embedding, class token, token pooling, label smoothing")
    void vitWithClassToken() {
        assertGradientsMatch(vit(VitConfig.builder(), 0.1), images());
    }

    @Test
    @DisplayName("whole ViT: no class token, average pooling, fc_norm, no qkv bias, mlp_ratio 2")
    void vitWithAveragePooling() {
        assertGradientsMatch(vit(VitConfig.builder().classToken(false).globalPool(GlobalPool.AVG).qkvBias(false).mlpRatio(2.0), 0.0), images());
    }

    @Test
    @DisplayName("whole ViT: class token with average pooling and the norm before pooling (fc_norm off)")
    void vitWithNormBeforeAveragePooling() {
        assertGradientsMatch(vit(VitConfig.builder().globalPool(GlobalPool.AVG).fcNorm(false), 0.0), images());
    }
}
