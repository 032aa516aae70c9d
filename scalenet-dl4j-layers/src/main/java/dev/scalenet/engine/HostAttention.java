package dev.scalenet.engine;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Multi-head scaled dot-product attention, forward and backward, in Java over fp32 arrays, on the token-major,
 * feature-major layout of a batch shard: rows in token order ({@code row = token * batch + example}, see
 * {@link TokenOrder}) and the projections transposed, {@code qkvᵀ [3 * dim, rows]} in (timm's column order) q|k|v,
 * then heads, then head features. There each (token, feature) holds one example after another, which is what this
 * kernel computes over: it copies whole runs of examples in and out (bulk copies) instead of transposing
 * element by element. On the few-token shapes of a batch shard this replaces two permuting copies, two batched GEMMs of
 * hundreds of tiny products, a scale and a softmax: ND4J operations whose fixed costs dominated the micro model's step.
 *
 * <p>Layout: the work goes in chunks of up to 256 (head, example) pairs, the "lanes". Every per-pair quantity is held
 * in lane order, one Java array per (token, feature) or (token, token) holding that value for every lane, so each
 * product, the softmax and every backward term is a loop over the lanes with all arrays indexed from 0 by the same
 * index, the only shape C2 vectorises (see {@link #sumOfProducts}).
 *
 * <p>Up to {@link EngineSettings#laneAttentionMaxTokens} tokens (64). Longer sequences make products big enough for
 * BLAS to win ({@link GemmAttention}): at DeiT-Tiny's 197 tokens a block forward took 37 ms this way against 20 with
 * batched GEMMs (batch 8, measured).
 */
final class HostAttention {
    private static final int LANES_PER_CHUNK = 256;

    private final int tokens;
    private final int heads;
    private final int headDim;
    private final float scale;

    HostAttention(long tokens, int heads, int headDim, double scale) {
        this.tokens = Math.toIntExact(tokens);
        this.heads = heads;
        this.headDim = headDim;
        this.scale = (float) scale;
    }

    /**
     * @param qkv the qkv projection without its bias, transposed: {@code [3 * dim, tokens * batch]}
     * @param bias the qkv projection's bias, {@code 3 * dim}, added here; null when the model has none
     * @param probs receives softmax(q·kᵀ·scale), {@code batch * heads * tokens * tokens} floats in this kernel's own
     *     order (for {@link #backward}), or null (inference)
     * @param ctx receives probs·v, transposed: {@code [dim, tokens * batch]}
     */
    void forward(float[] qkv, float[] bias, int batch, float[] probs, float[] ctx) {
        forward(FloatBuffer.wrap(qkv), bias, batch, probs, FloatBuffer.wrap(ctx));
    }

    /**
     * {@link #forward(float[], float[], int, float[], float[])} reading qkv from and writing ctx to buffers (from index 0),
     * such as ND4J's: the runs of examples are copied straight between them and the lanes.
     */
    void forward(FloatBuffer qkv, float[] bias, int batch, float[] probs, FloatBuffer ctx) {
        int t = tokens;
        int hd = headDim;
        for (int b0 = 0; b0 < batch; b0 += examplesPerChunk()) {
            try (Work.Frame w = Work.frame()) {
                int examples = Math.min(examplesPerChunk(), batch - b0);
                int lanes = examples * heads;
                Lanes qkvLanes = lanes(w, qkv, bias, batch, b0, examples);
                float[][] q = qkvLanes.q(), k = qkvLanes.k(), v = qkvLanes.v();
                float[][] s = w.features(t * t, lanes);
                float[][] c = w.features(hd, lanes);
                for (int i = 0; i < t; i++) {
                    for (int j = 0; j < t; j++) {
                        float[] sij = s[i * t + j];
                        sumOfProducts(sij, q, i * hd, 1, k, j * hd, 1, hd, lanes);
                    }
                    softmaxRow(s, i * t, lanes, w.floats(lanes), w.floats(lanes), w.floats(lanes));
                    for (int e = 0; e < hd; e++) {
                        sumOfProducts(c[e], s, i * t, 1, v, e, hd, t, lanes);
                    }
                    scatter(c, batch, b0, examples, i, ctx, 0);
                }
                if (probs != null) {
                    int p0 = b0 * heads * t * t;
                    for (int r = 0; r < t * t; r++) {
                        System.arraycopy(s[r], 0, probs, p0 + r * lanes, lanes);
                    }
                }
            }
        }
    }

    /**
     * Given the forward's qkv, bias and probs and dL/dctx (transposed as ctx), writes dL/dqkv in qkv's layout:
     * dv = pᵀ·dctx, dp = dctx·vᵀ, ds = p ⊙ (dp − Σ dp ⊙ p) · scale, dq = ds·k, dk = dsᵀ·q.
     */
    void backward(float[] qkvArray, float[] bias, float[] probs, float[] dCtxArray, int batch, float[] dQkvArray) {
        FloatBuffer qkv = FloatBuffer.wrap(qkvArray);
        FloatBuffer dCtx = FloatBuffer.wrap(dCtxArray);
        FloatBuffer dQkv = FloatBuffer.wrap(dQkvArray);
        int t = tokens;
        int hd = headDim;
        int d = heads * hd;
        for (int b0 = 0; b0 < batch; b0 += examplesPerChunk()) {
            try (Work.Frame w = Work.frame()) {
                int examples = Math.min(examplesPerChunk(), batch - b0);
                int lanes = examples * heads;
                Lanes qkvLanes = lanes(w, qkv, bias, batch, b0, examples);
                float[][] q = qkvLanes.q(), k = qkvLanes.k(), v = qkvLanes.v();
                float[][] dc = w.features(t * hd, lanes);
                float[][] p = w.features(t * t, lanes);
                float[][] ds = w.features(t * t, lanes);
                float[][] acc = w.features(hd, lanes);
                float[] dot = w.floats(lanes);
                gather(dCtx, null, batch, b0, examples, 0, dc);
                int p0 = b0 * heads * t * t;
                for (int r = 0; r < t * t; r++) {
                    System.arraycopy(probs, p0 + r * lanes, p[r], 0, lanes);
                }
                // dv[j][e] = Σ_i p[i][j] · dc[i][e]
                for (int j = 0; j < t; j++) {
                    for (int e = 0; e < hd; e++) {
                        sumOfProducts(acc[e], p, j, t, dc, e, hd, t, lanes);
                    }
                    scatter(acc, batch, b0, examples, j, dQkv, 2 * d);
                }
                // ds[i][j] = p[i][j] · (dp[i][j] − Σ_j' dp[i][j'] · p[i][j']) · scale, with dp[i][j] = Σ_e dc[i][e] · v[j][e]
                for (int i = 0; i < t; i++) {
                    Arrays.fill(dot, 0, lanes, 0f);
                    for (int j = 0; j < t; j++) {
                        float[] dsij = ds[i * t + j];
                        sumOfProducts(dsij, dc, i * hd, 1, v, j * hd, 1, hd, lanes);
                        multiplyAdd(dot, dsij, p[i * t + j], lanes);
                    }
                    for (int j = 0; j < t; j++) {
                        float[] dsij = ds[i * t + j];
                        float[] pij = p[i * t + j];
                        for (int l = 0; l < lanes; l++) {
                            dsij[l] = pij[l] * (dsij[l] - dot[l]) * scale;
                        }
                    }
                }
                // dq[i][e] = Σ_j ds[i][j] · k[j][e]
                for (int i = 0; i < t; i++) {
                    for (int e = 0; e < hd; e++) {
                        sumOfProducts(acc[e], ds, i * t, 1, k, e, hd, t, lanes);
                    }
                    scatter(acc, batch, b0, examples, i, dQkv, 0);
                }
                // dk[j][e] = Σ_i ds[i][j] · q[i][e]
                for (int j = 0; j < t; j++) {
                    for (int e = 0; e < hd; e++) {
                        sumOfProducts(acc[e], ds, j, t, q, e, hd, t, lanes);
                    }
                    scatter(acc, batch, b0, examples, j, dQkv, d);
                }
            }
        }
    }

    /**
     * {@code out[l] = Σ_n a[a0 + n·aStep][l] · b[b0 + n·bStep][l]} for n < count, three products a pass so that
     * {@code out} is loaded and stored a third as often (with four, seven arrays in one loop, C2 stops vectorising it:
     * measured 4.4 against 21.7 GFLOP/s; with two, 18.1). Every array is indexed from 0 by the same {@code l}: only then
     * does C2 vectorise the loop (with offsets it must assume the arrays overlap: measured 4 against 20 GFLOP/s).
     */
    private static void sumOfProducts(float[] out, float[][] a, int a0, int aStep, float[][] b, int b0, int bStep,
                                      int count, int lanes) {
        int n = count % 3;
        if (n == 0) {
            Arrays.fill(out, 0, lanes, 0f);
        } else if (n == 1) {
            float[] x = a[a0];
            float[] y = b[b0];
            for (int l = 0; l < lanes; l++) {
                out[l] = x[l] * y[l];
            }
        } else {
            float[] x1 = a[a0];
            float[] y1 = b[b0];
            float[] x2 = a[a0 + aStep];
            float[] y2 = b[b0 + bStep];
            for (int l = 0; l < lanes; l++) {
                out[l] = x1[l] * y1[l] + x2[l] * y2[l];
            }
        }
        for (; n < count; n += 3) {
            float[] x1 = a[a0 + n * aStep];
            float[] y1 = b[b0 + n * bStep];
            float[] x2 = a[a0 + (n + 1) * aStep];
            float[] y2 = b[b0 + (n + 1) * bStep];
            float[] x3 = a[a0 + (n + 2) * aStep];
            float[] y3 = b[b0 + (n + 2) * bStep];
            for (int l = 0; l < lanes; l++) {
                out[l] += x1[l] * y1[l] + x2[l] * y2[l] + x3[l] * y3[l];
            }
        }
    }

    /** {@code acc[l] += a[l] · b[l]}, indexed as {@link #sumOfProducts} for the same reason. */
    private static void multiplyAdd(float[] acc, float[] a, float[] b, int lanes) {
        for (int l = 0; l < lanes; l++) {
            acc[l] += a[l] * b[l];
        }
    }

    /** Examples per chunk: enough lanes for long vector loops, few enough that a chunk's arrays stay in cache. */
    private int examplesPerChunk() {
        return Math.max(1, LANES_PER_CHUNK / heads);
    }

    /** A chunk's q, k and v in lane order. */
    private record Lanes(float[][] q, float[][] k, float[][] v) {}

    /** The chunk of examples {@code b0..b0+examples}: its q, k and v (with their bias) gathered into arrays of frame {@code w}. */
    private Lanes lanes(Work.Frame w, FloatBuffer qkv, float[] bias, int batch, int b0, int examples) {
        int lanes = examples * heads;
        Lanes l = new Lanes(w.features(tokens * headDim, lanes), w.features(tokens * headDim, lanes), w.features(tokens * headDim, lanes));
        gatherQkv(qkv, bias, batch, b0, examples, l.q(), l.k(), l.v());
        return l;
    }

    /** q, k and v (with their bias) of examples {@code b0..} into lane order, as {@link #gather}. */
    private void gatherQkv(FloatBuffer qkv, float[] bias, int batch, int b0, int examples, float[][] q, float[][] k, float[][] v) {
        int d = heads * headDim;
        gather(qkv, bias, batch, b0, examples, 0, q);
        gather(qkv, bias, batch, b0, examples, d, k);
        gather(qkv, bias, batch, b0, examples, 2 * d, v);
    }

    /**
     * Feature rows {@code f0 .. f0 + dim} of a transposed {@code [features, tokens * batch]} array, for examples
     * {@code b0 .. b0 + examples}, plus the same entries of {@code bias} when not null, into lane order:
     * {@code out[token * headDim + e][head * examples + example]}. Each (token, feature) is one run of examples.
     */
    private void gather(FloatBuffer src, float[] bias, int batch, int b0, int examples, int f0, float[][] out) {
        int hd = headDim;
        int rows = batch * tokens;
        for (int i = 0; i < tokens; i++) {
            for (int h = 0; h < heads; h++) {
                for (int e = 0; e < hd; e++) {
                    int f = f0 + h * hd + e;
                    float[] o = out[i * hd + e];
                    int at = h * examples;
                    src.get(f * rows + i * batch + b0, o, at, examples);
                    if (bias != null) {
                        float add = bias[f];
                        for (int x = at; x < at + examples; x++) {
                            o[x] += add;
                        }
                    }
                }
            }
        }
    }

    /** A token's lane rows {@code lane[e][head * examples + example]} back into feature rows {@code f0 + head * headDim + e}, as {@link #gather} reads them. */
    private void scatter(float[][] lane, int batch, int b0, int examples, int token, FloatBuffer dst, int f0) {
        int hd = headDim;
        int rows = batch * tokens;
        for (int h = 0; h < heads; h++) {
            for (int e = 0; e < hd; e++) {
                dst.put((f0 + h * hd + e) * rows + token * batch + b0, lane[e], h * examples, examples);
            }
        }
    }

    /** softmax(scale · s[i][j]) over j, per lane, in place, for the rows {@code s[first + j]}; max, sum, k: work of {@code lanes} floats. */
    private void softmaxRow(float[][] s, int first, int lanes, float[] max, float[] sum, float[] k) {
        int t = tokens;
        System.arraycopy(s[first], 0, max, 0, lanes);
        for (int j = 1; j < t; j++) {
            float[] sj = s[first + j];
            for (int l = 0; l < lanes; l++) {
                max[l] = Math.max(max[l], sj[l]);
            }
        }
        Arrays.fill(sum, 0, lanes, 0f);
        for (int j = 0; j < t; j++) {
            float[] sj = s[first + j];
            for (int l = 0; l < lanes; l++) {
                sj[l] = (sj[l] - max[l]) * scale;
            }
            HostMath.expInPlace(sj, k, lanes);
            for (int l = 0; l < lanes; l++) {
                sum[l] += sj[l];
            }
        }
        for (int l = 0; l < lanes; l++) {
            sum[l] = 1f / sum[l];
        }
        for (int j = 0; j < t; j++) {
            float[] sj = s[first + j];
            for (int l = 0; l < lanes; l++) {
                sj[l] *= sum[l];
            }
        }
    }
}
