package dev.scalenet.engine;

import org.nd4j.linalg.api.ndarray.INDArray;

/** A LayerNorm's output and, after a training pass, what its backward pass needs ({@link Engine#layerNorm}). */
public abstract class Normed {
    public final INDArray out;

    Normed(INDArray out) {
        this.out = out;
    }

    /** Adds dγ, dβ into the views (null when frozen) and returns dx, plus {@code addend} when not null. */
    public abstract INDArray backward(INDArray dy, INDArray gamma, INDArray dGamma, INDArray dBeta, INDArray addend);
}
