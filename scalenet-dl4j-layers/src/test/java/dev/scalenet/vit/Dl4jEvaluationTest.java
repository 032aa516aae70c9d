package dev.scalenet.vit;

import dev.scalenet.data.BatchLoader;
import dev.scalenet.data.FashionMnist;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import org.deeplearning4j.earlystopping.EarlyStoppingConfiguration;
import org.deeplearning4j.earlystopping.EarlyStoppingResult;
import org.deeplearning4j.earlystopping.saver.InMemoryModelSaver;
import org.deeplearning4j.earlystopping.scorecalc.ClassificationScoreCalculator;
import org.deeplearning4j.earlystopping.termination.MaxEpochsTerminationCondition;
import org.deeplearning4j.earlystopping.trainer.EarlyStoppingGraphTrainer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.evaluation.classification.ROCMultiClass;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.ops.transforms.Transforms;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DL4J's own evaluation API on this project's graphs, as a DL4J user calls it: the head is a softmax output layer, so
 * {@code graph.evaluate}, {@code evaluateROCMultiClass} and early stopping's classification scoring accept the graph
 * as it is and after {@code TransferLearning}, with validation on.
 */
class Dl4jEvaluationTest {
    private static VitModel bundled;
    private static BatchLoader test;

    @BeforeAll
    static void load() throws Exception {
        bundled = Pretrained.load("vit_fmnist_d64_l4");
        test = BatchLoader.evaluation(FashionMnist.test(), bundled.dataConfig(), 250).limit(2000).build();
    }

    @Test
    @DisplayName("output() is the softmax of timm's logits, and DL4J's Evaluation agrees with the project's evaluator")
    void evaluateAsItIs() {
        ComputationGraph g = bundled.graph();
        assertTrue(g.getConfiguration().isValidateOutputLayerConfig(), "DL4J's output-layer validation stays on");
        assertInstanceOf(ActivationSoftmax.class, ((BaseOutputLayer) g.getLayer(VisionTransformer.HEAD).conf().getLayer()).getActivationFn());
        DataSet batch = test.iterator().next();
        INDArray logits = Features.logits(g, batch.getFeatures());
        // float32 softmax of the same logits: 1e-6 absolute on probabilities in [0, 1]
        assertTrue(Transforms.softmax(logits, true).equalsWithEps(g.outputSingle(batch.getFeatures()), 1e-6));
        Evaluation eval = g.evaluate(test.iterator());
        double project = dev.scalenet.train.Evaluator.evaluate(g, test.iterator()).top1();
        assertEquals(project, eval.accuracy(), 1e-12, "the same argmax on the same 2,000 images");
        ROCMultiClass roc = g.evaluateROCMultiClass(test.iterator(), 0);
        // measured 0.99 for the bundled model on these images; a scrambled or logit-ranked model falls well below
        assertTrue(roc.calculateAverageAUC() > 0.97, "average one-vs-all AUC " + roc.calculateAverageAUC());
    }

    @Test
    @DisplayName("VisionTransformer.summary: one short row per vertex, the grown stack in one line, parameters adding up")
    void summary() {
        ComputationGraph grown = ScaleNet.expand(bundled.graph(), ExpansionPlan.builder().build()).graph();
        String summary = VisionTransformer.summary(grown);
        String blocksRow = summary.lines().filter(l -> l.startsWith(VisionTransformer.BLOCKS + " ")).findFirst().orElseThrow();
        assertTrue(blocksRow.length() < 200, "a short stack row, where DL4J's summary() prints thousands of characters: " + blocksRow);
        assertTrue(blocksRow.contains("8 positions, order 0,1,2,3,0,1,2,3 over 4 shared source blocks")
                && blocksRow.contains("inserted 4,5,6,7: adapters rank 8, gates"), blocksRow);
        assertTrue(summary.lines().anyMatch(l -> l.matches("total\\s+148,298")), summary);
    }

    @Test
    @DisplayName("TransferLearning: a fresh head on the frozen grown model's features learns to the base's accuracy, and evaluate, ROC and early-stopping scoring run")
    void freshHeadAfterTransferLearning() throws Exception {
        ComputationGraph grown = ScaleNet.expand(bundled.graph(), ExpansionPlan.builder().build()).graph();
        ComputationGraph tl = new TransferLearning.GraphBuilder(grown)
                .fineTuneConfiguration(new FineTuneConfiguration.Builder().updater(new Adam(1e-2)).seed(7).build())
                .setFeatureExtractor(VisionTransformer.POOL)
                .nOutReplace(VisionTransformer.HEAD, 10, WeightInit.XAVIER).build();
        BatchLoader train = BatchLoader.training(FashionMnist.train(), bundled.dataConfig(), 128).limit(12_800).seed(3).build();
        EarlyStoppingConfiguration<ComputationGraph> conf = new EarlyStoppingConfiguration.Builder<ComputationGraph>()
                .epochTerminationConditions(new MaxEpochsTerminationCondition(2))
                .scoreCalculator(new ClassificationScoreCalculator(Evaluation.Metric.ACCURACY, test.iterator()))
                .modelSaver(new InMemoryModelSaver<>()).build();
        EarlyStoppingResult<ComputationGraph> result = new EarlyStoppingGraphTrainer(conf, tl, train.iterator()).fit();
        Evaluation eval = result.getBestModel().evaluate(test.iterator());
        // the base reaches 89.2% on the full test set; a linear head on its (function-preserving, so unchanged)
        // features reaches 88-89% here. Scrambled features (the bug this guards against) gave 36%
        assertTrue(eval.accuracy() > 0.85, "accuracy of a fresh head " + eval.accuracy());
        double bestScore = result.getScoreVsEpoch().values().stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        assertEquals(eval.accuracy(), bestScore, 1e-12, "early stopping scored each epoch by accuracy and kept the best");
        assertTrue(result.getBestModel().evaluateROCMultiClass(test.iterator(), 0).calculateAverageAUC() > 0.97);
    }
}
