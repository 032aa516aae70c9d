package dev.scalenet.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Accuracy and loss as timm computes them: ties rank the lower class index first, the loss has no smoothing. */
class EvaluatorTest {

    @Test
    @DisplayName("a fresh model's zero head ties every class: top-1 counts label 0, top-5 labels 0-4; loss is ln(10)")
    void ties() {
        ComputationGraph g = TinyRun.model(); // timm initialises the head to zero: every logit is 0
        int[] labels = {0, 0, 3, 5, 9, 4, 7, 1};
        Nd4j.getRandom().setSeed(1);
        DataSet batch = new DataSet(Nd4j.randn(DataType.FLOAT, labels.length, 1, 28, 28), oneHot(labels));
        EvalResult r = Evaluator.evaluate(g, List.of(batch).iterator());
        assertEquals(8, r.examples());
        assertEquals(2.0 / 8, r.top1(), 1e-12, "only the label-0 examples");
        assertEquals(5.0 / 8, r.top5(), 1e-12, "labels 0, 0, 3, 4, 1");
        assertEquals(Math.log(10), r.loss(), 1e-6);
    }

    private static org.nd4j.linalg.api.ndarray.INDArray oneHot(int[] labels) {
        var y = Nd4j.zeros(DataType.FLOAT, labels.length, 10);
        for (int i = 0; i < labels.length; i++) y.putScalar(i, labels[i], 1);
        return y;
    }
}
