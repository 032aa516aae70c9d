package dev.scalenet.train;

import dev.scalenet.vit.Features;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.util.Iterator;

/** Top-1, top-5 and cross-entropy of a classifier over labelled batches, in inference mode. */
public final class Evaluator {
    private Evaluator() {}

    /**
     * Fails unless {@code dataset} has the head's {@code classes}; {@code setting} names where the dataset came
     * from ({@code trainData}, {@code evalData}).
     */
    public static void requireClasses(String setting, dev.scalenet.data.ImageDataset dataset, int classes) {
        dev.scalenet.InvalidSettingException.require(dataset.numClasses() == classes, setting, dataset.describe(),
                "a dataset with " + classes + " classes to match the model's head (it has " + dataset.numClasses()
                        + ": " + dataset.classNames() + ")");
    }

    /** Receives every image's outcome, in data order. */
    @FunctionalInterface
    public interface PerImage {
        /** @param predicted the top-1 class (ties to the lower index) @param label the true class */
        void accept(int predicted, int label);
    }

    /** @param batches features and one-hot labels; consumed */
    public static EvalResult evaluate(ComputationGraph graph, Iterator<DataSet> batches) {
        return evaluate(graph, batches, (predicted, label) -> { });
    }

    /** The same, also handing every image's predicted class and label to {@code perImage}, in data order. */
    public static EvalResult evaluate(ComputationGraph graph, Iterator<DataSet> batches, PerImage perImage) {
        long n = 0;
        long top1 = 0;
        long top5 = 0;
        double lossSum = 0;
        while (batches.hasNext()) {
            DataSet batch = batches.next();
            INDArray logits = Features.logits(graph, batch.getFeatures());
            float[][] z = logits.toFloatMatrix();
            float[][] y = batch.getLabels().toFloatMatrix();
            for (int i = 0; i < z.length; i++) {
                int label = argmax(y[i]);
                int rank = rankOf(z[i], label);
                if (rank == 0) top1++;
                perImage.accept(argmax(z[i]), label);
                if (rank < 5) top5++;
                lossSum += logSumExp(z[i]) - z[i][label];
                n++;
            }
        }
        if (n == 0) throw new IllegalArgumentException("evaluation got no examples");
        return new EvalResult(n, (double) top1 / n, (double) top5 / n, lossSum / n);
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    /** The label's place among the classes by score; ties go to the lower class index, as torch's topk/argmax. */
    private static int rankOf(float[] logits, int label) {
        int rank = 0;
        for (int c = 0; c < logits.length; c++) {
            if (logits[c] > logits[label] || (logits[c] == logits[label] && c < label)) rank++;
        }
        return rank;
    }

    private static double logSumExp(float[] v) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : v) max = Math.max(max, x);
        double sum = 0;
        for (float x : v) sum += Math.exp(x - max);
        return max + Math.log(sum);
    }
}
