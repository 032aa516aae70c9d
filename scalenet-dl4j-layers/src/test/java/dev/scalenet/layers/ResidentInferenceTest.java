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

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Inference with the rows kept in Java from block to block ({@link Block#inferResident}) runs the same kernels and the
 * same GEMM calls as {@link Block#infer}, in the same order, so it gives the same bits: compared as bits, not within a
 * tolerance. A grown stack (shared blocks, adapters and gates on the inserted positions, a qkv bias) exercises every
 * step.
 */
class ResidentInferenceTest {
    private static final int BATCH = 7;
    private static final int TOKENS = 5;
    private static final int DIM = 16;

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

    private static int[] bits(float[] values) {
        int[] b = new int[values.length];
        for (int i = 0; i < b.length; i++) b[i] = Float.floatToRawIntBits(values[i]);
        return b;
    }

    @Test
    @DisplayName("each position of a grown stack, run on Java rows, gives Block.infer's output bit for bit")
    void blockMatchesInferBitForBit() {
        ComputationGraph g = graph();
        ScaleNetBlocksLayer layer = (ScaleNetBlocksLayer) g.getLayer("blocks");
        Nd4j.getRandom().setSeed(3);
        int rows = BATCH * TOKENS;
        INDArray x = Nd4j.randn(DataType.FLOAT, rows, DIM); // token-major rows
        float[] in = x.dup().data().asFloat();
        for (int j = 0; j < 4; j++) {
            float[] expected = layer.block(j, true).infer(x, BATCH).dup('c').data().asFloat();
            float[] actual = new float[rows * DIM];
            layer.block(j, true).inferResident(in, BATCH, TOKENS, actual, HostGemm.ofThread());
            assertNotEquals(0f, expected[0], "a vacuous comparison at position " + j);
            assertArrayEquals(bits(expected), bits(actual), "position " + j + " (adapters and gates: " + (j >= 2) + ")");
        }
    }

    @Test
    @DisplayName("the layer's logits are the block-by-block path's, bit for bit, unsharded and in three shards")
    void layerMatchesBlockByBlockBitForBit() {
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
            assertTrue(Math.abs(blockByBlock[0]) > 1e-6, "a vacuous comparison");
            assertArrayEquals(bits(blockByBlock), bits(resident), shards + " shard(s)");
        }
    }

    @Test
    @DisplayName("rows in example-major order are refused: the kernels read token-major rows")
    void refusesExampleMajorRows() {
        ScaleNetBlocksLayer layer = (ScaleNetBlocksLayer) graph().getLayer("blocks");
        float[] rows = new float[BATCH * TOKENS * DIM];
        assertThrows(IllegalStateException.class,
                () -> layer.block(0, false).inferResident(rows, BATCH, TOKENS, new float[rows.length], HostGemm.ofThread()));
    }
}
