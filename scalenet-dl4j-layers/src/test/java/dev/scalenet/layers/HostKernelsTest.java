package dev.scalenet.layers;

import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The host kernels (attention, GELU, LayerNorm, the residual branch end in Java) compute what the ND4J operations compute, in fp32, forward and
 * backward, through a grown stack with shared blocks, adapters, gates and stochastic depth, unsharded and in batch
 * shards. The ND4J path is the one the double-precision gradient checks verify; agreement with it in fp32 is the
 * host kernels' check.
 *
 * <p>Tolerance: 2e-5 of the largest magnitude compared. Both paths round in fp32 but sum in different orders (BLAS
 * blocks against row loops, four partial sums in LayerNorm), and erf and exp differ by up to a few ulp; through four
 * blocks that measured at most 2.5e-7 relative here (logits 1.6e-7). An indexing, layout or missing-term bug moves results by their own
 * order of magnitude.
 */
class HostKernelsTest {
    private static final int BATCH = 6;
    private static final int TOKENS = 9;
    private static final int DIM = 16;
    private static final int CLASSES = 4;
    private static final double TOLERANCE = 2e-5;

    @AfterEach
    void restore() {
        HostFloats.enable(true);
    }

    private static ComputationGraph graph() {
        ComputationGraph g = TokenGraph.of(new NeuralNetConfiguration.Builder().seed(11).dataType(DataType.FLOAT).updater(new Adam(1e-2)),
                new ScaleNetBlocks.Builder().embedDim(DIM).numHeads(4).mlpHiddenDim(32).numSourceBlocks(2).order(0, 1, 0, 1)
                        .adapterRank(3).gates(true).dropPathRate(0.4).build(), TOKENS, CLASSES);
        Nd4j.getRandom().setSeed(5);
        g.params().assign(Nd4j.randn(DataType.FLOAT, g.params().shape()).muli(0.5)); // gates and adapters away from zero
        return g;
    }

    private static INDArray[] batch() {
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.randn(DataType.FLOAT, BATCH, TOKENS, DIM);
        INDArray y = Nd4j.zeros(DataType.FLOAT, BATCH, CLASSES);
        for (int i = 0; i < BATCH; i++) y.putScalar(i, i % CLASSES, 1.0);
        return new INDArray[] {x, y};
    }

    /** Output, score and gradients (of parameters, and of the input via the layer's epsilon) with the kernels on or off. */
    private static INDArray[] run(boolean host, int shards) {
        HostFloats.enable(host);
        ComputationGraph g = BatchShardsTest.withShards(shards, HostKernelsTest::graph);
        INDArray[] data = batch();
        INDArray out = g.outputSingle(data[0]);
        g.getLayer("blocks").setIterationCount(3); // stochastic depth drops some branches at this iteration
        g.setInputs(data[0]);
        g.setLabels(data[1]);
        g.computeGradientAndScore();
        return new INDArray[] {out, Nd4j.scalar(DataType.DOUBLE, g.score()), g.getGradientsViewArray().dup()};
    }

    private static void assertClose(INDArray expected, INDArray actual, String what) {
        double scale = expected.amaxNumber().doubleValue();
        assertTrue(scale > 1e-3, "a vacuous comparison: " + what + " is zero");
        double diff = expected.castTo(DataType.DOUBLE).sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        assertTrue(diff <= TOLERANCE * scale, what + " differs by " + diff + " (scale " + scale + ")");
    }

    @Test
    @DisplayName("unsharded: the host kernels give the ND4J path's logits, loss and every parameter gradient (2e-5 relative)")
    void hostEqualsNd4jUnsharded() {
        INDArray[] nd4j = run(false, 1);
        INDArray[] host = run(true, 1);
        assertClose(nd4j[0], host[0], "logits");
        assertEquals(nd4j[1].getDouble(0), host[1].getDouble(0), TOLERANCE * Math.abs(nd4j[1].getDouble(0)), "loss");
        assertClose(nd4j[2], host[2], "parameter gradients");
    }

