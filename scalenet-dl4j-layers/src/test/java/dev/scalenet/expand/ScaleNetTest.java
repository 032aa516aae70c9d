package dev.scalenet.expand;

import dev.scalenet.RawBits;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.io.Checkpoint;
import dev.scalenet.io.Tensor;
import dev.scalenet.vit.TimmCheckpoint;
import dev.scalenet.vit.TimmFixtures;
import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.io.File;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ScaleNet expansion: real weight sharing, exact parameter accounting, and plans validated up front. */
class ScaleNetTest {
    private static final String QKV = "attn.qkv.weight";

    private static ComputationGraph microBase() throws Exception {
        TimmFixtures.Model m = TimmFixtures.models().stream().filter(x -> x.name.equals("vit-micro-p7-d4")).findFirst().orElseThrow();
        return TimmCheckpoint.load(m.weights(), m.constructorJson());
    }

    private static INDArray images(int n) {
        Nd4j.getRandom().setSeed(11);
        return Nd4j.randn(DataType.FLOAT, n, 1, 28, 28);
    }

    private static DataSet batch(int n) {
        INDArray y = Nd4j.zeros(DataType.FLOAT, n, 10);
        for (int i = 0; i < n; i++) y.putScalar(i, (i * 3) % 10, 1f);
        return new DataSet(images(n), y);
    }

    private static float[] timmTensor(ComputationGraph g, String name) {
        return TimmCheckpoint.tensors(g).get(name).values();
    }

    @Test
    @DisplayName("the expanded model has exactly base + adapter parameters; shared tensors are not copied")
    void parameterAccounting() throws Exception {
        ComputationGraph base = microBase();
        ExpandedModel e = ScaleNet.expand(base, ExpansionPlan.cyclic(8).withAdapterRank(4));
        // 4 inserted blocks x 2 adapters x (down 32x4 + 4, up 4x32 + 32)
        long adapters = 4L * 2 * (32 * 4 + 4 + 4 * 32 + 32);
        assertEquals(base.numParams(), e.baseParams());
        assertEquals(adapters, e.adjustmentParams());
        assertEquals(base.numParams() + adapters, e.graph().numParams());
        assertEquals(base.numParams(), ScaleNet.expand(base, ExpansionPlan.cyclic(8).withAdapterRank(0)).graph().numParams());
        long untiedNorms = 4L * 4 * 32;
        assertEquals(adapters + untiedNorms,
                ScaleNet.expand(base, ExpansionPlan.cyclic(8).withAdapterRank(4).withUntiedNorms(true)).adjustmentParams());
    }

    @Test
    @DisplayName("the gradient of a shared tensor is the sum of the gradients of its uses")
    void sharedGradientIsSumOverUses() throws Exception {
        ComputationGraph shared = ScaleNet.expand(microBase(), ExpansionPlan.order(0, 1, 2, 3, 0, 1).withAdapterRank(0)).graph();
        // the same function with untied copies: a plain 6-block model holding the exported tensors
        VitConfig deep = VisionTransformer.configOf(shared).withDepth(6);
        ComputationGraph copies = VisionTransformer.builder().config(deep).build().init();
        TimmCheckpoint.fill(copies, new Checkpoint(null, TimmCheckpoint.tensors(shared).values(), Map.of()));

        DataSet data = batch(4);
        shared.setInputs(data.getFeatures());
        shared.setLabels(data.getLabels());
        shared.computeGradientAndScore();
        copies.setInputs(data.getFeatures());
        copies.setLabels(data.getLabels());
        copies.computeGradientAndScore();
        assertEquals(copies.score(), shared.score(), 1e-6);

        INDArray sharedGrad = shared.gradient().getGradientFor("blocks_src1." + QKV);
        INDArray sumOfUses = copies.gradient().getGradientFor("blocks_src1." + QKV)
                .add(copies.gradient().getGradientFor("blocks_src5." + QKV));
        assertTrue(sumOfUses.norm2Number().doubleValue() > 0, "gradient must be non-trivial");
        assertTrue(sharedGrad.equalsWithEps(sumOfUses, 1e-5), "shared gradient != sum over uses");
        // a block used once keeps its own gradient
        assertTrue(shared.gradient().getGradientFor("blocks_src2." + QKV)
                .equalsWithEps(copies.gradient().getGradientFor("blocks_src2." + QKV), 1e-5));
    }

