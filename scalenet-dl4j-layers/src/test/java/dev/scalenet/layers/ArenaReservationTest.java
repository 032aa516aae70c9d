package dev.scalenet.layers;

import dev.scalenet.engine.BatchShards;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A sharded training step fits the memory reserved for it before it runs: each shard's arena and its worker's scratch
 * memory are made at the measured size, and after the first steps they still hold exactly that (an arena or scratch
 * that a step overflowed is made again larger when it closes, so "still the reserved size" means nothing spilled;
 * scratch memory made larger by an earlier layer on the same worker is kept as it was).
 * The first step spilling its whole forward state is what made the process's peak the arenas plus that spill.
 */
class ArenaReservationTest {
    private static final int BATCH = 7;
    private static final int DIM = 16;
    private static final int CLASSES = 3;

    @ParameterizedTest(name = "{0} tokens, recompute {1}")
    @CsvSource({"9, false", "9, true", "70, false", "70, true"})
    @DisplayName("the arenas and scratch memory a training step uses are reserved before it and never grow")
    void reservedBeforeTheStep(int tokens, boolean recompute) {
        ComputationGraph g = BatchShardsTest.withShards(2, () -> TokenGraph.of(
                new NeuralNetConfiguration.Builder().seed(11).dataType(DataType.FLOAT).updater(new Adam(1e-3)),
                new ScaleNetBlocks.Builder().embedDim(DIM).numHeads(4).mlpHiddenDim(32).numSourceBlocks(2).order(0, 1, 0, 1)
                        .adapterRank(3).gates(true).dropPathRate(0.4).build(), tokens, CLASSES));
        ((ScaleNetBlocks) g.getLayer("blocks").conf().getLayer()).setRecompute(recompute);
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.randn(DataType.FLOAT, BATCH, tokens, DIM);
        INDArray y = Nd4j.zeros(DataType.FLOAT, BATCH, CLASSES);
        for (int i = 0; i < BATCH; i++) y.putScalar(i, i % CLASSES, 1.0);
        ScaleNetBlocksLayer blocks = (ScaleNetBlocksLayer) g.getLayer("blocks");
        // scratch memory is the worker thread's, shared by every layer on it: one made larger before is kept
        long[] scratchBefore = {blocks.shards().sizes(0).scratch(), blocks.shards().sizes(1).scratch()};

        for (int step = 1; step <= 3; step++) {
            g.fit(new DataSet(x, y));
            assertEquals(recompute, blocks.recomputeRan(), "the path under test ran");
            for (int k = 0; k < 2; k++) {
                BatchShards.Sizes s = blocks.shards().sizes(k);
                assertTrue(s.arenaReserved() > 0 && s.scratchReserved() > 0, "reserved before step " + step + ": " + s);
                assertEquals(s.arenaReserved(), s.arena(), "shard " + k + "'s arena after step " + step + ": " + s);
                assertEquals(Math.max(s.scratchReserved(), scratchBefore[k]), s.scratch(),
                        "shard " + k + "'s scratch after step " + step + ": " + s);
            }
        }
    }
}
