package dev.scalenet.engine;

import dev.scalenet.layers.GlobalPool;
import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU engine computes what the reference computes, forward and backward, on every shape the project meets: a whole
 * ViT (patchify, class token or average pooling, blocks, head, loss) at 17 tokens (the micro model), 197 (DeiT-Tiny's
 * 224 pixels at patch 16, width 192 and 3 heads), 785 (patch 8 on 224 pixels), average pooling without a class
 * token, and grown with adapters everywhere,
 * gates, untied norms, untied blocks and stochastic depth; unsharded and in batch shards; lane attention and GEMM
 * attention on the same shape.
 *
 * <p>Tolerance: 5e-5 of the largest magnitude compared. Both engines round in fp32 but sum in different orders (BLAS
 * blocks against row loops, four partial sums in LayerNorm, the attention scale applied inside the product), and
 * erf and exp differ by a few ulp; through a 785-token softmax that stays under 1e-5 relative. An indexing, layout
 * or missing-term bug moves results by their own order of magnitude.
 */
class EngineParityTest {
    private static final double TOLERANCE = 5e-5;

    /** A case: the model, its batch, and the settings both engines run under (shards, attention limit). */
    record Case(String name, Supplier<ComputationGraph> model, int batch, int imgSize, int chans, EngineSettings settings) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static EngineSettings settings(int shards, long laneMaxTokens) {
        return EngineSettings.defaults().toBuilder().shards(shards).shardsMinElements(1).laneAttentionMaxTokens(laneMaxTokens).build();
    }

    private static Supplier<ComputationGraph> vit(VitConfig config, Supplier<VisionTransformer.Builder> growth) {
        return () -> {
            ComputationGraph g = growth.get().config(config).seed(5).build().init();
            Nd4j.getRandom().setSeed(9);
            g.params().assign(Nd4j.randn(DataType.FLOAT, g.params().shape()).muli(0.3)); // gates and adapters away from zero
            return g;
        };
    }

    static Stream<Arguments> cases() {
        VitConfig micro = VitConfig.builder().imgSize(16).patchSize(4).inChans(3).numClasses(5).embedDim(16).depth(2).numHeads(2).build();
        VitConfig tiny = VitConfig.builder().imgSize(224).patchSize(16).inChans(3).numClasses(5).embedDim(192).depth(1).numHeads(3).build();
        VitConfig patch8 = VitConfig.builder().imgSize(224).patchSize(8).inChans(3).numClasses(5).embedDim(32).depth(1).numHeads(2).build();
        VitConfig averaged = VitConfig.builder().imgSize(16).patchSize(4).inChans(3).numClasses(5).embedDim(16).depth(2).numHeads(2)
                .classToken(false).globalPool(GlobalPool.AVG).build();
        Supplier<VisionTransformer.Builder> plain = VisionTransformer::builder;
        Supplier<VisionTransformer.Builder> grown = () -> VisionTransformer.builder().order(0, 1, 0, 1).adapterRank(3)
                .adaptersEverywhere(true).gates(true).untiedNorms(true).dropPathRate(0.4);
        VitConfig microFour = VitConfig.builder().imgSize(16).patchSize(4).inChans(3).numClasses(5).embedDim(16).depth(4).numHeads(2).build();
        Supplier<VisionTransformer.Builder> untied = () -> VisionTransformer.builder().order(0, 1, 2, 3).insertedPositions(2, 3)
                .adapterRank(2).gates(true);
        return Stream.of(
                new Case("micro, 17 tokens, unsharded", vit(micro, plain), 6, 16, 3, settings(1, 64)),
                new Case("micro, 17 tokens, 3 shards", vit(micro, plain), 6, 16, 3, settings(3, 64)),
                new Case("micro, 17 tokens, GEMM attention", vit(micro, plain), 6, 16, 3, settings(2, 1)),
                new Case("grown: adapters everywhere, gates, untied norms, drop path, 2 shards", vit(micro, grown), 6, 16, 3, settings(2, 64)),
                new Case("grown, GEMM attention, unsharded", vit(micro, grown), 6, 16, 3, settings(1, 1)),
                new Case("untied blocks with adapters and gates", vit(microFour, untied), 5, 16, 3, settings(2, 64)),
                new Case("DeiT-Tiny shapes, 197 tokens, 2 shards", vit(tiny, plain), 2, 224, 3, settings(2, 64)),
                new Case("DeiT-Tiny shapes, 197 tokens, unsharded", vit(tiny, plain), 2, 224, 3, settings(1, 64)),
                new Case("patch 8 on 224 pixels, 785 tokens", vit(patch8, plain), 2, 224, 3, settings(2, 64)),
                new Case("no class token, average pooling, GEMM attention", vit(averaged, grown), 4, 16, 3, settings(1, 1))
        ).map(Arguments::of);
    }

