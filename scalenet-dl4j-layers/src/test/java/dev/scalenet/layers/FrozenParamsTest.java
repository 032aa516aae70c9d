package dev.scalenet.layers;

import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A frozen parameter gets no gradient, no update and no weight decay; everything else is untouched by freezing. */
class FrozenParamsTest {

    private static ComputationGraph model() {
        ComputationGraph g = VisionTransformer.builder()
                .config(VitConfig.builder().imgSize(8).patchSize(4).inChans(1).numClasses(3).embedDim(8).depth(2).numHeads(2).build())
                .order(0, 1, 0, 1).adapterRank(2).seed(5).build().init();
        Nd4j.getRandom().setSeed(9);
        g.params().assign(Nd4j.randn(DataType.FLOAT, g.params().shape()).muli(0.3)); // no zero head: all gradients live
        return g;
    }

    private static Map<String, INDArray> gradients(ComputationGraph g) {
        Nd4j.getRandom().setSeed(2);
        g.setInputs(Nd4j.randn(DataType.FLOAT, 4, 1, 8, 8));
        INDArray y = Nd4j.zeros(DataType.FLOAT, 4, 3);
        for (int i = 0; i < 4; i++) y.putScalar(i, i % 3, 1);
        g.setLabels(y);
        g.computeGradientAndScore();
        Map<String, INDArray> copy = new java.util.LinkedHashMap<>();
        g.gradient().gradientForVariable().forEach((k, v) -> copy.put(k, v.dup()));
        return copy;
    }

    @Test
    @DisplayName("frozen tensors get exactly zero gradient; the others get the same gradient as without freezing")
    void gradients() {
        ComputationGraph plain = model();
        ComputationGraph frozen = model();
        List<String> freeze = List.of("src0.attn.qkv.weight", "src1.mlp.fc1.bias", "src0.norm1.weight");
        ((ScaleNetBlocks) frozen.getLayer("blocks").conf().getLayer()).freeze(freeze);
        ((PatchEmbedding) frozen.getLayer("patchEmbed").conf().getLayer()).freeze(List.of("posEmbed"));
        Map<String, INDArray> expected = gradients(plain);
        Map<String, INDArray> actual = gradients(frozen);
        for (Map.Entry<String, INDArray> e : expected.entrySet()) {
            String param = e.getKey().substring(e.getKey().indexOf('_') + 1);
            boolean isFrozen = freeze.contains(param) && e.getKey().startsWith("blocks_") || e.getKey().equals("patchEmbed_posEmbed");
            if (isFrozen) {
                assertEquals(0.0, actual.get(e.getKey()).amaxNumber().doubleValue(), 0.0, e.getKey() + " is frozen");
                assertTrue(e.getValue().amaxNumber().doubleValue() > 0, e.getKey() + " has a gradient when not frozen");
            } else {
                assertEquals(e.getValue(), actual.get(e.getKey()), e.getKey() + " is unaffected by freezing others");
            }
        }
    }

    @Test
    @DisplayName("a frozen parameter's updater is DL4J's no-op and it carries no regularization")
    void updaterAndRegularization() {
        ComputationGraph g = model();
        ScaleNetBlocks blocks = (ScaleNetBlocks) g.getLayer("blocks").conf().getLayer();
        blocks.setRegularization(List.of(new org.nd4j.linalg.learning.regularization.WeightDecay(0.1, true)));
        blocks.freeze(List.of("src0.attn.proj.weight"));
        assertInstanceOf(NoOp.class, blocks.getUpdaterByParam("src0.attn.proj.weight"));
        assertTrue(blocks.getRegularizationByParam("src0.attn.proj.weight").isEmpty());
        assertEquals(1, blocks.getRegularizationByParam("src1.attn.proj.weight").size());
    }

    @Test
    @DisplayName("freezing a parameter the layer does not have is an error naming it")
    void unknownParameter() {
        Layer blocks = model().getLayer("blocks");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ((ScaleNetBlocks) blocks.conf().getLayer()).freeze(List.of("src7.attn.qkv.weight")));
        assertTrue(e.getMessage().contains("src7.attn.qkv.weight"), e.getMessage());
    }
}
