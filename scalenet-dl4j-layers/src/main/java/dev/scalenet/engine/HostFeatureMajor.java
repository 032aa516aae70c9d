package dev.scalenet.engine;

import java.util.Arrays;

/**
 * A block's element-wise steps in inference ({@link Block#inferResident}) on feature-major rows: one Java array per
 * feature, holding that feature for every row. Each loop then runs over the rows, every array indexed from 0 by the
 * same index (what C2 vectorises, see {@link HostAttention}), with the per-feature parameters as scalars: a LayerNorm's
 * sums over the features become element-wise adds of whole arrays, where row-major they are short serial reductions
 * (LayerNorm took 7.6% of the grown micro model's inference that way). The GEMMs read and write this layout as the
 * transposed matrices {@code [features, rows]} ({@link HostGemm}).
 */
final class HostFeatureMajor {
    private static final float SQRT_HALF = (float) Math.sqrt(0.5);

    private HostFeatureMajor() {}

    /**
     * LayerNorm over the features (biased variance, as torch) of {@code n} rows: {@code out[f] = (x[f] − mean) · rstd ·
     * γ[f] + β[f]} with {@code rstd = 1/√(var + eps)}; {@code mean} and {@code rstd} are scratch of at least n floats.
     */
    static void layerNorm(float[][] x, int n, float[] gamma, float[] beta, float eps, float[] mean, float[] rstd, float[][] out) {
        int d = gamma.length;
        Arrays.fill(mean, 0, n, 0f);
        for (int f = 0; f < d; f++) {
            float[] xf = x[f];
            for (int r = 0; r < n; r++) {
                mean[r] += xf[r];
            }
        }
        for (int r = 0; r < n; r++) {
            mean[r] /= d;
        }
        Arrays.fill(rstd, 0, n, 0f);
        for (int f = 0; f < d; f++) {
            float[] xf = x[f];
            for (int r = 0; r < n; r++) {
                float c = xf[r] - mean[r];
                rstd[r] += c * c;
            }
        }
        for (int r = 0; r < n; r++) {
            rstd[r] = 1f / (float) Math.sqrt(rstd[r] / d + eps);
        }
        for (int f = 0; f < d; f++) {
            float[] xf = x[f];
            float[] o = out[f];
            float g = gamma[f];
            float b = beta[f];
            for (int r = 0; r < n; r++) {
                o[r] = (xf[r] - mean[r]) * rstd[r] * g + b;
            }
        }
    }

    /**
     * The end of a residual branch, as {@link HostResidual} without stochastic depth:
     * {@code out[f] = x[f] + γ[f] · ((y[f] + b[f]) + s · (u[f] + b_u[f]))}. Any of {@code bias}, {@code u} (with
     * {@code uBias}) and {@code gamma} may be null: absent. Over features {@code 0..dim-1}; {@code out} may be {@code x}.
     */
    static void residual(float[][] x, float[][] y, float[] bias, float[][] u, float[] uBias, float s, float[] gamma, int dim,
                         int n, float[][] out) {
        for (int f = 0; f < dim; f++) {
            float[] xf = x[f];
            float[] yf = y[f];
            float[] o = out[f];
            float b = bias == null ? 0f : bias[f];
            float g = gamma == null ? 1f : gamma[f];
            if (u == null) {
                for (int r = 0; r < n; r++) {
                    o[r] = (yf[r] + b) * g + xf[r];
                }
            } else {
                float[] uf = u[f];
                float ub = uBias == null ? 0f : uBias[f];
                for (int r = 0; r < n; r++) {
                    o[r] = ((yf[r] + b) + (uf[r] + ub) * s) * g + xf[r];
                }
            }
        }
    }

    /** Exact GELU of a linear layer's output plus its bias, in place: {@code x[f] = gelu(x[f] + bias[f])}. */
    static void gelu(float[][] x, float[] bias, int n) {
        for (int f = 0; f < bias.length; f++) {
            float[] xf = x[f];
            float b = bias[f];
            for (int r = 0; r < n; r++) {
                float v = xf[r] + b;
                xf[r] = 0.5f * v * (1f + HostMath.erf(v * SQRT_HALF));
            }
        }
    }

    /** ReLU of a linear layer's output plus its bias (null: none), in place, over features {@code 0..count-1}. */
    static void relu(float[][] x, float[] bias, int count, int n) {
        for (int f = 0; f < count; f++) {
            float[] xf = x[f];
            float b = bias == null ? 0f : bias[f];
            for (int r = 0; r < n; r++) {
                xf[r] = Math.max(xf[r] + b, 0f);
            }
        }
    }

    /**
     * A thin linear layer without its bias, {@code out[o] = Σ_i W[o][i] · x[i]} for a {@code [outs, ins]} weight in c
     * order: the adapters' rank-r projections, where BLAS spends more on packing its operands and ND4J on the call
     * than the few multiply-adds cost (a rank-8 down-projection of 1,088 rows: 48 µs by ND4J's GEMM). Each output row
     * is one array updated by two inputs a pass.
     */
    static void linear(float[] w, int outs, int ins, float[][] x, int n, float[][] out) {
        for (int o = 0; o < outs; o++) {
            float[] y = out[o];
            int row = o * ins;
            int i = 0;
            if ((ins & 1) == 1) {
                float a = w[row];
                float[] x0 = x[0];
                for (int r = 0; r < n; r++) {
                    y[r] = a * x0[r];
                }
                i = 1;
            } else {
                Arrays.fill(y, 0, n, 0f);
            }
            for (; i < ins; i += 2) {
                float a = w[row + i];
                float b = w[row + i + 1];
                float[] x1 = x[i];
                float[] x2 = x[i + 1];
                for (int r = 0; r < n; r++) {
                    y[r] += a * x1[r] + b * x2[r];
                }
            }
        }
    }

    /** Example-major rows of {@code dim} floats ({@code row = example * tokens + token}) into token-major feature rows. */
    static void fromExampleMajor(float[] src, int batch, int tokens, int dim, float[][] dst) {
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < tokens; t++) {
                int from = (b * tokens + t) * dim;
                int row = t * batch + b;
                for (int f = 0; f < dim; f++) {
                    dst[f][row] = src[from + f];
                }
            }
        }
    }

    /** The inverse of {@link #fromExampleMajor}. */
    static void toExampleMajor(float[][] src, int batch, int tokens, int dim, float[] dst) {
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < tokens; t++) {
                int to = (b * tokens + t) * dim;
                int row = t * batch + b;
                for (int f = 0; f < dim; f++) {
                    dst[to + f] = src[f][row];
                }
            }
        }
    }
}
