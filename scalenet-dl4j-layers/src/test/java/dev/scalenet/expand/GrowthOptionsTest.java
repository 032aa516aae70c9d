package dev.scalenet.expand;

import dev.scalenet.InvalidSettingException;
import dev.scalenet.RawBits;
import dev.scalenet.data.DataConfig;
import dev.scalenet.vit.TimmFixtures;
import dev.scalenet.vit.Features;
import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitModel;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The growth options beyond the paper's default: a function-preserving start (zero LayerScale gates on inserted
 * blocks), adapters on every position, and untied growth (inserted blocks copy instead of share).
 */
class GrowthOptionsTest {
    private static final TimmFixtures.Model MICRO = TimmFixtures.models().stream()
            .filter(m -> m.name.equals("vit-micro-p7-d4")).findFirst().orElseThrow();
    private static final String QKV = "attn.qkv.weight";
    /** 32 channels of the micro fixture, adapters of rank 4 on two branches. */
    private static final long ADAPTERS_PER_POSITION = 2L * (32 * 4 + 4 + 4 * 32 + 32);

    private static ComputationGraph base() throws Exception {
        return VitModel.load(MICRO.weights(), MICRO.constructorJson()).graph();
    }

    private static DataSet batch(int n) {
        Nd4j.getRandom().setSeed(11);
        INDArray x = Nd4j.randn(DataType.FLOAT, n, 1, 28, 28);
        INDArray y = Nd4j.zeros(DataType.FLOAT, n, 10);
        for (int i = 0; i < n; i++) y.putScalar(i, (i * 3) % 10, 1f);
        return new DataSet(x, y);
    }

    private static double maxAbsDiff(INDArray a, INDArray b) {
        return a.sub(b).amaxNumber().doubleValue();
    }

    @Test
    @DisplayName("function-preserving growth computes the base model's logits on the timm fixtures (max abs error 1e-6), for every strategy and adapter placement")
    void functionPreservingStartIsTheBaseModel() throws Exception {
        ComputationGraph base = base();
        INDArray inputs = MICRO.inputs();
        INDArray baseLogits = Features.logits(base, inputs);
        // the base itself reproduces timm (TimmParityTest checks 1e-4); the grown model must add no error of its own
        assertTrue(maxAbsDiff(MICRO.logits(), baseLogits) < 1e-4);
        List<ExpansionPlan> plans = List.of(
                ExpansionPlan.cyclic(8).withFunctionPreserving(true),
                ExpansionPlan.interleave(8).withFunctionPreserving(true),
                ExpansionPlan.cyclic(8).withFunctionPreserving(true).withAdapterPositions(ExpansionPlan.AdapterPositions.ALL),
                ExpansionPlan.cyclic(8).withFunctionPreserving(true).withUntiedNorms(true).withAdapterRank(0),
                ExpansionPlan.cyclic(8).withFunctionPreserving(true).withUntiedBlocks(true));
        for (ExpansionPlan plan : plans) {
            INDArray grown = Features.logits(ScaleNet.expand(base, plan).graph(), inputs);
            assertTrue(maxAbsDiff(baseLogits, grown) <= 1e-6, plan + ": max abs error " + maxAbsDiff(baseLogits, grown));
        }
        // the paper's start (live copies) is a different function: it re-applies the source blocks
        INDArray copies = Features.logits(ScaleNet.expand(base, ExpansionPlan.cyclic(8)).graph(), inputs);
        assertTrue(maxAbsDiff(MICRO.expandedLogits("cyclic-8"), copies) < 1e-4);
        assertTrue(maxAbsDiff(baseLogits, copies) > 1e-2, "copies should change the function");
    }

    @Test
    @DisplayName("the gates start at zero, get a gradient, and open in training; each inserted block has two, named as timm's LayerScale")
    void gatesLearn() throws Exception {
        ExpandedModel e = ScaleNet.expand(base(), ExpansionPlan.cyclic(8).withFunctionPreserving(true).withAdapterRank(4));
        assertEquals(4L * 2 * 32 + 4 * ADAPTERS_PER_POSITION, e.adjustmentParams());
        ComputationGraph g = e.graph();
        INDArray gate = g.getLayer(VisionTransformer.BLOCKS).getParam("use5.ls2.gamma");
        assertEquals(0.0, gate.amaxNumber().doubleValue());
        assertEquals(null, g.getLayer(VisionTransformer.BLOCKS).paramTable().get("use1.ls1.gamma"), "original blocks are not gated");
        g.fit(batch(8));
        assertTrue(gate.amaxNumber().doubleValue() > 0, "a training step must open the gate");
        assertTrue(dev.scalenet.vit.TimmCheckpoint.tensors(g).containsKey("blocks.5.ls2.gamma"), "exported under timm's LayerScale name");
    }

