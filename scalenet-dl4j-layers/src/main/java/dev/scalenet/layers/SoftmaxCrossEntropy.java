package dev.scalenet.layers;

import dev.scalenet.engine.Engine;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.ILossFunction;

/**
 * Cross-entropy of softmax(logits) against (optionally label-smoothed) targets. DL4J hands a loss the output layer's
 * pre-activation, which is the logits; the layer's activation is softmax (the network outputs probabilities, as DL4J's
 * classifiers do) or, in models written before version 0.2, the identity: the loss is the same for both. Smoothing ε gives each class
 * ε/K and the true class 1 − ε + ε/K, as {@code torch.nn.CrossEntropyLoss(label_smoothing=ε)}.
 * Per-example scores and gradients, by the engine the call gets ({@link Engine#crossEntropy}); DL4J averages over the
 * minibatch.
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

    @Override
    public INDArray computeScoreArray(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        requireSoftmaxOrIdentity(activationFn);
        return Engine.forCall(preOutput).crossEntropy(labels, labelSmoothing, preOutput, mask, true);
    }

    @Override
    public double computeScore(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask, boolean average) {
        double sum = computeScoreArray(labels, preOutput, activationFn, mask).sumNumber().doubleValue();
        return average ? sum / preOutput.size(0) : sum;
    }

    @Override
    public INDArray computeGradient(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        requireSoftmaxOrIdentity(activationFn);
        return Engine.forCall(preOutput).crossEntropy(labels, labelSmoothing, preOutput, mask, false);
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