    @Test
    @DisplayName("in three batch shards (on the shard workers' threads), the host kernels still give the ND4J path's numbers")
    void hostEqualsNd4jSharded() {
        INDArray[] nd4j = run(false, 3);
        INDArray[] host = run(true, 3);
        assertClose(nd4j[0], host[0], "logits");
        assertClose(nd4j[2], host[2], "parameter gradients");
    }

    /** Logits, loss and parameter gradients of a whole small ViT (patchify, class token or average pool, blocks, head). */
    private static INDArray[] runVit(boolean host, boolean qkvBias, boolean classToken) {
        HostFloats.enable(host);
        VitConfig.Builder config = VitConfig.builder().imgSize(12).patchSize(4).inChans(2).numClasses(3).embedDim(8).depth(2)
                .numHeads(2).qkvBias(qkvBias).classToken(classToken);
        if (!classToken) config.globalPool(GlobalPool.AVG);
        ComputationGraph g = VisionTransformer.builder()
                .config(config.build())
                .order(0, 1, 0, 1).adapterRank(2).seed(5).build().init();
        Nd4j.getRandom().setSeed(9);
        g.params().assign(Nd4j.randn(DataType.FLOAT, g.params().shape()).muli(0.3));
        INDArray x = Nd4j.randn(DataType.FLOAT, 5, 2, 12, 12);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 5, 3);
        for (int i = 0; i < 5; i++) y.putScalar(i, i % 3, 1);
        INDArray out = g.outputSingle(x);
        g.setInputs(x);
        g.setLabels(y);
        g.computeGradientAndScore();
        return new INDArray[] {out, g.getGradientsViewArray().dup()};
    }

    @Test
    @DisplayName("a whole ViT (2-channel patchify and its gradient, token assembly, with and without a qkv bias, with a class token or average pooling) gives the ND4J path's logits and gradients")
    void wholeVitHostEqualsNd4j() {
        for (boolean[] c : new boolean[][] {{true, true}, {false, true}, {true, false}}) {
            String what = " (qkv bias " + c[0] + ", class token " + c[1] + ")";
            INDArray[] nd4j = runVit(false, c[0], c[1]);
            INDArray[] host = runVit(true, c[0], c[1]);
            assertClose(nd4j[0], host[0], "logits" + what);
            assertClose(nd4j[1], host[1], "parameter gradients" + what);
        }
    }

    @Test
    @DisplayName("with the host kernels, training is deterministic: the same gradients bit for bit, run after run")
    void hostKernelsAreDeterministic() {
        INDArray[] a = run(true, 2);
        INDArray[] b = run(true, 2);
        assertArrayEquals(a[2].data().asInt(), b[2].data().asInt());
    }

    @Test
    @DisplayName("double precision never takes the host kernels (they are fp32), so the gradient checks see the ND4J path")
    void doubleStaysOnNd4j() {
        assertFalse(HostFloats.applies(Nd4j.zeros(DataType.DOUBLE, 2, 2)));
        assertTrue(HostFloats.applies(Nd4j.zeros(DataType.FLOAT, 2, 2)));
        HostFloats.enable(false);
        assertFalse(HostFloats.applies(Nd4j.zeros(DataType.FLOAT, 2, 2)));
    }

    @Test
    @DisplayName("reading a row-range view, a transposed view and writing back keep every element where it belongs")
    void readsViewsAndWrites() {
        INDArray m = Nd4j.arange(0, 24).castTo(DataType.FLOAT).reshape('c', 6, 4);
        INDArray rows = m.get(NDArrayIndex.interval(2, 5), NDArrayIndex.all()); // offset 8, contiguous
        assertArrayEquals(rows.dup().data().asFloat(), java.util.Arrays.copyOf(HostFloats.read(rows, 0), 12));
        INDArray transposed = m.transpose(); // not contiguous in c order: read as its c-order copy
        assertArrayEquals(transposed.dup('c').data().asFloat(), java.util.Arrays.copyOf(HostFloats.read(transposed, 1), 24));
        INDArray back = HostFloats.write(HostFloats.read(rows, 0), 3, 4);
        assertEquals(rows, back);
        assertThrows(IllegalArgumentException.class, () -> HostFloats.read(Nd4j.zeros(DataType.DOUBLE, 2), 0));
    }

    @Test
    @DisplayName("reading one run every so many floats takes each example's first token, from a view at an offset too")
    void readsRuns() {
        INDArray x = Nd4j.arange(0, 48).castTo(DataType.FLOAT).reshape('c', 4, 3, 4); // 4 examples, 3 tokens of 4
        assertArrayEquals(new float[] {0, 1, 2, 3, 12, 13, 14, 15, 24, 25, 26, 27, 36, 37, 38, 39},
                HostFloats.readRuns(x, 12, 4, new float[16]));
        INDArray last = x.get(NDArrayIndex.interval(2, 4), NDArrayIndex.all(), NDArrayIndex.all());
        assertArrayEquals(new float[] {24, 25, 26, 27, 36, 37, 38, 39}, HostFloats.readRuns(last, 12, 4, new float[8]));
    }

    @Test
    @DisplayName("adding into a gradient view changes exactly that view's elements, contiguous or not; a wrong length is refused")
    void addsIntoViews() {
        INDArray flat = Nd4j.arange(0, 12).castTo(DataType.FLOAT).reshape('c', 1, 12);
        INDArray view = flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(4, 7)); // offset 4, contiguous
        HostFloats.addInto(view, new float[] {100, 200, 300});
        assertArrayEquals(new float[] {0, 1, 2, 3, 104, 205, 306, 7, 8, 9, 10, 11}, flat.data().asFloat());
        INDArray m = Nd4j.zeros(DataType.FLOAT, 2, 3);
        HostFloats.addInto(m.transpose(), new float[] {1, 2, 3, 4, 5, 6}); // [3, 2] in c order: (0,0) (0,1) (1,0) ...
        assertArrayEquals(new float[] {1, 3, 5, 2, 4, 6}, m.data().asFloat());
        assertThrows(IllegalArgumentException.class, () -> HostFloats.addInto(view, new float[2]));
    }

    @Test
    @DisplayName("GELU and the residual branch end, taken a chunk of rows at a time, give the per-element formula's bits over several chunks and a partial last one")
    void elementWiseKernelsMatchTheirFormulaAcrossChunks() {
        int width = 24;
        int rows = 3 * HostMath.rowsPerChunk(width) + 5;
        java.util.SplittableRandom random = new java.util.SplittableRandom(7);
        float[][] v = new float[3][rows * width];
        for (float[] a : v) for (int i = 0; i < a.length; i++) a[i] = (float) random.nextGaussian();
        float[][] p = new float[3][width];
        for (float[] a : p) for (int i = 0; i < a.length; i++) a[i] = (float) random.nextGaussian();
        float[] keep = new float[rows];
        for (int r = 0; r < rows; r++) keep[r] = r % 3 == 0 ? 0f : 1.25f;
        float s = 0.7f;

        float[] gelu = new float[rows * width];
        HostGelu.forward(v[0], p[0], rows, gelu);
        float[] y = v[1].clone();
        float[] out = new float[rows * width];
        HostResidual.forward(v[0], y, p[0], v[2], p[1], s, p[2], keep, rows, width, true, out);
        for (int i = 0; i < rows * width; i++) {
            int c = i % width;
            float g = v[0][i] + p[0][c];
            assertEquals(Float.floatToRawIntBits(0.5f * g * (1f + HostMath.erf(g * (float) Math.sqrt(0.5)))), Float.floatToRawIntBits(gelu[i]), "gelu " + i);
            float ungated = (v[1][i] + p[0][c]) + (v[2][i] + p[1][c]) * s;
            assertEquals(Float.floatToRawIntBits(ungated), Float.floatToRawIntBits(y[i]), "ungated branch " + i);
            assertEquals(Float.floatToRawIntBits(ungated * p[2][c] * keep[i / width] + v[0][i]), Float.floatToRawIntBits(out[i]), "sum " + i);
        }
    }
}