    /** Logits, loss and every parameter gradient of one training step, on the engine the settings give. */
    private static INDArray[] step(Case c, boolean cpu) {
        try (EngineSettings.Scope ignored = EngineSettings.use(c.settings().toBuilder().cpuEngine(cpu).build())) {
            ComputationGraph g = c.model().get();
            Nd4j.getRandom().setSeed(3);
            INDArray x = Nd4j.randn(DataType.FLOAT, c.batch(), c.chans(), c.imgSize(), c.imgSize());
            INDArray y = Nd4j.zeros(DataType.FLOAT, c.batch(), 5);
            for (int i = 0; i < c.batch(); i++) y.putScalar(i, i % 5, 1.0);
            INDArray out = g.outputSingle(x);
            g.getLayer("blocks").setIterationCount(3); // stochastic depth drops some branches at this iteration
            g.setInputs(x);
            g.setLabels(y);
            g.computeGradientAndScore();
            return new INDArray[] {out, Nd4j.scalar(DataType.DOUBLE, g.score()), g.getGradientsViewArray().dup()};
        }
    }

    private static void assertClose(INDArray expected, INDArray actual, String what) {
        double scale = expected.amaxNumber().doubleValue();
        assertTrue(scale > 1e-3, "a vacuous comparison: " + what + " is zero");
        double diff = expected.castTo(DataType.DOUBLE).sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        assertTrue(diff <= TOLERANCE * scale, what + " differs by " + diff + " (scale " + scale + ")");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    @DisplayName("the CPU engine gives the reference's logits, loss and parameter gradients (5e-5 relative)")
    void cpuEngineMatchesReference(Case c) {
        INDArray[] reference = step(c, false);
        INDArray[] cpu = step(c, true);
        assertClose(reference[0], cpu[0], "softmax outputs");
        assertEquals(reference[1].getDouble(0), cpu[1].getDouble(0), TOLERANCE * Math.abs(reference[1].getDouble(0)), "loss");
        assertClose(reference[2], cpu[2], "parameter gradients");
    }

    @Test
    @DisplayName("with the CPU engine, training is deterministic: the same gradients bit for bit, run after run")
    void cpuEngineIsDeterministic() {
        Case c = (Case) cases().skip(3).findFirst().orElseThrow().get()[0];
        assertArrayEquals(step(c, true)[2].data().asInt(), step(c, true)[2].data().asInt());
    }

    @Test
    @DisplayName("the rule: fp32 on the CPU backend goes to the CPU engine; fp64, a switched-off engine, or too large a shard to the reference")
    void theRule() {
        INDArray floats = Nd4j.zeros(DataType.FLOAT, 2, 2);
        assertEquals("cpu", Engine.forCall(floats).name(), "OpenBLAS's cblas_sgemm was not found: the CPU engine fell back");
        assertSame(Engine.reference(), Engine.forCall(Nd4j.zeros(DataType.DOUBLE, 2, 2)));
        EngineSettings s = EngineSettings.current();
        try (EngineSettings.Scope ignored = EngineSettings.use(s.toBuilder().cpuEngine(false).build())) {
            assertSame(Engine.reference(), Engine.forCall(floats));
        }
        try (EngineSettings.Scope ignored = EngineSettings.use(s.toBuilder().directBlas(false).build())) {
            assertSame(Engine.reference(), Engine.forCall(floats));
        }
        assertSame(Engine.reference(), Engine.forCall(floats, s.cpuEngineMaxElements() + 1));
        assertEquals("cpu", Engine.forCall(floats, s.cpuEngineMaxElements()).name());
    }
}