    @Test
    @DisplayName("changing a shared tensor changes every position that uses it; a training step keeps them equal")
    void updatingSharedTensorChangesEveryUse() throws Exception {
        ComputationGraph g = ScaleNet.expand(microBase(), ExpansionPlan.cyclic(8)).graph();
        INDArray fresh = Nd4j.rand(DataType.FLOAT, 96, 32);
        g.getLayer(VisionTransformer.BLOCKS).getParam("src0." + QKV).assign(fresh);
        assertArrayEquals(fresh.dup('c').data().asFloat(), timmTensor(g, "blocks.0." + QKV));
        assertArrayEquals(fresh.dup('c').data().asFloat(), timmTensor(g, "blocks.4." + QKV));

        float[] before = timmTensor(g, "blocks.4." + QKV);
        g.fit(batch(4));
        float[] pos0 = timmTensor(g, "blocks.0." + QKV);
        assertFalse(java.util.Arrays.equals(before, pos0), "the training step must update the shared tensor");
        assertArrayEquals(pos0, timmTensor(g, "blocks.4." + QKV));
        // Adam keeps two state values per parameter: one state for each shared tensor, not one per use
        assertEquals(2 * g.numParams(), g.getUpdater().getStateViewArray().length());
    }

    @Test
    @DisplayName("ModelSerializer save and load keeps the expanded model, its outputs and its sharing")
    void serializationKeepsSharing(@TempDir Path dir) throws Exception {
        ComputationGraph g = ScaleNet.expand(microBase(), ExpansionPlan.interleave(8).withUntiedNorms(true)).graph();
        g.fit(batch(4)); // adapters move off zero
        File zip = dir.resolve("expanded.zip").toFile();
        ModelSerializer.writeModel(g, zip, true);
        ComputationGraph restored = ModelSerializer.restoreComputationGraph(zip, true);

        assertEquals(g.numParams(), restored.numParams());
        assertEquals(g.paramTable().keySet(), restored.paramTable().keySet());
        assertArrayEquals(RawBits.of(g.params()), RawBits.of(restored.params()), "bit-identical parameters");
        assertArrayEquals(RawBits.of(g.outputSingle(images(3))), RawBits.of(restored.outputSingle(images(3))), "bit-identical logits");
        assertArrayEquals(VisionTransformer.blocksOf(g).getOrder(), VisionTransformer.blocksOf(restored).getOrder());

        INDArray fresh = Nd4j.rand(DataType.FLOAT, 96, 32);
        restored.getLayer(VisionTransformer.BLOCKS).getParam("src2." + QKV).assign(fresh);
        // interleave-8 over 4 blocks: positions 4 and 5 both run block 2
        assertArrayEquals(timmTensor(restored, "blocks.4." + QKV), timmTensor(restored, "blocks.5." + QKV));
        assertArrayEquals(fresh.dup('c').data().asFloat(), timmTensor(restored, "blocks.5." + QKV));
    }

    @Test
    @DisplayName("training with DL4J workspaces gives the same gradients as without (forward state survives until backprop)")
    void workspacesDoNotChangeGradients() throws Exception {
        ComputationGraph base = microBase();
        INDArray[] grads = new INDArray[2];
        WorkspaceMode[] modes = {WorkspaceMode.ENABLED, WorkspaceMode.NONE};
        for (int i = 0; i < 2; i++) {
            ComputationGraph g = VisionTransformer.builder().config(VisionTransformer.configOf(base)).order(0, 1, 2, 3, 0, 1, 2, 3)
                    .adapterRank(4).workspaceMode(modes[i]).build().init();
            g.params().assign(ScaleNet.expand(base, ExpansionPlan.cyclic(8).withAdapterRank(4)).graph().params());
            Nd4j.getRandom().setSeed(3);
            INDArray up = g.getLayer(VisionTransformer.BLOCKS).getParam("use5.adapter.mlp.up.weight");
            up.assign(Nd4j.randn(DataType.FLOAT, up.shape()).muli(0.1)); // exercise the adapter backward too
            DataSet data = batch(4);
            g.setInputs(data.getFeatures());
            g.setLabels(data.getLabels());
            g.computeGradientAndScore();
            g.computeGradientAndScore(); // a second pass reuses the workspaces
            grads[i] = g.gradient().gradient().dup();
        }
        assertTrue(grads[0].norm2Number().doubleValue() > 0);
        assertTrue(grads[0].equalsWithEps(grads[1], 1e-6), "gradients differ between workspace modes");
    }

