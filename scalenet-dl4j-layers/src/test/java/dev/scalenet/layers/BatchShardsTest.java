package dev.scalenet.layers;

import dev.scalenet.engine.BatchShards;
import dev.scalenet.engine.EngineSettings;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A stack of blocks cut into batch shards computes what the unsharded stack computes: the same outputs, the same
 * input gradients, and parameter gradients that differ only by the order in which the shards' sums are added. The
 * shard count, not the threads, fixes the numbers: repeated sharded runs are bit-identical.
 */
class BatchShardsTest {
    private static final int BATCH = 7;
    private static final int TOKENS = 5;
    private static final int DIM = 8;
    private static final int CLASSES = 3;

    /** Builds with {@code shards} shards and no minimum shard size; the settings are read when a layer is created. */
    static <T> T withShards(int shards, Supplier<T> build) {
        try (EngineSettings.Scope ignored = EngineSettings.use(EngineSettings.current().toBuilder().shards(shards).shardsMinElements(1).build())) {
            return build.get();
        }
    }

    /** tokens -> a grown stack (shared blocks, adapters, gates, stochastic depth) -> average pooling -> logits. */
    private static ComputationGraph graph(DataType type) {
        ComputationGraph g = TokenGraph.of(new NeuralNetConfiguration.Builder().seed(11).dataType(type).updater(new Adam(1e-2)),
                new ScaleNetBlocks.Builder().embedDim(DIM).numHeads(2).mlpHiddenDim(12).numSourceBlocks(2).order(0, 1, 0, 1)
                        .adapterRank(2).gates(true).dropPathRate(0.5).build(), TOKENS, CLASSES);
        Nd4j.getRandom().setSeed(5);
        g.params().assign(Nd4j.randn(type, g.params().shape()).muli(0.5)); // gates and adapters away from zero
        return g;
    }

    private static DataSet batch(DataType type) {
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.randn(type, BATCH, TOKENS, DIM);
        INDArray y = Nd4j.zeros(type, BATCH, CLASSES);
        for (int i = 0; i < BATCH; i++) y.putScalar(i, i % CLASSES, 1.0);
        return new DataSet(x, y);
    }

    private static double maxAbsDiff(INDArray a, INDArray b) {
        return a.sub(b).amaxNumber().doubleValue();
    }

    @Test
    @DisplayName("three shards over 7 examples (2, 2 and 3 of them) give the unsharded outputs, input gradients and parameter gradients (double precision, 1e-12)")
    void shardedEqualsUnsharded() {
        ComputationGraph one = withShards(1, () -> graph(DataType.DOUBLE));
        ComputationGraph three = withShards(3, () -> graph(DataType.DOUBLE));
        DataSet data = batch(DataType.DOUBLE);

        // inference: every example's rows go through the same operations, only in a smaller matrix
        assertTrue(maxAbsDiff(one.outputSingle(data.getFeatures()), three.outputSingle(data.getFeatures())) <= 1e-12);

        // training (stochastic depth on: the masks are drawn for the whole batch before it is cut)
        for (ComputationGraph g : new ComputationGraph[] {one, three}) {
            g.getLayer("blocks").setIterationCount(4);
            g.setInputs(data.getFeatures());
            g.setLabels(data.getLabels());
            g.computeGradientAndScore();
        }
        assertEquals(one.score(), three.score(), 1e-12);
        // the parameter gradients are sums over 35 token rows, split 10 + 10 + 15 across shards: only the order of
        // the additions differs, which in double precision moves them by a few ulps of their size (about 1e-15)
        INDArray g1 = one.getGradientsViewArray();
        INDArray g3 = three.getGradientsViewArray();
        double scale = g1.amaxNumber().doubleValue();
        assertTrue(scale > 1e-3, "a vacuous comparison: the gradients are zero");
        assertTrue(maxAbsDiff(g1, g3) <= 1e-12 * scale, "sharded gradients differ by " + maxAbsDiff(g1, g3));
    }

    @Test
    @DisplayName("sharded training is deterministic: two identical networks trained five steps hold bit-identical parameters")
    void shardedTrainingIsBitReproducible() {
        ComputationGraph a = withShards(2, () -> graph(DataType.FLOAT));
        ComputationGraph b = withShards(2, () -> graph(DataType.FLOAT));
        DataSet data = batch(DataType.FLOAT);
        INDArray start = a.params().dup();
        for (int step = 0; step < 5; step++) {
            a.fit(data);
            b.fit(data);
        }
        assertTrue(maxAbsDiff(start, a.params()) > 1e-3, "the parameters did not move");
        assertArrayEquals(a.params().data().asInt(), b.params().data().asInt(), "parameters differ in their bits");
    }

    @Test
    @DisplayName("a batch smaller than the shard count runs one example per shard; a single example runs unsharded")
    void smallBatches() {
        ComputationGraph one = withShards(1, () -> graph(DataType.DOUBLE));
        ComputationGraph many = withShards(8, () -> graph(DataType.DOUBLE));
        INDArray x = batch(DataType.DOUBLE).getFeatures();
        for (long n : new long[] {1, 2, 7}) {
            INDArray part = x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, n)).dup();
            assertTrue(maxAbsDiff(one.outputSingle(part), many.outputSingle(part)) <= 1e-12, "batch of " + n);
        }
    }

    @Test
    @DisplayName("a shard's failure reaches the caller after every shard has ended, and the shards run again afterwards")
    void failureWaitsForTheOtherShards() {
        BatchShards shards = withShards(2, () -> new BatchShards(this));
        java.util.concurrent.atomic.AtomicBoolean slowShardDone = new java.util.concurrent.atomic.AtomicBoolean();
        IllegalArgumentException thrown = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> shards.run(2, BatchShards.Phase.INFER, k -> {
                    if (k == 1) throw new IllegalArgumentException("shard 1 fails");
                    try {
                        Thread.sleep(200);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    slowShardDone.set(true);
                }));
        assertEquals("shard 1 fails", thrown.getMessage());
        assertTrue(slowShardDone.get(), "the caller went on while shard 0 was still running");

        double[] sums = new double[2];
        shards.run(2, BatchShards.Phase.INFER, k -> sums[k] = Nd4j.ones(DataType.FLOAT, 4, 4).sumNumber().doubleValue());
        assertArrayEquals(new double[] {16, 16}, sums);
    }

    @Test
    @DisplayName("a whole fp32 ViT in inference, patch embedding and blocks in shards on the host path, gives the unsharded logits (1e-6 relative)")
    void shardedVitInference() {
        // the same operations on fewer rows; BLAS may block the rows differently, which moves the last bits only
        Supplier<ComputationGraph> vit = () -> dev.scalenet.vit.VisionTransformer.builder()
                .config(dev.scalenet.vit.VitConfig.builder().imgSize(12).patchSize(4).inChans(2).numClasses(3).embedDim(8).depth(2)
                        .numHeads(2).build())
                .order(0, 1, 0, 1).adapterRank(2).seed(5).build().init();
        ComputationGraph one = withShards(1, vit);
        ComputationGraph two = withShards(2, vit);
        Nd4j.getRandom().setSeed(9);
        two.params().assign(Nd4j.randn(DataType.FLOAT, one.params().shape()).muli(0.3));
        one.params().assign(two.params());
        INDArray x = Nd4j.randn(DataType.FLOAT, 5, 2, 12, 12);
        INDArray expected = one.outputSingle(x);
        double scale = expected.amaxNumber().doubleValue();
        assertTrue(scale > 1e-3, "a vacuous comparison");
        assertTrue(maxAbsDiff(expected, two.outputSingle(x)) <= 1e-6 * scale);
    }
}
