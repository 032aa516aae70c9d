package dev.scalenet.layers;

import dev.scalenet.RawBits;
import dev.scalenet.data.DataConfig;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.train.Trainable;
import dev.scalenet.train.Trainer;
import dev.scalenet.vit.Pretrained;
import dev.scalenet.vit.VisionTransformer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Activation recomputation ({@code recompute}) changes where the block stack's activations live, not what it computes:
 * the score and every parameter gradient are the same bits as without it, on every path a block
 * takes (token-major host attention and ND4J attention, sharded and unsharded, stochastic depth, adapters, gates).
 */
class RecomputeTest {
    private static final int BATCH = 6;
    private static final int DIM = 16;
    private static final int CLASSES = 4;

    private static ComputationGraph graph(int tokens, boolean recompute) {
        ComputationGraph g = TokenGraph.of(new NeuralNetConfiguration.Builder().seed(11).dataType(DataType.FLOAT).updater(new Adam(1e-2)),
                new ScaleNetBlocks.Builder().embedDim(DIM).numHeads(4).mlpHiddenDim(32).numSourceBlocks(2).order(0, 1, 0, 1)
                        .adapterRank(3).gates(true).dropPathRate(0.4).build(), tokens, CLASSES);
        ((ScaleNetBlocks) g.getLayer("blocks").conf().getLayer()).setRecompute(recompute);
        Nd4j.getRandom().setSeed(5);
        g.params().assign(Nd4j.randn(DataType.FLOAT, g.params().shape()).muli(0.5)); // gates and adapters away from zero
        return g;
    }

    /** Score, parameter gradients and the input gradient of one training step's forward and backward passes. */
    private static int[][] step(int tokens, int shards, boolean recompute) {
        ComputationGraph g = BatchShardsTest.withShards(shards, () -> graph(tokens, recompute));
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.randn(DataType.FLOAT, BATCH, tokens, DIM);
        INDArray y = Nd4j.zeros(DataType.FLOAT, BATCH, CLASSES);
        for (int i = 0; i < BATCH; i++) y.putScalar(i, i % CLASSES, 1.0);
        g.getLayer("blocks").setIterationCount(3); // stochastic depth drops some branches at this iteration
        g.setInputs(x);
        g.setLabels(y);
        g.computeGradientAndScore();
        assertEquals(recompute, ((ScaleNetBlocksLayer) g.getLayer("blocks")).recomputeRan(), "the path under test ran");
        // the first position's input gradient reaches every earlier parameter through the recomputed blocks above it
        return new int[][] {{Float.floatToRawIntBits((float) g.score())}, RawBits.of(g.getGradientsViewArray().dup())};
    }

    @ParameterizedTest(name = "{0} tokens, {1} shard(s)")
    @CsvSource({"9, 1", "9, 2", "70, 1", "70, 2"})
    @DisplayName("score and parameter gradients are bit-identical with and without recomputation")
    void sameBits(int tokens, int shards) {
        int[][] kept = step(tokens, shards, false);
        int[][] recomputed = step(tokens, shards, true);
        assertArrayEquals(kept[0], recomputed[0], "score");
        assertArrayEquals(kept[1], recomputed[1], "parameter gradients");
    }

    @Test
    @DisplayName("a grown ViT trained three steps with recompute in the recipe ends with the same parameters, bit for bit, shared blocks included")
    void trainingWithTheRecipeSetting(@TempDir Path dir) throws Exception {
        int[][] params = new int[2][];
        for (int r = 0; r < 2; r++) {
            ComputationGraph g = ScaleNet.expand(Pretrained.VIT_FMNIST_D64_L4.load().graph(), ExpansionPlan.builder().build()).graph();
            int[] start = RawBits.of(sharedQkv(g).dup());
            // everything trains, so the shared blocks' updates go through the recomputed path too
            TrainConfig recipe = TrainConfig.builder().trainable(Trainable.ALL).learningRate(1e-3).dropPath(0.1).recompute(r == 1).build();
            new Trainer(recipe, DataConfig.fashionMnist(), dir.resolve("run" + r), "r" + r).prepare(g, 10);
            assertEquals(r == 1, VisionTransformer.blocksOf(g).isRecompute(), "prepare sets the stack's recompute");
            Nd4j.getRandom().setSeed(9);
            DataSet batch = new DataSet(Nd4j.rand(DataType.FLOAT, 32, 1, 28, 28), Nd4j.eye(10).getRows(
                    java.util.stream.IntStream.range(0, 32).map(i -> i % 10).toArray()).castTo(DataType.FLOAT));
            for (int s = 0; s < 3; s++) g.fit(batch);
            params[r] = RawBits.of(g.params());
            assertFalse(Arrays.equals(start, RawBits.of(sharedQkv(g))), "a shared tensor trained");
        }
        assertArrayEquals(params[0], params[1]);
        assertTrue(params[0].length > 100_000);
    }

    /** The first source block's qkv weight: a tensor every use of that block shares. */
    private static INDArray sharedQkv(ComputationGraph g) {
        return g.getLayer(VisionTransformer.BLOCKS).getParam(ScaleNetBlocks.sourcePrefix(0) + "attn.qkv.weight");
    }
}
