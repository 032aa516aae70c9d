package dev.scalenet.spark;

import dev.scalenet.data.Datasets;
import dev.scalenet.data.ImageDataset;
import dev.scalenet.data.Split;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.job.Evaluation;
import dev.scalenet.layers.ScaleNetBlocks;
import dev.scalenet.train.EvalResult;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.train.Trainable;
import dev.scalenet.train.TrainResult;
import dev.scalenet.train.Trainer;
import dev.scalenet.vit.Pretrained;
import dev.scalenet.vit.VitModel;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bundled model grown to 8 blocks (cyclic, rank-8 adapters) fine-tuned with the project's recipe on Spark
 * {@code local[2]} through {@link SparkEngine}: DL4J's ParameterAveragingTrainingMaster, 2 tasks a round, against the
 * same recipe on one worker and on 2 ParallelWrapper workers.
 */
class SparkEngineTest {
    static final Path DATA = Path.of("../data/fashion-mnist").toAbsolutePath().normalize();
    private static JavaSparkContext sc;

    @TempDir
    Path dir;

    @BeforeAll
    static void startSpark() {
        sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("scalenet-spark-test")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1"));
    }

    @AfterAll
    static void stopSpark() {
        if (sc != null) sc.close();
    }

    /**
     * The whole recipe (warm-up/cosine AdamW, decoupled decay, label smoothing, clipping, drop-path, augmentation) on
     * 1,024 training images, batches of 32: 32 steps on one worker, 16 rounds of 2 on two. Everything trains, so the
     * shared tensors' updates are checked too (the default trains the adjustments only).
     */
    static TrainConfig.Builder recipe() {
        return TrainConfig.builder().trainable(Trainable.ALL).epochs(1).batchSize(32).trainLimit(1024).evalLimit(500).learningRate(3e-4)
                .warmupEpochs(0.25).weightDecay(0.05).labelSmoothing(0.1).clipGradNorm(1.0).dropPath(0.1).seed(7)
                .checkpointEvery(0);
    }

    static VitModel grown() throws Exception {
        VitModel base = Pretrained.VIT_FMNIST_D64_L4.load();
        return base.withGraph(ScaleNet.expand(base.graph(), ExpansionPlan.cyclic(8).withAdapterRank(8)).graph());
    }

    /** The held-out and training sets: Fashion-MNIST's files, as every executor reads them. */
    private static ImageDataset data(Split split) throws Exception {
        return Datasets.open(DATA, split);
    }

    private TrainResult fit(VitModel model, TrainConfig recipe, String name, boolean spark) throws Exception {
        Trainer trainer = new Trainer(recipe, model.dataConfig(), dir.resolve(name), name);
        if (spark) trainer = trainer.withParallelEngine(SparkEngine.on(sc, DATA));
        return trainer.fit(model.graph(), data(Split.TRAIN), data(Split.EVAL));
    }