    @Test
    @DisplayName("adapters on every position: each of the 8 positions gets two, starting as no-ops")
    void adaptersOnEveryPosition() throws Exception {
        ComputationGraph base = base();
        ExpandedModel all = ScaleNet.expand(base, ExpansionPlan.cyclic(8).withAdapterRank(4)
                .withAdapterPositions(ExpansionPlan.AdapterPositions.ALL));
        assertEquals(8 * ADAPTERS_PER_POSITION, all.adjustmentParams());
        assertTrue(all.graph().getLayer(VisionTransformer.BLOCKS).paramTable().containsKey("use0.adapter.attn.down.weight"));
        // zero up-projections: the same function as the paper's start
        INDArray paper = Features.logits(ScaleNet.expand(base, ExpansionPlan.cyclic(8).withAdapterRank(4)).graph(), MICRO.inputs());
        assertEquals(paper, Features.logits(all.graph(), MICRO.inputs()));
        assertEquals(ExpansionPlan.AdapterPositions.ALL, ExpansionPlan.AdapterPositions.parse("All"));
        InvalidSettingException bad = assertThrows(InvalidSettingException.class, () -> ExpansionPlan.AdapterPositions.parse("some"));
        assertEquals("adapterPositions = some: expected inserted or all", bad.getMessage());
    }

    @Test
    @DisplayName("untied growth copies instead of sharing: same start as shared growth, one more block's tensors per inserted block, independent updates")
    void untiedGrowthCopies() throws Exception {
        ComputationGraph base = base();
        ComputationGraph shared = ScaleNet.expand(base, ExpansionPlan.cyclic(8).withAdapterRank(0)).graph();
        ExpandedModel untied = ScaleNet.expand(base, ExpansionPlan.cyclic(8).withAdapterRank(0).withUntiedBlocks(true));
        ComputationGraph g = untied.graph();
        long blockParams = VisionTransformer.blocksOf(base).blockShape().blockTensors().values().stream()
                .mapToLong(s -> java.util.Arrays.stream(s).reduce(1, (a, b) -> a * b)).sum();
        assertEquals(4 * blockParams, untied.adjustmentParams());
        assertEquals(Features.logits(shared, MICRO.inputs()), Features.logits(g, MICRO.inputs()));
        assertArrayEquals(new int[] {4, 5, 6, 7}, VisionTransformer.blocksOf(g).getInsertedPositions());

        var blocks = g.getLayer(VisionTransformer.BLOCKS);
        assertEquals(blocks.getParam("src0." + QKV), blocks.getParam("src4." + QKV), "position 4 starts as a copy of block 0");
        g.fit(batch(8));
        assertFalse(blocks.getParam("src0." + QKV).equals(blocks.getParam("src4." + QKV)), "copies train apart");
        // untied growth keeps its own marker: it is already grown
        assertThrows(IllegalArgumentException.class, () -> ScaleNet.expand(g, ExpansionPlan.cyclic(16)));
    }

    @Test
    @DisplayName("save and load keep gates, adapter placement and the inserted positions, in DL4J's zip and in timm's form")
    void saveAndLoadKeepEverything(@TempDir Path dir) throws Exception {
        ExpansionPlan plan = ExpansionPlan.cyclic(8).withFunctionPreserving(true).withUntiedBlocks(true).withAdapterRank(2)
                .withAdapterPositions(ExpansionPlan.AdapterPositions.ALL);
        ComputationGraph g = ScaleNet.expand(base(), plan).graph();
        g.fit(batch(8)); // gates and adapters move off zero, so the round trip has something to lose
        VitModel model = new VitModel(g, DataConfig.fashionMnist(), null);
        INDArray expected = Features.logits(g, MICRO.inputs());

        model.save(dir.resolve("m.zip"));
        VitModel zip = VitModel.load(dir.resolve("m.zip"), null);
        assertArrayEquals(RawBits.of(expected), RawBits.of(Features.logits(zip.graph(), MICRO.inputs())));

        model.exportTimm(dir.resolve("m.safetensors"));
        VitModel timm = VitModel.load(dir.resolve("m.safetensors"), null);
        assertArrayEquals(RawBits.of(expected), RawBits.of(Features.logits(timm.graph(), MICRO.inputs())));
        var blocks = VisionTransformer.blocksOf(timm.graph());
        assertTrue(blocks.isGates() && blocks.isAdaptersEverywhere());
        assertArrayEquals(new int[] {4, 5, 6, 7}, blocks.getInsertedPositions());
        assertEquals(g.numParams(), timm.graph().numParams());
    }

    @Test
    @DisplayName("the plan's description names every option, so a changed option changes the configuration hash")
    void descriptionNamesOptions() {
        assertEquals("cyclic-2x, adapter rank 8 on every position, function-preserving, untied blocks, untied norms",
                ExpansionPlan.cyclic(ExpansionPlan.DOUBLE_DEPTH).withAdapterPositions(ExpansionPlan.AdapterPositions.ALL)
                        .withFunctionPreserving(true).withUntiedBlocks(true).withUntiedNorms(true).toString());
    }
}
