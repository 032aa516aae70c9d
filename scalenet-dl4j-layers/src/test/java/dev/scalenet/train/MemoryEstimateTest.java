package dev.scalenet.train;

import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The memory estimate's formula, by hand on a small shape, its monotonicity, and the check's log and failure. */
class MemoryEstimateTest {
    /**
     * 5 tokens of width 8, 2 heads, MLP 32, 3 positions of which 1 has gates and adapters of rank 2; 3x4x4 pixels; 1,000
     * parameters, 600 in the stack; fp32.
     */
    private static final MemoryEstimate.Shape SMALL = new MemoryEstimate.Shape(5, 8, 2, 32, 3, 1, 1, 2, 48, 1000, 600, 4);

    /** DeiT-Tiny's shape at a given depth (its real parameter counts at depth 12). */
    private static MemoryEstimate.Shape deitTiny(int depth) {
        return new MemoryEstimate.Shape(197, 192, 3, 768, depth, 0, 0, 0, 3 * 224 * 224, 5_717_416, 5_338_368, 4);
    }

    @Test
    @DisplayName("each component is its formula: parameters, gradients with a second shard's buffer, AdamW's two moments, activations, work arrays, heap")
    void componentsByHand() {
        MemoryEstimate e = MemoryEstimate.of(SMALL, 2, false, 2, 1, false, true);
        assertEquals(1000 * 4, e.parameters());
        assertEquals((1000 + 600) * 4, e.gradients(), "DL4J's flat gradients and shard 1's buffer of the stack's");
        assertEquals(2 * 1000 * 4, e.optimizerState());
        // per token: 8d + m + 4 + hT = 64 + 32 + 4 + 10 = 110; a gated block with adapters 2d + 2r more = 130
        long plain = 5 * 110;
        long adjusted = 5 * (110 + 16 + 4);
        long outside = 48 + 3 * 5 * 8; // pixels, patch embedding, the stack's input and output
        assertEquals((adjusted + 2 * plain + outside) * 4, e.keptPerExample());
        assertEquals(Math.round(MemoryEstimate.KEPT_FACTOR * 2 * (adjusted + 2 * plain + outside) * 4), e.activations());
        // host arrays: 3 threads (2 shard workers and the caller) x 4 arrays x the largest of one shard's (1 example)
        // probabilities 2*5*5 = 50, MLP 5*32 = 160 and qkv 5*24 = 120 floats
        assertEquals(3 * 4 * 160 * 4, e.hostArrays());
        assertEquals(Math.round(MemoryEstimate.WORK_FACTOR * 2 * adjusted * 4) + 3 * 4 * 160 * 4, e.workArrays());
        assertEquals(MemoryEstimate.BASELINE_MB << 20, e.baseline());
        assertEquals(e.baseline() + e.parameters() + e.gradients() + e.optimizerState() + e.activations()
                + e.workArrays(), e.total());
        assertEquals(e.total(), e.components().values().stream().mapToLong(Long::longValue).sum(), "the components add up");

        MemoryEstimate r = e.withRecompute(true);
        assertEquals((3 * 5 * 8 + outside) * 4, r.keptPerExample(), "only each position's input, and what is outside the stack");
        assertEquals(Math.round(MemoryEstimate.KEPT_RECOMPUTE_FACTOR * 2 * (3 * 5 * 8 + outside) * 4), r.activations());
        assertEquals(2 * Math.round(MemoryEstimate.WORK_FACTOR * 2 * adjusted * 4) + 3 * 4 * 160 * 4, r.workArrays(),
                "the recomputed block's activations besides its backward temporaries");

        MemoryEstimate ema = MemoryEstimate.of(SMALL, 2, false, 2, 1, true, true);
        assertEquals(3 * 1000 * 4, ema.optimizerState(), "the EMA's copy of the weights");
        MemoryEstimate twoWorkers = MemoryEstimate.of(SMALL, 2, false, 2, 2, false, true);
        assertEquals(e.baseline() + 2 * (e.total() - e.baseline()), twoWorkers.total(), "every worker's replica");
        MemoryEstimate noHost = MemoryEstimate.of(SMALL, 2, false, 1, 1, false, false);
        assertEquals(0, noHost.hostArrays());
        assertEquals(1000 * 4, noHost.gradients(), "one shard: no shard buffers");
    }

