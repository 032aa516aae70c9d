package dev.scalenet.engine;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The feature-major kernels against their formulas computed in double precision, element by element.
 *
 * <p>Tolerance: 1e-5 absolute on values of order one. fp32 sums of up to 64 terms round to a few 1e-7; an indexing
 * or missing-term bug is off by the size of a term.
 */
class HostFeatureMajorTest {
    private static final double TOLERANCE = 1e-5;
    private static final int N = 37; // rows: not a multiple of any vector length

    private static float[][] random(SplittableRandom random, int features, int n) {
        float[][] x = new float[features][n];
        for (float[] row : x) for (int r = 0; r < n; r++) row[r] = (float) random.nextGaussian();
        return x;
    }

    private static float[] random(SplittableRandom random, int n) {
        return random(random, 1, n)[0];
    }

    @Test
    @DisplayName("linear: out[o] = Σ_i W[o][i]·x[i], for an odd and an even number of inputs")
    void linear() {
        SplittableRandom random = new SplittableRandom(1);
        for (int ins : new int[] {7, 8}) {
            int outs = 5;
            float[] w = random(random, outs * ins);
            float[][] x = random(random, ins, N);
            float[][] out = new float[outs][N];
            HostFeatureMajor.linear(w, outs, ins, x, N, out);
            for (int o = 0; o < outs; o++) {
                for (int r = 0; r < N; r++) {
                    double expected = 0;
                    for (int i = 0; i < ins; i++) expected += (double) w[o * ins + i] * x[i][r];
                    assertEquals(expected, out[o][r], TOLERANCE, "ins " + ins + ", out " + o + ", row " + r);
                }
            }
        }
    }

    @Test
    @DisplayName("LayerNorm over the features of each row, with the biased variance, γ and β")
    void layerNorm() {
        SplittableRandom random = new SplittableRandom(2);
        int d = 12;
        float[][] x = random(random, d, N);
        float[] gamma = random(random, d);
        float[] beta = random(random, d);
        float[][] out = new float[d][N];
        HostFeatureMajor.layerNorm(x, N, gamma, beta, 1e-6f, new float[N], new float[N], out);
        for (int r = 0; r < N; r++) {
            double mean = 0;
            for (int f = 0; f < d; f++) mean += x[f][r];
            mean /= d;
            double var = 0;
            for (int f = 0; f < d; f++) var += (x[f][r] - mean) * (x[f][r] - mean);
            double rstd = 1 / Math.sqrt(var / d + 1e-6);
            for (int f = 0; f < d; f++) {
                assertEquals((x[f][r] - mean) * rstd * gamma[f] + beta[f], out[f][r], TOLERANCE, "feature " + f + ", row " + r);
            }
        }
    }

    @Test
    @DisplayName("residual branch end: x + γ·((y + b) + s·(u + b_u)), with and without the adapter term")
    void residual() {
        SplittableRandom random = new SplittableRandom(3);
        int d = 6;
        float[][] x = random(random, d, N);
        float[][] y = random(random, d, N);
        float[][] u = random(random, d, N);
        float[] b = random(random, d);
        float[] ub = random(random, d);
        float[] gamma = random(random, d);
        float[][] with = new float[d][N];
        float[][] without = new float[d][N];
        HostFeatureMajor.residual(x, y, b, u, ub, 0.5f, gamma, d, N, with);
        HostFeatureMajor.residual(x, y, b, null, null, 0.5f, null, d, N, without);
        for (int f = 0; f < d; f++) {
            for (int r = 0; r < N; r++) {
                double branch = (y[f][r] + b[f]) + 0.5 * (u[f][r] + ub[f]);
                assertEquals(x[f][r] + gamma[f] * branch, with[f][r], TOLERANCE);
                assertEquals(x[f][r] + y[f][r] + b[f], without[f][r], TOLERANCE);
            }
        }
    }

    @Test
    @DisplayName("GELU and ReLU of a product plus its per-feature bias, in place")
    void activations() {
        SplittableRandom random = new SplittableRandom(4);
        int d = 5;
        float[][] x = random(random, d, N);
        float[] b = random(random, d);
        float[][] gelu = new float[d][];
        float[][] relu = new float[d][];
        for (int f = 0; f < d; f++) {
            gelu[f] = x[f].clone();
            relu[f] = x[f].clone();
        }
        HostFeatureMajor.gelu(gelu, b, N);
        HostFeatureMajor.relu(relu, b, d, N);
        for (int f = 0; f < d; f++) {
            for (int r = 0; r < N; r++) {
                double v = x[f][r] + b[f];
                assertEquals(0.5 * v * (1 + HostMathTest.erfReference(v / Math.sqrt(2))), gelu[f][r], TOLERANCE);
                assertEquals(Math.max(v, 0), relu[f][r], TOLERANCE);
            }
        }
    }

    @Test
    @DisplayName("example-major rows to token-major feature rows and back: each value lands at (feature, token · batch + example)")
    void layout() {
        int batch = 3;
        int tokens = 4;
        int dim = 2;
        float[] rows = new float[batch * tokens * dim];
        for (int i = 0; i < rows.length; i++) rows[i] = i;
        float[][] features = new float[dim][batch * tokens];
        HostFeatureMajor.fromExampleMajor(rows, batch, tokens, dim, features);
        // example 1, token 2, feature 1: example-major row 1 * 4 + 2 = 6, value 6 * 2 + 1; token-major row 2 * 3 + 1 = 7
        assertEquals(13f, features[1][7]);
        float[] back = new float[rows.length];
        HostFeatureMajor.toExampleMajor(features, batch, tokens, dim, back);
        assertArrayEquals(rows, back);
    }
}
