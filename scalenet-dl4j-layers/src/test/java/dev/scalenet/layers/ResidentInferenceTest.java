package dev.scalenet.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Inference with the rows kept in Java from block to block, feature-major ({@link Block#inferResident}), computes what
 * {@link Block#infer} computes. A grown stack (shared blocks, adapters and gates on the inserted positions, a qkv bias)
 * exercises every step.
 *
 * <p>Tolerance: 2e-5 of the largest magnitude compared, as {@code HostKernelsTest}. Both paths round in fp32 but sum
 * in different orders (LayerNorm's statistics over the features one after another against four partial sums; BLAS
 * on transposed operands); an indexing or missing-term bug moves results by their own order of magnitude.
 */
class ResidentInferenceTest {
    private static final int BATCH = 7;
    private static final int TOKENS = 5;
    private static final int DIM = 16;
    private static final double TOLERANCE = 2e-5;

    @AfterEach
    void restore() {
        ScaleNetBlocksLayer.residentInference(true);
    }

    private static ComputationGraph graph() {
        ComputationGraph g = TokenGraph.of(new NeuralNetConfiguration.Builder().seed(11).dataType(DataType.FLOAT).updater(new Adam(1e-2)),
                new ScaleNetBlocks.Builder().embedDim(DIM).numHeads(4).mlpHiddenDim(24).numSourceBlocks(2).order(0, 1, 0, 1)
                        .adapterRank(3).gates(true).build(), TOKENS, 3);
        Nd4j.getRandom().setSeed(5);
        g.params().assign(Nd4j.randn(DataType.FLOAT, g.params().shape()).muli(0.5)); // gates and adapters away from zero
        return g;
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        double scale = 0;
        double diff = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            diff = Math.max(diff, Math.abs((double) expected[i] - actual[i]));
        }
        assertTrue(scale > 1e-3, "a vacuous comparison: " + what + " is zero");
        assertTrue(diff <= TOLERANCE * scale, what + " differs by " + diff + " (scale " + scale + ")");
    }

    @Test
    @DisplayName("each position of a grown stack, run on Java feature-major rows, gives Block.infer's output (2e-5 relative)")
    void blockMatchesInfer() {
        ComputationGraph g = graph();
        ScaleNetBlocksLayer layer = (ScaleNetBlocksLayer) g.getLayer("blocks");
        Nd4j.getRandom().setSeed(3);
        int rows = BATCH * TOKENS;
        INDArray x = Nd4j.randn(DataType.FLOAT, rows, DIM); // token-major rows
        float[][] in = x.transpose().toFloatMatrix(); // feature-major
        for (int j = 0; j < 4; j++) {
            INDArray expected = layer.block(j, true).infer(x, BATCH);
            float[][] out = new float[DIM][rows];
            layer.block(j, true).inferResident(in, BATCH, TOKENS, out, HostGemm.ofThread());
            float[] actual = Nd4j.createFromArray(out).transpose().dup('c').data().asFloat();
            assertClose(expected.dup('c').data().asFloat(), actual, "position " + j + " (adapters and gates: " + (j >= 2) + ")");
        }
    }

    @Test
    @DisplayName("the layer's logits are the block-by-block path's (2e-5 relative), unsharded and in three shards")
    void layerMatchesBlockByBlock() {
        Nd4j.getRandom().setSeed(4);
        INDArray x = Nd4j.randn(DataType.FLOAT, BATCH, TOKENS, DIM);
        for (int shards : new int[] {1, 3}) {
            ComputationGraph g = BatchShardsTest.withShards(shards, ResidentInferenceTest::graph);
            ScaleNetBlocksLayer layer = (ScaleNetBlocksLayer) g.getLayer("blocks");
            ScaleNetBlocksLayer.residentInference(false);
            float[] blockByBlock = g.outputSingle(x).data().asFloat();
            assertFalse(layer.residentRan());
            ScaleNetBlocksLayer.residentInference(true);
            float[] resident = g.outputSingle(x).data().asFloat();
            assertTrue(layer.residentRan(), "the resident path did not run");
            assertClose(blockByBlock, resident, shards + " shard(s)");
        }
    }

    @Test
    @DisplayName("rows in example-major order are refused: the kernels read token-major rows")
    void refusesExampleMajorRows() {
        ScaleNetBlocksLayer layer = (ScaleNetBlocksLayer) graph().getLayer("blocks");
        float[][] rows = new float[DIM][BATCH * TOKENS];
        assertThrows(IllegalStateException.class,
                () -> layer.block(0, false).inferResident(rows, BATCH, TOKENS, new float[DIM][BATCH * TOKENS], HostGemm.ofThread()));
    }
}