    @Test
    @DisplayName("more batch or more depth never costs less; recompute always costs less on a deep stack, and grows by about a block input per block")
    void monotone() {
        for (int depth : new int[] {1, 12, 24, 48}) {
            long previous = 0;
            for (int batch = 1; batch <= 512; batch *= 2) {
                MemoryEstimate e = MemoryEstimate.of(deitTiny(depth), batch, false, 2, 1, false, true);
                assertTrue(e.total() > previous, "batch " + batch + ", depth " + depth);
                previous = e.total();
                if (depth >= 12) assertTrue(e.withRecompute(true).total() < e.total(), "recompute at batch " + batch + ", depth " + depth);
                assertTrue(MemoryEstimate.of(deitTiny(depth + 1), batch, false, 2, 1, false, true).total() > e.total());
                assertTrue(MemoryEstimate.of(deitTiny(depth + 1), batch, true, 2, 1, false, true).total()
                        > e.withRecompute(true).total());
            }
        }
        // activations scale linearly in batch and depth
        MemoryEstimate a = MemoryEstimate.of(deitTiny(24), 32, false, 2, 1, false, true);
        MemoryEstimate b = MemoryEstimate.of(deitTiny(24), 64, false, 2, 1, false, true);
        assertEquals(2.0, (double) b.activations() / a.activations(), 1e-6);
        MemoryEstimate deep = MemoryEstimate.of(deitTiny(48), 32, false, 2, 1, false, true);
        long perBlock = deep.activations() - a.activations();
        assertEquals(Math.round(MemoryEstimate.KEPT_FACTOR * 32 * 24 * a.keptPerBlockPerExample()), perBlock, 24 * 2);
        long perBlockRecomputed = deep.withRecompute(true).activations() - a.withRecompute(true).activations();
        assertEquals(Math.round(MemoryEstimate.KEPT_RECOMPUTE_FACTOR * 32 * 24 * 197 * 192 * 4), perBlockRecomputed, 24 * 2);
    }

    @Test
    @DisplayName("the largest batch that fits is the boundary of the estimate (below the CPU engine's largest batch, 220 here)")
    void largestBatch() {
        MemoryEstimate e = MemoryEstimate.of(deitTiny(24), 128, false, 2, 1, false, true);
        long limit = 8L << 30;
        int fits = e.largestBatchWithin(limit);
        assertTrue(e.withBatch(fits).total() <= limit && e.withBatch(fits + 1).total() > limit, "batch " + fits);
        assertEquals(0, e.largestBatchWithin(1L << 20));
    }

    @Test
    @DisplayName("the shape of a real graph: tokens, depth, parameters; a grown stack's gated and adapted positions")
    void shapeOfGraphs() {
        VitConfig c = VitConfig.builder().imgSize(28).patchSize(7).inChans(1).numClasses(10).embedDim(32).depth(2).numHeads(2).build();
        ComputationGraph g = VisionTransformer.builder().config(c).seed(1).build().init();
        MemoryEstimate.Shape s = MemoryEstimate.Shape.of(g);
        assertEquals(17, s.tokens());
        assertEquals(2, s.depth());
        assertEquals(g.numParams(), s.params());
        assertEquals(0, s.gatedPositions());
        assertEquals(28 * 28, s.inputValues());
        ComputationGraph grown = ScaleNet.expand(g, ExpansionPlan.builder().depth(4).build()).graph();
        MemoryEstimate.Shape gs = MemoryEstimate.Shape.of(grown);
        assertEquals(4, gs.depth());
        assertEquals(2, gs.gatedPositions(), "the recommended growth: function-preserving gates on the inserted blocks");
        assertEquals(2, gs.adaptedPositions());
        assertTrue(gs.stackParams() > s.stackParams() && gs.stackParams() < 2 * s.stackParams(), "shared blocks count once");
        TrainConfig recipe = TrainConfig.builder().batchSize(16).build();
        assertTrue(MemoryEstimate.of(grown, recipe, false).total() > MemoryEstimate.of(g, recipe, false).total());
        assertEquals(recipe.batchSize(), MemoryEstimate.of(grown, recipe, false).batch());
    }

