package dev.scalenet.engine;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;

/**
 * The CPU engine's attention for long sequences: multi-head scaled dot-product attention, forward and backward, on
 * example-major rows, one pair of direct {@code cblas_sgemm} calls per (example, head) reading the head's q, k and v
 * straight out of the {@code [rows, 3 * dim]} qkv matrix (as sub-matrices with row stride {@code 3 * dim}) and writing
 * the head's context into its columns of {@code [rows, dim]}. timm's way (and the reference's) first copies q, k and v
 * into per-head arrays and the context back, two permuting copies each way; here nothing is permuted, and the softmax
 * runs in Java over one {@code [tokens, tokens]} score matrix at a time.
 */
final class GemmAttention {
    private final int tokens;
    private final int heads;
    private final int headDim;
    private final float scale;

    GemmAttention(long tokens, int heads, int headDim, double scale) {
        this.tokens = Math.toIntExact(tokens);
        this.heads = heads;
        this.headDim = headDim;
        this.scale = (float) scale;
    }

    /**
     * @param qkv the qkv projection with its bias, {@code [examples * tokens, 3 * dim]}, example-major, timm's column
     *     order q|k|v, then heads, then head features
     * @param probs receives softmax(q·kᵀ·scale), {@code [examples * heads, tokens, tokens]}, for {@link #backward}; null
     *     in inference
     * @param ctx receives probs·v, {@code [examples * tokens, dim]}
     */
    void forward(INDArray qkv, long examples, INDArray probs, INDArray ctx) {
        int t = tokens;
        int d = heads * headDim;
        INDArray scores = probs != null ? probs : Nd4j.createUninitialized(DataType.FLOAT, t, t);
        try (Work.Frame work = Work.frame()) {
            float[] s = work.floats((long) t * t);
            float[] row = work.floats(t);
            float[] k = work.floats(t);
            for (int b = 0; b < examples; b++) {
                long rows = (long) b * t;
                for (int h = 0; h < heads; h++) {
                    long at = probs != null ? ((long) b * heads + h) * t * t : 0;
                    HostBlas.gemm(false, true, t, t, headDim, scale, qkv, rows * 3 * d + (long) h * headDim, 3 * d,
                            qkv, rows * 3 * d + d + (long) h * headDim, 3 * d, 0f, scores, at, t);
                    softmaxRows(scores, at, s, row, k);
                    HostBlas.gemm(false, false, t, headDim, t, 1f, scores, at, t,
                            qkv, rows * 3 * d + 2L * d + (long) h * headDim, 3 * d, 0f, ctx, rows * d + (long) h * headDim, d);
                }
            }
        }
    }

    /**
     * Given the forward's qkv and probs and dL/dctx ({@code [rows, dim]}), writes dL/dqkv ({@code [rows, 3 * dim]}):
     * dv = pᵀ·dctx, dp = dctx·vᵀ, ds = p ⊙ (dp − Σ dp ⊙ p) · scale, dq = ds·k, dk = dsᵀ·q.
     */
    void backward(INDArray qkv, INDArray probs, INDArray dCtx, long examples, INDArray dQkv) {
        int t = tokens;
        int d = heads * headDim;
        INDArray dScores = Nd4j.createUninitialized(DataType.FLOAT, t, t);
        try (Work.Frame work = Work.frame()) {
            backward(qkv, probs, dCtx, examples, dQkv, dScores, work.floats((long) t * t), work.floats((long) t * t));
        }
    }

    private void backward(INDArray qkv, INDArray probs, INDArray dCtx, long examples, INDArray dQkv, INDArray dScores,
                          float[] p, float[] ds) {
        int t = tokens;
        int d = heads * headDim;
        for (int b = 0; b < examples; b++) {
            long rows = (long) b * t;
            long qkvAt = rows * 3 * d;
            for (int h = 0; h < heads; h++) {
                long at = ((long) b * heads + h) * t * t;
                long q = qkvAt + (long) h * headDim;
                long k = q + d;
                long v = q + 2L * d;
                long c = rows * d + (long) h * headDim;
                HostBlas.gemm(true, false, t, headDim, t, 1f, probs, at, t, dCtx, c, d, 0f, dQkv, v, 3 * d);
                HostBlas.gemm(false, true, t, t, headDim, 1f, dCtx, c, d, qkv, v, 3 * d, 0f, dScores, 0, t);
                softmaxBackward(probs, at, dScores, p, ds);
                HostBlas.gemm(false, false, t, headDim, t, 1f, dScores, 0, t, qkv, k, 3 * d, 0f, dQkv, q, 3 * d);
                HostBlas.gemm(true, false, t, headDim, t, 1f, dScores, 0, t, qkv, q, 3 * d, 0f, dQkv, k, 3 * d);
            }
        }
    }

    /** Softmax of each row of the {@code [tokens, tokens]} matrix at {@code at} in {@code m}, in place, through {@code s} (row and k: work of {@code tokens} floats). */
    private void softmaxRows(INDArray m, long at, float[] s, float[] row, float[] k) {
        int t = tokens;
        FloatBuffer buffer = HostFloats.buffer(m);
        buffer.get(Math.toIntExact(at), s, 0, t * t);
        for (int i = 0; i < t; i++) {
            System.arraycopy(s, i * t, row, 0, t);
            float max = row[0];
            for (int j = 1; j < t; j++) max = Math.max(max, row[j]);
            for (int j = 0; j < t; j++) row[j] -= max;
            HostMath.expInPlace(row, k, t);
            float inverse = 1f / HostMath.sum(row, 0, t);
            for (int j = 0; j < t; j++) row[j] *= inverse;
            System.arraycopy(row, 0, s, i * t, t);
        }
        buffer.put(Math.toIntExact(at), s, 0, t * t);
    }

    /** {@code ds = p ⊙ (dp − Σ_j dp ⊙ p) · scale} per row, {@code dp} read from and {@code ds} written into {@code dScores}. */
    private void softmaxBackward(INDArray probs, long at, INDArray dScores, float[] p, float[] ds) {
        int t = tokens;
        HostFloats.buffer(probs).get(Math.toIntExact(at), p, 0, t * t);
        FloatBuffer dBuffer = HostFloats.buffer(dScores);
        dBuffer.get(0, ds, 0, t * t);
        for (int i = 0; i < t; i++) {
            int r = i * t;
            float dot = 0f;
            for (int j = 0; j < t; j++) dot += ds[r + j] * p[r + j];
            for (int j = 0; j < t; j++) ds[r + j] = p[r + j] * (ds[r + j] - dot) * scale;
        }
        dBuffer.put(0, ds, 0, t * t);
    }
}
