package dev.scalenet.layers;

import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Cross-entropy of softmax(logits) against (optionally label-smoothed) targets, on an output layer with
 * the identity activation, so the network's output stays timm's logits. Smoothing ε gives each class
 * ε/K and the true class 1 − ε + ε/K, as {@code torch.nn.CrossEntropyLoss(label_smoothing=ε)}.
 * Per-example scores and gradients; DL4J averages over the minibatch.
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

    private static void requireIdentity(IActivation activationFn) {
        if (!(activationFn instanceof ActivationIdentity)) {
            throw new IllegalStateException("SoftmaxCrossEntropy applies softmax itself and needs the identity "
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

    @Override
    public INDArray computeScoreArray(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        requireIdentity(activationFn);
        INDArray scores = logSoftmax(preOutput).muli(targets(labels)).sum(true, 1).negi();
        if (mask != null) scores.muli(mask.reshape(scores.shape()));
        return scores;
    }

    @Override
    public double computeScore(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask, boolean average) {
        double sum = computeScoreArray(labels, preOutput, activationFn, mask).sumNumber().doubleValue();
        return average ? sum / preOutput.size(0) : sum;
    }

    @Override
    public INDArray computeGradient(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        requireIdentity(activationFn);
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