    @Test
    @DisplayName("past the CPU engine's shard size the reference runs: the estimate says it does not model that, the check does not"
            + " certify a batch it would fit (a lower bound) and still fails one that cannot, and the largest batch it suggests stays"
            + " with the CPU engine")
    void referencePastTheCpuEngine() {
        // ViT-Base's shapes grown to 24 blocks: 197 x 768 = 151,296 activation elements an example, so at most
        // 2^22 / 151,296 = 27 examples a shard, 54 a batch of 2 shards, for the CPU engine
        MemoryEstimate.Shape base = new MemoryEstimate.Shape(197, 768, 12, 3072, 24, 12, 12, 8, 3 * 224 * 224, 86_900_000, 85_900_000, 4);
        MemoryEstimate e = MemoryEstimate.of(base, 54, false, 2, 1, false, true);
        assertTrue(e.cpuEngine());
        assertEquals(null, e.notModelled());
        assertEquals(54, e.largestCpuEngineBatch());
        assertEquals(54, e.largestBatchWithin(1L << 40), "a large limit: the CPU engine's largest batch, not a larger one");
        MemoryEstimate over = e.withBatch(56);
        assertFalse(over.cpuEngine());
        assertEquals("at batch 56 a batch shard holds 4,236,288 activation elements, past the CPU engine's 4,194,304"
                + " (scalenet.hostKernels.maxElements), so the blocks run the reference path, whose activations the estimate"
                + " does not model (about three times the CPU engine's per example at ViT-Base's width); the largest batch the"
                + " CPU engine takes is 54", over.notModelled());
        List<String> log = new ArrayList<>();
        new MemoryCheck(limits(64 * 1024, 0, true), log::add).check(over, true, false);
        assertEquals("memory: not checked: " + over.notModelled() + "; its lower bound, " + MemoryEstimate.size(over.total())
                + ", is within the 64.0 GB this machine has", log.get(2));
        String m = assertThrows(MemoryCheck.DoesNotFitException.class,
                () -> new MemoryCheck(limits(1024, 0, true), log::add).check(over, true, false)).getMessage();
        assertTrue(m.startsWith("batchSize = 56: expected a batch whose training step fits in memory: the expected peak "
                + MemoryEstimate.size(over.total()) + " at batch 56 (recompute off) is over the 1.0 GB this machine has; lower batchSize"
                + " or set recompute"), m);
        MemoryEstimate fp64 = MemoryEstimate.of(base, 8, false, 2, 1, false, false);
        assertTrue(fp64.notModelled().startsWith("the CPU engine is off for this model"), fp64.notModelled());
    }

    private static MemoryCheck.Limits limits(long physicalMb, long maxPhysicalMb, boolean cpu) {
        return new MemoryCheck.Limits(physicalMb << 20, physicalMb << 19, 1L << 30, maxPhysicalMb << 20, cpu ? "CpuBackend" : "CudaBackend", cpu);
    }

