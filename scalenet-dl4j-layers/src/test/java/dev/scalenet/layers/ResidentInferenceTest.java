package dev.scalenet.layers;

import dev.scalenet.engine.BlockDims;
import dev.scalenet.engine.Engine;
import dev.scalenet.engine.EngineSettings;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU engine's inference with the rows kept in Java from block to block, feature-major
 * ({@link Engine#inferResident}), computes what its blocks' {@code infer} computes. A grown stack (shared blocks, adapters and gates on the inserted positions, a qkv bias)
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

    private static EngineSettings resident(boolean on) {
        return EngineSettings.current().toBuilder().residentInference(on).build();
    }

    @Test
    @DisplayName("each position of a grown stack, run on Java feature-major rows, gives the block's infer output (2e-5 relative)")
    void blockMatchesInfer() {
        ComputationGraph g = graph();
        ScaleNetBlocksLayer layer = (ScaleNetBlocksLayer) g.getLayer("blocks");
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.randn(DataType.FLOAT, BATCH, TOKENS, DIM);
        Engine cpu = Engine.forCall(x);
        assertEquals("cpu", cpu.name());
        for (int j = 0; j < 4; j++) {
            INDArray rows = cpu.toStackOrder(x.dup('c').reshape('c', BATCH * TOKENS, DIM), BATCH, TOKENS);
            INDArray expected = cpu.toExampleMajor(layer.block(cpu, j, TOKENS).infer(rows, BATCH), BATCH, TOKENS);
            INDArray out = Nd4j.zeros(DataType.FLOAT, BATCH, TOKENS, DIM);
            cpu.inferResident(List.of(layer.block(cpu, j, TOKENS)), x, BATCH, TOKENS, out);
            assertClose(expected.dup('c').data().asFloat(), out.data().asFloat(), "position " + j + " (adapters and gates: " + (j >= 2) + ")");
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
            float[] blockByBlock;
            try (EngineSettings.Scope ignored = EngineSettings.use(resident(false))) {
                blockByBlock = g.outputSingle(x).data().asFloat();
            }
            assertFalse(layer.residentRan());
            float[] resident;
            try (EngineSettings.Scope ignored = EngineSettings.use(resident(true))) {
                resident = g.outputSingle(x).data().asFloat();
            }
            assertTrue(layer.residentRan(), "the resident path did not run");
            assertClose(blockByBlock, resident, shards + " shard(s)");
        }
    }

    @Test
    @DisplayName("sequences longer than lane attention takes, and the reference engine, have no resident path")
    void onlyLaneAttentionIsResident() {
        BlockDims dims = new BlockDims(DIM, 4, 24);
        Engine cpu = Engine.forCall(Nd4j.zeros(DataType.FLOAT, 1));
        assertTrue(cpu.infersResident(dims, TOKENS, BATCH * TOKENS));
        try (EngineSettings.Scope ignored = EngineSettings.use(EngineSettings.current().toBuilder().laneAttentionMaxTokens(TOKENS - 1).build())) {
            assertFalse(cpu.infersResident(dims, TOKENS, BATCH * TOKENS));
        }
        assertFalse(Engine.reference().infersResident(dims, TOKENS, BATCH * TOKENS));
    }
}
