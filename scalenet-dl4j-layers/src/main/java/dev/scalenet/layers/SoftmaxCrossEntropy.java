package dev.scalenet.layers;

import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Cross-entropy of softmax(logits) against (optionally label-smoothed) targets. DL4J hands a loss the output layer's
 * pre-activation, which is the logits; the layer's activation is softmax (the network outputs probabilities, as DL4J's
 * classifiers do) or, in models written before version 0.2, the identity: the loss is the same for both. Smoothing ε gives each class
 * ε/K and the true class 1 − ε + ε/K, as {@code torch.nn.CrossEntropyLoss(label_smoothing=ε)}.
 * Per-example scores and gradients; DL4J averages over the minibatch. In fp32 on the CPU backend both are computed
 * in Java, row by row in double precision, where ND4J takes a dozen operations on a {@code [batch, classes]} array
 * (2.4% of the micro model's training step, on the thread the shards wait for).
 */
public class SoftmaxCrossEntropy implements ILossFunction {
    private double labelSmoothing;

    public SoftmaxCrossEntropy() {
        this(0.0);
    }

    public SoftmaxCrossEntropy(double labelSmoothing) {
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
            throw new IllegalArgumentException("labelSmoothing must be in [0, 1), was " + labelSmoothing);
        }
        this.labelSmoothing = labelSmoothing;
    }

    public double getLabelSmoothing() { return labelSmoothing; }
    public void setLabelSmoothing(double labelSmoothing) { this.labelSmoothing = labelSmoothing; }

    private static void requireSoftmaxOrIdentity(IActivation activationFn) {
        if (!(activationFn instanceof ActivationSoftmax || activationFn instanceof ActivationIdentity)) {
            throw new IllegalStateException("SoftmaxCrossEntropy reads the logits and needs the softmax (or identity) "
                    + "activation on its output layer, found " + activationFn);
        }
    }

    private INDArray targets(INDArray labels) {
        if (labelSmoothing == 0) return labels;
        return labels.mul(1 - labelSmoothing).addi(labelSmoothing / labels.size(1));
    }

    private static INDArray logSoftmax(INDArray logits) {
        INDArray shifted = logits.subColumnVector(logits.max(true, 1));
        INDArray logSum = Transforms.log(Transforms.exp(shifted, true).sum(true, 1), false);
        return shifted.subiColumnVector(logSum);
    }

    /** Whether the host path takes these: fp32 logits and labels of matching shape, no mask or one per example. */
    private static boolean onHost(INDArray labels, INDArray preOutput, INDArray mask) {
        return HostFloats.applies(preOutput) && labels.dataType() == DataType.FLOAT && preOutput.rank() == 2
                && labels.equalShapes(preOutput) && (mask == null || mask.length() == preOutput.size(0));
    }

    /**
     * Per row of logits z and targets t: the score {@code −Σ t·log softmax(z)} into {@code scores} (unless null) and the
     * gradient {@code softmax(z)·Σt − t} into {@code gradient} (unless null), each times the row's mask.
     */
    private void onHost(INDArray labels, INDArray preOutput, INDArray mask, float[] scores, float[] gradient) {
        int n = Math.toIntExact(preOutput.size(0));
        int k = Math.toIntExact(preOutput.size(1));
        float[] z = HostFloats.copy(preOutput);
        float[] y = HostFloats.copy(labels);
        float[] m = mask == null ? null : HostFloats.copy(mask.castTo(DataType.FLOAT));
        double smooth = labelSmoothing;
        for (int r = 0; r < n; r++) {
            int at = r * k;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < k; j++) max = Math.max(max, z[at + j]);
            double sumExp = 0;
            for (int j = 0; j < k; j++) sumExp += Math.exp(z[at + j] - max);
            double logSum = Math.log(sumExp);
            double weight = m == null ? 1 : m[r];
            double score = 0;
            double targetSum = 0;
            for (int j = 0; j < k; j++) {
                double t = smooth == 0 ? y[at + j] : y[at + j] * (1 - smooth) + smooth / k;
                score -= t * (z[at + j] - max - logSum);
                targetSum += t;
            }
            if (scores != null) scores[r] = (float) (score * weight);
            if (gradient != null) {
                for (int j = 0; j < k; j++) {
                    double t = smooth == 0 ? y[at + j] : y[at + j] * (1 - smooth) + smooth / k;
                    gradient[at + j] = (float) ((Math.exp(z[at + j] - max - logSum) * targetSum - t) * weight);
                }
            }
        }
    }

    @Override
    public INDArray computeScoreArray(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        requireSoftmaxOrIdentity(activationFn);
        if (onHost(labels, preOutput, mask)) {
            float[] scores = new float[Math.toIntExact(preOutput.size(0))];
            onHost(labels, preOutput, mask, scores, null);
            return HostFloats.write(scores, scores.length, 1);
        }
        INDArray scores = logSoftmax(preOutput).muli(targets(labels)).sum(true, 1).negi();
        if (mask != null) scores.muli(mask.reshape(scores.shape()));
        return scores;
    }

    @Override
    public double computeScore(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask, boolean average) {
        if (onHost(labels, preOutput, mask)) {
            requireSoftmaxOrIdentity(activationFn);
            float[] scores = new float[Math.toIntExact(preOutput.size(0))];
            onHost(labels, preOutput, mask, scores, null);
            double sum = 0;
            for (float v : scores) sum += v;
            return average ? sum / preOutput.size(0) : sum;
        }
        double sum = computeScoreArray(labels, preOutput, activationFn, mask).sumNumber().doubleValue();
        return average ? sum / preOutput.size(0) : sum;
    }

    @Override
    public INDArray computeGradient(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        requireSoftmaxOrIdentity(activationFn);
        if (onHost(labels, preOutput, mask)) {
            float[] gradient = new float[Math.toIntExact(preOutput.length())];
            onHost(labels, preOutput, mask, null, gradient);
            return HostFloats.write(gradient, preOutput.shape());
        }
        INDArray t = targets(labels);
        // d/dz of −Σ t log softmax(z) is softmax(z)·Σt − t
        INDArray grad = Transforms.exp(logSoftmax(preOutput), false).muliColumnVector(t.sum(true, 1)).subi(t);
        if (mask != null) grad.muliColumnVector(mask.reshape(grad.size(0), 1));
        return grad;
    }

    @Override
    public Pair<Double, INDArray> computeGradientAndScore(INDArray labels, INDArray preOutput, IActivation activationFn,
                                                          INDArray mask, boolean average) {
        return new Pair<>(computeScore(labels, preOutput, activationFn, mask, average),
                computeGradient(labels, preOutput, activationFn, mask));
    }

    @Override
    public String name() {
        return "SoftmaxCrossEntropy(labelSmoothing=" + labelSmoothing + ")";
    }

    @Override
    public String toString() {
        return name();
    }
}
