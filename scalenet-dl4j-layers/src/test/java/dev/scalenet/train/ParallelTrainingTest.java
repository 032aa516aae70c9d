package dev.scalenet.train;

import dev.scalenet.InvalidSettingException;
import dev.scalenet.layers.ScaleNetBlocks;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code workers > 1}: the recipe trains through DL4J's ParallelWrapper, 2 workers on the CPU here. */
class ParallelTrainingTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("2 workers train the grown model: shared tensors stay one copy, adapters train, loss falls, accuracy"
            + " near the single-worker run")
    void twoWorkersTrainTheGrownModel() throws Exception {
        TrainConfig.Builder recipe = TinyRun.recipe().epochs(2);
        TrainResult single = TinyRun.fit(TinyRun.expanded(), recipe.build(), dir.resolve("single"), false);
        // what 2 workers of batch 32 stand for: one worker with the 64 images of a round per step
        TrainResult single64 = TinyRun.fit(TinyRun.expanded(), TinyRun.recipe().epochs(2).batchSize(64).build(),
                dir.resolve("single64"), false);

        ComputationGraph g = TinyRun.expanded();
        Map<String, INDArray> before = snapshot(g);
        long params = g.numParams();
        TrainResult parallel = TinyRun.fit(g, recipe.workers(2).build(), dir.resolve("parallel"), false);

        assertEquals(20, parallel.steps(), "2 epochs of 10 rounds (20 batches of 32 an epoch, one per worker a round)");
        assertEquals(2 * 640, parallel.imagesPerSecond() * parallel.trainSeconds(), 1e-6, "every training image of both epochs");
        assertEquals(20, g.getConfiguration().getIterationCount(), "the schedule advanced by one per round");
        // shared tensors: one copy (same parameter names and count), trained by every use
        Map<String, INDArray> after = snapshot(g);
        assertEquals(params, g.numParams());
        assertEquals(before.keySet(), after.keySet());
        ScaleNetBlocks blocks = blocks(g);
        assertEquals(4, blocks.depth());
        assertEquals(2, blocks.getNumSourceBlocks(), "4 positions share 2 source blocks");
        for (String key : before.keySet()) {
            String param = key.substring(key.indexOf('/') + 1);
            if (param.startsWith(ScaleNetBlocks.sourcePrefix(0)) || param.startsWith(ScaleNetBlocks.sourcePrefix(1))) {
                assertNotEquals(before.get(key), after.get(key), key + " (shared by 2 positions) trains");
            }
            if (param.startsWith("use") && before.get(key).norm2Number().doubleValue() == 0) {
                assertTrue(after.get(key).norm2Number().doubleValue() > 0, key + " (an adapter, zero at first) moves off zero");
            }
        }
        // what ParallelWrapper's replicas are: the graph rebuilt from its JSON configuration and its weights
        ComputationGraph replica = new ComputationGraph(ComputationGraphConfiguration.fromJson(g.getConfiguration().toJson()));
        replica.init(g.params().dup(), false);
        assertEquals(blocks.getOrder().length, blocks(replica).getOrder().length);
        INDArray x = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 4, 1, 28, 28);
        assertEquals(g.outputSingle(x), replica.outputSingle(x), "a replica computes exactly what the graph computes");

        EvalResult first = parallel.evaluations().get(0);
        assertTrue(parallel.finalEval().loss() < first.loss() - 0.1, "held-out loss falls: " + parallel.evaluations());
        // Measured on 200 held-out images (one image is 0.005 of top-1): 1 worker batch 32: top-1 0.200, loss 2.064;
        // 1 worker batch 64: 0.200, 2.132; 2 workers batch 32: 0.190, 2.121. Averaging Adam steps is close to, not
        // the same as, one step on both batches, so: 0.05 of top-1 (10 images), 0.05 of loss against the equivalent
        // batch-64 run, 0.10 against batch 32 (which takes twice the optimizer steps).
        assertEquals(single.finalEval().top1(), parallel.finalEval().top1(), 0.05,
                "top-1 single " + single.finalEval() + " vs 2 workers " + parallel.finalEval());
        assertEquals(single64.finalEval().top1(), parallel.finalEval().top1(), 0.05,
                "top-1 single batch 64 " + single64.finalEval() + " vs 2 workers " + parallel.finalEval());
        assertEquals(single64.finalEval().loss(), parallel.finalEval().loss(), 0.05,
                "loss single batch 64 " + single64.finalEval() + " vs 2 workers " + parallel.finalEval());
        assertEquals(single.finalEval().loss(), parallel.finalEval().loss(), 0.10,
                "loss single " + single.finalEval() + " vs 2 workers " + parallel.finalEval());
    }

    @Test
    @DisplayName("a parallel run killed mid-way (SIGKILL, another JVM) resumes from its checkpoint to the uninterrupted result")
    void resumesAfterKill() throws Exception {
        TrainResult straight = TinyRun.fit(TinyRun.model(), TinyRun.recipe().epochs(2).workers(2).build(),
                dir.resolve("straight"), false);

        Path killed = dir.resolve("killed");
        long at = TinyRun.killAfterFirstCheckpoint(dir.resolve("child.log"), killed.toString(), "2", "2");
        assertTrue(at < 20, "killed mid-run, at step " + at + " of 20");

        TrainResult resumed = TinyRun.fit(TinyRun.model(), TinyRun.recipe().epochs(2).workers(2).build(), killed, true);
        assertEquals(at, resumed.resumedFromStep());
        assertEquals(20, resumed.steps());
        assertEquals(20, resumed.graph().getConfiguration().getIterationCount(), "the schedule went on from the checkpoint");
        assertEquals(straight.graph().params(), resumed.graph().params(), "the same weights as the uninterrupted run");
        assertEquals(straight.finalEval().top1(), resumed.finalEval().top1());
        assertEquals(MetricsLog.read(straight.metricsFile(), Long.MAX_VALUE).size(),
                MetricsLog.read(resumed.metricsFile(), Long.MAX_VALUE).size(), "the metrics file reads as one run");
    }

    @Test
    @DisplayName("deterministic: two 2-worker runs with the same seed give the same weights")
    void deterministic() throws Exception {
        INDArray a = TinyRun.fit(TinyRun.model(), TinyRun.recipe().epochs(1).workers(2).build(), dir.resolve("a"), false).graph().params();
        INDArray b = TinyRun.fit(TinyRun.model(), TinyRun.recipe().epochs(1).workers(2).build(), dir.resolve("b"), false).graph().params();
        assertEquals(a, b);
    }

    @Test
    @DisplayName("a diverging parallel run stops, names the steps that ran and keeps the last good checkpoint")
    void divergence() throws Exception {
        TrainConfig wild = TinyRun.recipe().learningRate(1e4).warmupEpochs(0).clipGradNorm(0).checkpointEvery(1).workers(2).build();
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                () -> TinyRun.fit(TinyRun.model(), wild, dir, false));
        assertTrue(e.getMessage().contains("ran in parallel and are not saved"), e.getMessage());
        Path checkpoint = dir.resolve(Trainer.CHECKPOINT);
        if (Files.exists(checkpoint)) {
            TrainingCheckpoint kept = TrainingCheckpoint.load(checkpoint, TinyRun.model().numParams());
            assertEquals(e.step(), kept.step(), "the checkpoint is the state before the failing step");
            for (float v : kept.params.data().asFloat()) assertTrue(Float.isFinite(v), "the kept weights are finite");
        } else {
            assertEquals(0, e.step(), "no checkpoint only if the first step failed");
        }
    }

    @Test
    @DisplayName("an EMA of the weights with several workers is refused, naming emaDecay")
    void emaNeedsOneWorker() {
        InvalidSettingException e = assertThrows(InvalidSettingException.class,
                () -> TinyRun.recipe().workers(2).emaDecay(0.999).build());
        assertEquals("emaDecay", e.setting());
        assertTrue(e.getMessage().contains("workers"), e.getMessage());
    }

    @Test
    @DisplayName("more workers than batches in an epoch is refused, naming workers")
    void moreWorkersThanBatches() {
        InvalidSettingException e = assertThrows(InvalidSettingException.class,
                () -> TinyRun.fit(TinyRun.model(), TinyRun.recipe().workers(21).build(), dir, false));
        assertEquals("workers", e.setting());
        assertTrue(e.getMessage().contains("20 batches"), e.getMessage());
    }

    private static ScaleNetBlocks blocks(ComputationGraph g) {
        for (Layer l : g.getLayers()) {
            if (l.conf().getLayer() instanceof ScaleNetBlocks b) return b;
        }
        throw new AssertionError("no ScaleNetBlocks layer");
    }

    private static Map<String, INDArray> snapshot(ComputationGraph g) {
        Map<String, INDArray> m = new LinkedHashMap<>();
        for (Layer l : g.getLayers()) {
            l.paramTable().forEach((k, v) -> m.put(l.conf().getLayer().getLayerName() + "/" + k, v.dup()));
        }
        return m;
    }
}
