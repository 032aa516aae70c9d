package dev.scalenet.engine;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The two row orders of a shard's {@code [examples * tokens, dim]} token matrix. DL4J hands the stack
 * {@code [batch, tokens, dim]}, example-major ({@code row = example * tokens + token}). Where attention runs on the host
 * ({@link HostAttention}), the stack works token-major ({@code row = token * batch + example}): then a transposed
 * projection holds, for each (token, feature), one contiguous run of examples, which the kernel copies whole. Every
 * other operation of a block works row by row and does not care; the stochastic-depth masks, per example, do.
 */
final class TokenOrder {
    private TokenOrder() {}

    /** Example-major rows of {@code x} as a new token-major c-order array. */
    static INDArray tokenMajor(INDArray x, long batch, long tokens) {
        long dim = x.size(1);
        return x.reshape('c', batch, tokens, dim).permute(1, 0, 2).dup('c').reshape('c', batch * tokens, dim);
    }

    /** Writes token-major {@code y} into {@code into}, example-major (a c-order {@code [batch * tokens, dim]} array or row range). */
    static void exampleMajorInto(INDArray y, long batch, long tokens, INDArray into) {
        long dim = y.size(1);
        into.reshape('c', batch, tokens, dim).assign(y.reshape('c', tokens, batch, dim).permute(1, 0, 2));
    }
}