    @Test
    @DisplayName("over the limit: fails naming the batch size, recompute (with its estimate) and the escape hatch; logs the estimate first")
    void doesNotFit() {
        List<String> log = new ArrayList<>();
        MemoryEstimate e = MemoryEstimate.of(deitTiny(24), 200, false, 2, 1, false, true);
        MemoryCheck check = new MemoryCheck(limits(8 * 1024, 0, true), log::add);
        MemoryCheck.DoesNotFitException x = assertThrows(MemoryCheck.DoesNotFitException.class, () -> check.check(e, true, false));
        assertEquals("batchSize", x.setting());
        assertEquals("200", x.value());
        String m = x.getMessage();
        assertTrue(m.startsWith("batchSize = 200: expected a batch whose training step fits in memory: the expected peak "
                + MemoryEstimate.size(e.total()) + " at batch 200 (recompute off) is over the 8.0 GB this machine has; lower batchSize"
                + " (the largest expected to fit: " + e.largestBatchWithin(8L << 30) + ") or set recompute (the estimate with it: "
                + MemoryEstimate.size(e.withRecompute(true).total())), m);
        assertTrue(m.endsWith("; or set memoryCheck false if the estimate is wrong"), m);
        assertTrue(log.get(0).startsWith("memory: expected peak " + MemoryEstimate.size(e.total()) + " for a training step at batch 200,"
                + " recompute off: parameters "), log.toString());
        assertTrue(log.get(1).startsWith("memory: limits: JVM max heap 1.0 GB, ND4J off-heap limit none, physical memory 8.0 GB"), log.toString());

        // recompute on already: only the batch is left to lower
        MemoryEstimate r = e.withRecompute(true);
        MemoryCheck small = new MemoryCheck(limits(2 * 1024, 0, true), log::add);
        String mr = assertThrows(MemoryCheck.DoesNotFitException.class, () -> small.check(r, true, false)).getMessage();
        assertTrue(mr.contains("at batch 200 (recompute on)") && mr.contains("(recompute is on already)"), mr);

        // ND4J's limit below the machine's is the one that counts
        MemoryCheck nd4j = new MemoryCheck(limits(24 * 1024, 4 * 1024, true), log::add);
        String mn = assertThrows(MemoryCheck.DoesNotFitException.class, () -> nd4j.check(e.withBatch(64), true, false)).getMessage();
        assertTrue(mn.contains("is over the 4.0 GB ND4J may use in this JVM (JavaCPP's maxPhysicalBytes"), mn);
    }

    @Test
    @DisplayName("memoryCheck false logs and trains on; another backend logs and skips; executors elsewhere are not checked here; a fit says so")
    void noFailure() {
        MemoryEstimate e = MemoryEstimate.of(deitTiny(24), 200, false, 2, 1, false, true);
        List<String> log = new ArrayList<>();
        new MemoryCheck(limits(1024, 0, true), log::add).check(e, false, false);
        assertTrue(log.get(2).contains("is over the 1.0 GB this machine has") && log.get(2).endsWith("memoryCheck is false, so training starts anyway"),
                log.toString());
        log.clear();
        new MemoryCheck(limits(1024, 0, false), log::add).check(e, true, false);
        assertTrue(log.get(2).startsWith("memory: not checked against this machine's memory: on the CudaBackend backend"), log.toString());
        log.clear();
        new MemoryCheck(limits(1024, 0, true), log::add).check(e, true, true);
        assertTrue(log.get(2).startsWith("memory: not checked here: the workers train on other machines"), log.toString());
        log.clear();
        new MemoryCheck(limits(1024 * 1024, 0, true), log::add).check(e, true, false);
        assertTrue(log.get(2).startsWith("memory: the expected peak " + MemoryEstimate.size(e.total()) + " fits in the 1024.0 GB this machine has"),
                log.toString());
        assertFalse(log.isEmpty());
    }

    @Test
    @DisplayName("memoryCheck is a recipe setting, default true, read and written like the others")
    void setting() {
        assertTrue(TrainConfig.builder().build().memoryCheck());
        TrainConfig off = TrainConfig.builder().memoryCheck(false).build();
        assertFalse(off.memoryCheck());
        assertEquals(off, TrainConfig.fromJson(off.toJson()).build());
        assertFalse(off.toBuilder().build().memoryCheck());
        assertEquals("memoryCheck", assertThrows(dev.scalenet.InvalidSettingException.class,
                () -> TrainConfig.fromJson(new com.fasterxml.jackson.databind.ObjectMapper().readTree("{\"memoryCheck\": \"maybe\"}"))).setting());
    }
}