    @Test
    @DisplayName("Spark local[2] fine-tunes the grown bundled model: shared tensors stay one copy and train, adapters"
            + " train, the loss falls, the weights are ParallelWrapper's bit for bit, accuracy near one worker; the zip"
            + " gives the same logits")
    void grownBundledModelOnSpark() throws Exception {
        TrainResult single = fit(grown(), recipe().build(), "single", false);
        TrainResult wrapper = fit(grown(), recipe().workers(2).build(), "wrapper", false);

        VitModel model = grown();
        ComputationGraph g = model.graph();
        Map<String, INDArray> before = snapshot(g);
        long params = g.numParams();
        EvalResult seenBefore = Evaluation.of(model, data(Split.TRAIN), 128, 1024);
        TrainResult spark = fit(model, recipe().workers(2).build(), "spark", true);
        EvalResult seenAfter = Evaluation.of(model, data(Split.TRAIN), 128, 1024);
        System.out.printf(Locale.ROOT, "1 worker: %s, %.0f img/s; ParallelWrapper 2: %s, %.0f img/s; Spark local[2]: %s,"
                        + " %.0f img/s; on the training images %s -> %s%n", single.finalEval(), single.imagesPerSecond(),
                wrapper.finalEval(), wrapper.imagesPerSecond(), spark.finalEval(), spark.imagesPerSecond(), seenBefore, seenAfter);

        assertEquals(16, spark.steps(), "16 rounds: 32 batches of 32, one per task a round");
        assertEquals(16, g.getConfiguration().getIterationCount(), "the schedule advanced by one per round");
        assertEquals(1024, spark.imagesPerSecond() * spark.trainSeconds(), 1e-6, "every training image once");
        // shared tensors: one copy (same parameters, same count), trained through every position that uses them
        Map<String, INDArray> after = snapshot(g);
        assertEquals(params, g.numParams());
        assertEquals(before.keySet(), after.keySet());
        ScaleNetBlocks blocks = blocks(g);
        assertEquals(8, blocks.depth());
        assertEquals(4, blocks.getNumSourceBlocks(), "8 positions share the 4 pretrained blocks");
        int adapters = 0;
        for (String key : before.keySet()) {
            String param = key.substring(key.indexOf('/') + 1);
            for (int k = 0; k < 4; k++) {
                if (param.startsWith(ScaleNetBlocks.sourcePrefix(k))) {
                    assertNotEquals(before.get(key), after.get(key), key + " (shared by 2 positions) trains");
                }
            }
            if (param.startsWith("use") && before.get(key).norm2Number().doubleValue() == 0) {
                adapters++;
                assertTrue(after.get(key).norm2Number().doubleValue() > 0, key + " (an adapter, zero at first) moves off zero");
            }
        }
        assertTrue(adapters >= 4, "the inserted positions' adapters start at zero: " + adapters);

        // The bundled model is trained already (90.2% top-1 on these 500 held-out images, the grown one 88.0%): a short
        // fine-tune moves its loss a little. Measured on Spark: held out 0.4385 -> 0.4105; on the 1,024 images it
        // trained on (no augmentation) 0.4004 -> 0.3602.
        assertTrue(seenAfter.loss() < seenBefore.loss() - 0.01, "loss on the training images falls: " + seenBefore + " -> " + seenAfter);
        EvalResult first = spark.evaluations().get(0);
        assertTrue(spark.finalEval().loss() < first.loss(), "held-out loss falls: " + spark.evaluations());
        // A Spark round is a ParallelWrapper round: the same two batches, DL4J's same step on each from the same weights
        // and Adam state, then the mean of the two (a + b is the same float in either order). So the weights agree bit
        // for bit; without RoundHook they do not (the tasks' graphs would train at iteration 0).
        assertArrayEquals(wrapper.graph().params().data().asFloat(), g.params().data().asFloat(),
                "the weights of 16 Spark rounds are those of 16 ParallelWrapper rounds");
        assertEquals(wrapper.finalEval().top1(), spark.finalEval().top1(), 0.0);
        // One worker takes twice the optimizer steps (32 of batch 32, not 16 averaged pairs) on the same images:
        // measured 86.4% against 87.6% (6 images); allowed 0.03 of top-1 (15 of the 500 held-out images).
        assertEquals(single.finalEval().top1(), spark.finalEval().top1(), 0.03,
                "top-1 one worker " + single.finalEval() + " vs Spark " + spark.finalEval());

        // the model zip holds exactly the trained model: the same logits, bit for bit
        Path zip = dir.resolve("spark.zip");
        model.save(zip);
        VitModel loaded = VitModel.load(zip, null);
        assertEquals(params, loaded.graph().numParams(), "the zip keeps one copy of the shared tensors");
        INDArray x = Nd4j.rand(DataType.FLOAT, 8, 1, 28, 28);
        assertArrayEquals(g.outputSingle(x).data().asFloat(), loaded.graph().outputSingle(x).data().asFloat(),
                "logits of the loaded zip (Arrays.equals on floats compares their bits)");
    }

    private static ScaleNetBlocks blocks(ComputationGraph g) {
        return Arrays.stream(g.getLayers()).map(l -> l.conf().getLayer()).filter(ScaleNetBlocks.class::isInstance)
                .map(ScaleNetBlocks.class::cast).findFirst().orElseThrow(() -> new AssertionError("no ScaleNetBlocks layer"));
    }

    private static Map<String, INDArray> snapshot(ComputationGraph g) {
        Map<String, INDArray> m = new LinkedHashMap<>();
        for (Layer l : g.getLayers()) {
            l.paramTable().forEach((k, v) -> m.put(l.conf().getLayer().getLayerName() + "/" + k, v.dup()));
        }
        return m;
    }
}