    @Test
    @DisplayName("invalid plans fail with the setting, the value and what is allowed")
    void invalidPlans() throws Exception {
        ComputationGraph base = microBase();
        InvalidSettingException tooShallow = assertThrows(InvalidSettingException.class,
                () -> ScaleNet.expand(base, ExpansionPlan.cyclic(3)));
        assertEquals("depth", tooShallow.setting());
        assertEquals("depth = 3: expected at least the base model's depth 4 (an expansion only adds blocks)", tooShallow.getMessage());
        InvalidSettingException outOfRange = assertThrows(InvalidSettingException.class,
                () -> ScaleNet.expand(base, ExpansionPlan.order(0, 1, 2, 3, 4)));
        assertEquals("order", outOfRange.setting());
        assertTrue(outOfRange.getMessage().contains("source block indices 0..3 of the base model (order[4] = 4)"), outOfRange.getMessage());
        InvalidSettingException unused = assertThrows(InvalidSettingException.class,
                () -> ScaleNet.expand(base, ExpansionPlan.order(0, 1, 2, 2, 1)));
        assertTrue(unused.getMessage().contains("(block 3 is missing)"), unused.getMessage());
        InvalidSettingException strategy = assertThrows(InvalidSettingException.class, () -> ExpansionPlan.Strategy.parse("zigzag"));
        assertEquals("strategy = zigzag: expected cyclic or interleave (or give an explicit order)", strategy.getMessage());
        InvalidSettingException rank = assertThrows(InvalidSettingException.class, () -> ExpansionPlan.cyclic(8).withAdapterRank(-1));
        assertEquals("adapterRank", rank.setting());
        ComputationGraph expanded = ScaleNet.expand(base, ExpansionPlan.cyclic(8)).graph();
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
                () -> ScaleNet.expand(expanded, ExpansionPlan.cyclic(16)));
        assertTrue(twice.getMessage().contains("already expanded"), twice.getMessage());
    }

    @Test
    @DisplayName("strategies: cyclic repeats the stack, interleave repeats each block in place")
    void strategies() {
        assertArrayEquals(new int[] {0, 1, 2, 3, 0, 1, 2, 3}, ExpansionPlan.cyclic(8).resolveOrder(4));
        assertArrayEquals(new int[] {0, 1, 2, 0, 1}, ExpansionPlan.cyclic(5).resolveOrder(3));
        assertArrayEquals(new int[] {0, 0, 1, 1, 2, 2, 3, 3}, ExpansionPlan.interleave(8).resolveOrder(4));
        assertArrayEquals(new int[] {0, 0, 1, 2, 2, 3}, ExpansionPlan.interleave(6).resolveOrder(4));
        assertNotEquals(ExpansionPlan.cyclic(8).toString(), ExpansionPlan.interleave(8).toString());
        // DOUBLE_DEPTH: the paper's 2x, whatever the base depth
        assertArrayEquals(new int[] {0, 1, 2, 0, 1, 2}, ExpansionPlan.cyclic(ExpansionPlan.DOUBLE_DEPTH).resolveOrder(3));
        assertEquals(8, ExpansionPlan.interleave(ExpansionPlan.DOUBLE_DEPTH).depthFor(4));
        assertEquals("cyclic-2x, adapter rank 8", ExpansionPlan.cyclic(ExpansionPlan.DOUBLE_DEPTH).toString());
    }
}
