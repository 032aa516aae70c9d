package dev.scalenet.engine;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * One use of a transformer block by one engine ({@link Engine#block}), over a shard's rows {@code [examples * tokens,
 * dim]} in the engine's stack order ({@link Engine#toStackOrder}). Keeps the forward state of its last training pass
 * for {@link #backward}.
 */
public interface BlockPass {
    /**
     * The training forward pass.
     *
     * @param attnKeep, mlpKeep stochastic depth's per-example multipliers (0 or 1/(1 - rate)), or null for none
     */
    INDArray forward(INDArray x, long examples, float[] attnKeep, float[] mlpKeep);

    /** The forward pass without stochastic depth and without keeping what only backward needs. */
    INDArray infer(INDArray x, long examples);

    /**
     * Adds this use's parameter gradients into {@code gradients} (views keyed like the parameters; a frozen parameter has
     * no entry and gets no gradient computed); returns dL/dx.
     */
    INDArray backward(INDArray dy, Map<String, INDArray> gradients);

    /** Drops the forward state (its arrays live in a workspace that is about to be reused). */
    void clear();
}
