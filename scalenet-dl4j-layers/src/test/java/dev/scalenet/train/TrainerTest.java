package dev.scalenet.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.RawBits;
import dev.scalenet.data.DataConfig;
import dev.scalenet.data.FashionMnist;
import dev.scalenet.data.ImageDataset;
import dev.scalenet.data.Image;
import dev.scalenet.layers.ScaleNetBlocks;
import dev.scalenet.vit.VisionTransformer;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Fine-tuning on real data (the bundled Fashion-MNIST, a few hundred images): what a run does, keeps and leaves. */
class TrainerTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("learns: held-out accuracy far above chance, loss falls, metrics and curve written")
    void learns() throws Exception {
        // a fast plain recipe: no augmentation or smoothing, a high learning rate for 80 steps of 32 images
        TrainConfig quick = TinyRun.recipe().epochs(4).learningRate(1e-2).cropPadding(0).hflip(0).labelSmoothing(0).build();
        TrainResult r = TinyRun.fit(TinyRun.model(), quick, dir, false);
        assertEquals(80, r.steps(), "4 epochs of 20 steps");
        assertEquals(5, r.evaluations().size(), "one evaluation before training and one per epoch");
        assertEquals(0.1, r.evaluations().get(0).top1(), 0.06, "before training: about chance (a zero head)");
        // 10 balanced classes: chance is 10%; measured 39% for this seed (a ViT starts slowly; the bundled model
        // reaches about 90% after 40 epochs of the full set)
        assertTrue(r.finalEval().top1() > 0.30, "top-1 " + r.finalEval());
        assertTrue(r.finalEval().loss() < r.evaluations().get(0).loss(), "held-out loss falls: " + r.evaluations());
        assertEquals(200, r.finalEval().examples());
        List<JsonNode> lines = MetricsLog.read(r.metricsFile(), Long.MAX_VALUE);
        assertEquals(80 + 5, lines.size(), "a train line per step here (20 steps < 20 lines an epoch) and 5 eval lines");
        byte[] png = Files.readAllBytes(r.curveFile());
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(png, 4));
        assertEquals(r.totalParams(), r.trainableParams());
        assertTrue(r.imagesPerSecond() > 0);
    }

    @Test
    @DisplayName("evalsPerEpoch 4: held-out evaluations after 5, 10, 15 and 20 of an epoch's 20 steps, and the weights are those of evalsPerEpoch 1")
    void evaluationsInsideEpochs() throws Exception {
        TrainResult once = TinyRun.fit(TinyRun.model(), TinyRun.recipe().build(), dir.resolve("once"), false);
        TrainResult four = TinyRun.fit(TinyRun.model(), TinyRun.recipe().evalsPerEpoch(4).build(), dir.resolve("four"), false);
        List<Long> steps = MetricsLog.read(four.metricsFile(), Long.MAX_VALUE).stream()
                .filter(l -> "eval".equals(l.path("event").asText())).map(l -> l.get("step").asLong()).toList();
        assertEquals(List.of(0L, 5L, 10L, 15L, 20L, 25L, 30L, 35L, 40L), steps, "2 epochs of 20 steps, before training and 4 an epoch");
        assertEquals(9, four.evaluations().size());
        assertEquals(once.finalEval().top1(), four.finalEval().top1(), "evaluating does not change training");
        assertArrayEquals(RawBits.of(once.graph().params()), RawBits.of(four.graph().params()), "bit-identical weights");
    }

    @Test
    @DisplayName("evaluation points: evenly spaced inside the epoch, the last at its end; 1 a epoch means epoch ends only")
    void evaluationPoints() {
        TrainConfig four = TrainConfig.builder().evalsPerEpoch(4).build();
        List<Long> points = new java.util.ArrayList<>();
        for (long s = 1; s <= 468; s++) if (four.evaluatesAfter(s, 468)) points.add(s);
        assertEquals(List.of(117L, 234L, 351L, 468L), points);
        TrainConfig three = TrainConfig.builder().evalsPerEpoch(3).build();
        points.clear();
        for (long s = 1; s <= 10; s++) if (three.evaluatesAfter(s, 10)) points.add(s);
        assertEquals(List.of(4L, 7L, 10L), points, "floor(s * 3 / 10) steps up at s = 4 and 7");
        TrainConfig one = TrainConfig.builder().build();
        assertEquals(1, one.evalsPerEpoch());
        for (long s = 1; s < 468; s++) assertFalse(one.evaluatesAfter(s, 468), "step " + s);
        assertTrue(one.evaluatesAfter(468, 468));
        assertThrows(dev.scalenet.InvalidSettingException.class, () -> TrainConfig.builder().evalsPerEpoch(0).build());
    }

    @Test
    @DisplayName("deterministic: the same seed gives the same weights; another seed other weights")
    void deterministic() throws Exception {
        INDArray a = TinyRun.fit(TinyRun.model(), TinyRun.recipe().build(), dir.resolve("a"), false).graph().params();
        INDArray b = TinyRun.fit(TinyRun.model(), TinyRun.recipe().build(), dir.resolve("b"), false).graph().params();
        INDArray c = TinyRun.fit(TinyRun.model(), TinyRun.recipe().seed(8).build(), dir.resolve("c"), false).graph().params();
        assertArrayEquals(RawBits.of(a), RawBits.of(b), "bit-identical weights");
        assertNotEquals(a, c, "differ by more than ND4J's epsilon");
    }

    @Test
    @DisplayName("a run killed mid-way (SIGKILL, another JVM) resumes from its checkpoint to exactly the uninterrupted result")
    void resumesAfterKill() throws Exception {
        TrainResult straight = TinyRun.fit(TinyRun.model(), TinyRun.recipe().epochs(3).build(), dir.resolve("straight"), false);

        Path killed = dir.resolve("killed");
        long at = TinyRun.killAfterFirstCheckpoint(dir.resolve("child.log"), killed.toString(), "3");
        assertTrue(at < 60, "killed mid-run, at step " + at + " of 60");

        TrainResult resumed = TinyRun.fit(TinyRun.model(), TinyRun.recipe().epochs(3).build(), killed, true);
        assertEquals(at, resumed.resumedFromStep());
        assertArrayEquals(RawBits.of(straight.graph().params()), RawBits.of(resumed.graph().params()), "bit-identical weights");
        assertEquals(straight.finalEval().top1(), resumed.finalEval().top1());
        assertEquals(straight.finalEval().loss(), resumed.finalEval().loss());
        assertEquals(MetricsLog.read(straight.metricsFile(), Long.MAX_VALUE).size(),
                MetricsLog.read(resumed.metricsFile(), Long.MAX_VALUE).size(), "the metrics file reads as one run");
    }

    @Test
    @DisplayName("a resume with another recipe is refused, naming what differs")
    void resumeWithOtherRecipe() throws Exception {
        TinyRun.fit(TinyRun.model(), TinyRun.recipe().epochs(1).build(), dir, false);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> TinyRun.fit(TinyRun.model(), TinyRun.recipe().epochs(1).learningRate(1e-3).build(), dir, true));
        assertTrue(e.getMessage().contains("recipe differs"), e.getMessage());
    }

    @Test
    @DisplayName("a checkpoint resumes across settings that do not change the weights: control and evalsPerEpoch")
    void resumeAcrossEvaluationSettings() throws Exception {
        TinyRun.fit(TinyRun.model(), TinyRun.recipe().epochs(1).build(), dir, false);
        TrainResult again = TinyRun.fit(TinyRun.model(), TinyRun.recipe().epochs(1).control(true).evalsPerEpoch(4).build(), dir, true);
        assertEquals(20, again.resumedFromStep(), "resumed from the finished run's last checkpoint");
    }

    @Test
    @DisplayName("a diverging run stops before the bad update, names the step and keeps the last good checkpoint")
    void divergence() throws Exception {
        TrainConfig wild = TinyRun.recipe().learningRate(1e4).warmupEpochs(0).clipGradNorm(0).checkpointEvery(1).build();
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                () -> TinyRun.fit(TinyRun.model(), wild, dir, false));
        assertTrue(e.getMessage().contains("training stopped at step " + e.step()), e.getMessage());
        assertTrue(e.getMessage().contains("Lower learningRate"), e.getMessage());
        TrainingCheckpoint kept = TrainingCheckpoint.load(dir.resolve(Trainer.CHECKPOINT), TinyRun.model().numParams());
        assertEquals(e.step(), kept.step(), "the checkpoint is the state before the failing step");
        for (float v : kept.params.data().asFloat()) assertTrue(Float.isFinite(v), "the kept weights are finite");
    }

    @Test
    @DisplayName("trainable=adjustments: shared blocks and embeddings stay bit-identical; adapters, norms and head train")
    void adjustmentsOnly() throws Exception {
        ComputationGraph g = TinyRun.expanded();
        Map<String, INDArray> before = snapshot(g);
        TrainResult r = TinyRun.fit(g, TinyRun.recipe().epochs(1).trainable(Trainable.ADJUSTMENTS).build(), dir, false);
        Map<String, INDArray> after = snapshot(r.graph());
        long trainable = 0;
        for (Map.Entry<String, INDArray> e : before.entrySet()) {
            String key = e.getKey();
            String param = key.substring(key.indexOf('/') + 1);
            boolean shouldTrain = key.startsWith("head/") || param.startsWith("use") || param.contains("norm");
            if (shouldTrain) {
                trainable += e.getValue().length();
                assertNotEquals(e.getValue(), after.get(key), key + " trains");
            } else {
                assertArrayEquals(RawBits.of(e.getValue()), RawBits.of(after.get(key)), key + " is frozen: bit-identical");
            }
        }
        assertEquals(trainable, r.trainableParams());
        assertTrue(r.trainableParams() < r.totalParams() / 4, r.trainableParams() + " of " + r.totalParams());
    }

    @Test
    @DisplayName("AdamW decay applies to weight matrices only: not to norms, biases, class token or position embedding")
    void weightDecayOnWeightsOnly() throws Exception {
        ComputationGraph g = TinyRun.model();
        TinyRun.fit(g, TinyRun.recipe().epochs(1).steps(1).build(), dir, false);
        for (Layer l : g.getLayers()) {
            org.deeplearning4j.nn.conf.layers.BaseLayer conf = (org.deeplearning4j.nn.conf.layers.BaseLayer) l.conf().getLayer();
            for (String p : l.paramTable().keySet()) {
                boolean decays = !conf.getRegularizationByParam(p).isEmpty();
                boolean isMatrix = p.equals("W") || p.endsWith("proj.weight") || p.endsWith("qkv.weight") || p.endsWith("fc1.weight")
                        || p.endsWith("fc2.weight");
                assertEquals(isMatrix, decays, l.conf().getLayer().getLayerName() + "/" + p);
            }
        }
    }

    @Test
    @DisplayName("EMA: the result is the closed-form moving average of the weights after each step, not the last weights")
    void ema() throws Exception {
        // a constant learning rate (no warm-up, cosine floor = peak), so a run of t steps is the first t steps of a
        // longer one and the weights after each step can be recorded by shorter runs
        TrainConfig.Builder flat = TinyRun.recipe().warmupEpochs(0).minLearningRate(5e-3);
        int steps = 3;
        double d = 0.5;
        List<INDArray> w = new java.util.ArrayList<>();
        w.add(TinyRun.model().params().castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE));
        for (int t = 1; t <= steps; t++) {
            w.add(TinyRun.fit(TinyRun.model(), flat.steps(t).build(), dir.resolve("plain" + t), false).graph().params()
                    .castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE));
        }
        INDArray averaged = TinyRun.fit(TinyRun.model(), flat.steps(steps).emaDecay(d).build(), dir.resolve("ema"), false)
                .graph().params().castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE);
        // ema_0 = w_0, ema_t = d ema_(t-1) + (1 - d) w_t, unrolled
        INDArray expected = w.get(0).mul(Math.pow(d, steps));
        for (int t = 1; t <= steps; t++) expected.addi(w.get(t).mul((1 - d) * Math.pow(d, steps - t)));
        double err = averaged.sub(expected).amaxNumber().doubleValue();
        // float32 accumulation of three multiply-adds on weights below 10 in magnitude: a few ulp, well under 1e-5
        assertTrue(err < 1e-5, "max |EMA - closed form| " + err);
        double fromLast = averaged.sub(w.get(steps)).amaxNumber().doubleValue();
        double fromStart = averaged.sub(w.get(0)).amaxNumber().doubleValue();
        assertTrue(fromLast > 1e-3, "the EMA differs from the last weights: max difference " + fromLast);
        assertTrue(fromStart > 1e-3, "the EMA moved from the start: max difference " + fromStart);
    }

    @Test
    @DisplayName("gradient clipping: a tiny max norm shrinks the first Adam steps to almost nothing")
    void clipping() throws Exception {
        INDArray start = TinyRun.model().params();
        TrainConfig.Builder oneStep = TinyRun.recipe().steps(1).warmupEpochs(0);
        double free = TinyRun.fit(TinyRun.model(), oneStep.clipGradNorm(0).build(), dir.resolve("free"), false)
                .graph().params().sub(start).norm2Number().doubleValue();
        // Adam divides by sqrt(v) + 1e-8: a gradient clipped to norm 1e-12 is dominated by epsilon
        double clipped = TinyRun.fit(TinyRun.model(), oneStep.clipGradNorm(1e-12).build(), dir.resolve("clipped"), false)
                .graph().params().sub(start).norm2Number().doubleValue();
        assertTrue(clipped < free * 1e-2, "clipped step " + clipped + " vs " + free);
    }

    @Test
    @DisplayName("a dataset whose classes do not match the head is refused, naming the setting")
    void classMismatch() {
        ImageDataset threeClasses = new ImageDataset() {
            public int size() { return 100; }
            public List<String> classNames() { return List.of("a", "b", "c"); }
            public int label(int i) { return i % 3; }
            public Image image(int i) { return new Image(1, 28, 28, new float[784]); }
            public String describe() { return "three classes"; }
        };
        InvalidSettingException e = assertThrows(InvalidSettingException.class, () -> new Trainer(TinyRun.recipe().build(),
                DataConfig.fashionMnist(), dir, "tiny").fit(TinyRun.model(), threeClasses, null));
        assertEquals("trainData", e.setting());
        assertTrue(e.getMessage().contains("10 classes"), e.getMessage());
    }

    private static Map<String, INDArray> snapshot(ComputationGraph g) {
        Map<String, INDArray> m = new java.util.LinkedHashMap<>();
        for (Layer l : g.getLayers()) {
            l.paramTable().forEach((k, v) -> m.put(l.conf().getLayer().getLayerName() + "/" + k, v.dup()));
        }
        return m;
    }
}
