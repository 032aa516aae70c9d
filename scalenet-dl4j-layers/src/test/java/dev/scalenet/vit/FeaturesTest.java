package dev.scalenet.vit;

import dev.scalenet.data.BatchLoader;
import dev.scalenet.data.DataConfig;
import dev.scalenet.data.FashionMnist;
import dev.scalenet.data.ImageDataSetIterator;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.io.Npy;
import dev.scalenet.io.NpyArray;
import dev.scalenet.job.Predict;
import dev.scalenet.layers.GlobalPool;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Features agree with the logits. Tolerances: float32 throughout; a 64-wide dot product of values of order 1-10
 * accumulates rounding of about 64 x 6e-8 x 10 = 4e-5, so head(preLogits) vs logits is checked at 1e-4; the
 * LayerNorm recomputed outside the graph differs from the graph's by rounding only, checked at 1e-4.
 */
class FeaturesTest {
    private static final double TOL = 1e-4;
    private static VitModel pretrained;
    private static INDArray pixels;

    @BeforeAll
    static void load() throws Exception {
        pretrained = Pretrained.VIT_FMNIST_D64_L4.load();
        BatchLoader eval = BatchLoader.evaluation(FashionMnist.test(), DataConfig.fashionMnist(), 16).limit(16).build();
        ImageDataSetIterator it = eval.iterator();
        pixels = it.next().getFeatures();
        it.close();
    }

    private static INDArray head(ComputationGraph g, INDArray preLogits) {
        return preLogits.mmul(g.getLayer(VisionTransformer.HEAD).getParam("W"))
                .addRowVector(g.getLayer(VisionTransformer.HEAD).getParam("b"));
    }

    private static void assertClose(INDArray expected, INDArray actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        double err = expected.sub(actual).amaxNumber().doubleValue();
        assertTrue(err < TOL, what + ": max abs error " + err);
    }

    @Test
    @DisplayName("bundled model: tokens [16, 17, 64], pre-logits [16, 64]; head(preLogits) = logits = Features.logits; output() = softmax(logits); class token of tokens = preLogits")
    void tokenPooling() {
        Features f = pretrained.features(pixels);
        assertArrayEquals(new long[] {16, 17, 64}, f.tokens().shape(), "class token + 4x4 patches");
        assertArrayEquals(new long[] {16, 64}, f.preLogits().shape());
        assertClose(Features.logits(pretrained.graph(), pixels), f.logits(), "logits");
        assertClose(pretrained.graph().outputSingle(false, pixels), Transforms.softmax(f.logits(), true), "output() is the softmax of the logits");
        assertClose(f.logits(), head(pretrained.graph(), f.preLogits()), "head(preLogits)");
        assertClose(f.preLogits(), f.tokens().get(NDArrayIndex.all(), NDArrayIndex.point(0), NDArrayIndex.all()), "class token");
        assertClose(f.tokens(), pretrained.forwardFeatures(pixels), "forwardFeatures");
        assertClose(f.preLogits(), pretrained.preLogits(pixels), "preLogits");
    }

    @Test
    @DisplayName("average pooling with fc_norm, expanded: preLogits = fc_norm(mean of the patch tokens); head(preLogits) = logits")
    void averagePoolingExpanded() {
        VitConfig c = Pretrained.VIT_FMNIST_D64_L4.config().toBuilder().globalPool(GlobalPool.AVG).fcNorm(true).build();
        ComputationGraph base = VisionTransformer.builder().config(c).seed(11).build().init();
        // non-trivial norm and head weights, so the checks see them
        base.setParams(Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 1, base.numParams()).subi(0.5).muli(0.2));
        ComputationGraph deep = ScaleNet.expand(base, ExpansionPlan.cyclic(8).withAdapterRank(4)).graph();
        Features f = Features.of(deep, pixels);
        INDArray patchMean = f.tokens().get(NDArrayIndex.all(), NDArrayIndex.interval(1, 17), NDArrayIndex.all())
                .mean(true, 1);
        INDArray pooled = Features.layerNorm(patchMean, deep.getLayer(VisionTransformer.POOL).getParam("fcNorm.weight"),
                deep.getLayer(VisionTransformer.POOL).getParam("fcNorm.bias")).reshape(16, 64);
        assertClose(f.preLogits(), pooled, "fc_norm(mean of patch tokens)");
        assertClose(f.logits(), head(deep, f.preLogits()), "head(preLogits)");
    }

    @Test
    @DisplayName("Predict writes logits, preLogits or tokens as .npy, equal to the library's arrays")
    void predictNpy(@TempDir Path dir) throws Exception {
        Npy.write(dir.resolve("x.npy"), new NpyArray(pixels.shape(), pixels.dup('c').data().asFloat()));
        Features f = pretrained.features(pixels);
        for (Features.Kind kind : Features.Kind.values()) {
            Path out = dir.resolve(kind + ".npy");
            Predict.run(pretrained, dir.resolve("x.npy"), out, kind);
            NpyArray written = Npy.read(out);
            assertClose(f.get(kind), Nd4j.create(written.data(), written.shape(), 'c'), kind.toString());
        }
        assertEquals(Features.Kind.PRE_LOGITS, Features.Kind.parse("pre_logits"));
        assertEquals(Features.Kind.PRE_LOGITS, Features.Kind.parse("preLogits"));
    }
}
