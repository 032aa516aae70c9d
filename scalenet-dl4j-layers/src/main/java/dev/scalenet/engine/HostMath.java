package dev.scalenet.engine;

/**
 * fp32 exp and erf for the host kernels, in branch-free float arithmetic that the JIT vectorises. {@code Math.exp}
 * costs about 13 ns a call on the project's machine (a call into a stub, not inlined), which made a Java softmax
 * slower than ND4J's; these take under a nanosecond an element and are within a few ulp ({@code HostMathTest}
 * states the bounds it checks).
 */
final class HostMath {
    private static final float LOG2E = 1.44269504088896341f;
    // ln 2 split in two so that k·LN2_HI is exact for the k that occur (Cody and Waite's reduction)
    private static final float LN2_HI = 0.693145751953125f;
    private static final float LN2_LO = 1.42860682030941723212e-6f;
    /** 1.5 · 2^23: adding and subtracting it rounds a float of magnitude below 2^22 to the nearest integer. */
    private static final float ROUNDER = 12582912f;
    private static final float EXP_MIN = -87.3f; // exp(-87.3) is still a normal float
    private static final float EXP_MAX = 88f; // keeps k ≤ 127, a finite power of two

    private HostMath() {}

    /**
     * {@code x[l] = e^x[l]} for l < n, from e^x = 2^k · e^r with k = round(x / ln 2) and |r| ≤ ln 2 / 2, e^r by its
     * Taylor series to the r^7 term (truncation below 6e-9 relative), for x in [-87.3, 88]; outside, the value at the
     * nearer end (the kernels only take x ≤ 0, where that means e^-87.3, about 1.2e-38, for a subnormal or zero).
     * Two loops over arrays, because C2 vectorises each of them but not one that mixes the float-to-int conversion
     * with the polynomial (measured 0.7 against 4.6 ns an element); {@code k} is scratch of at least n floats.
     */
    static void expInPlace(float[] x, float[] k, int n) {
        for (int l = 0; l < n; l++) {
            float v = Math.max(EXP_MIN, Math.min(EXP_MAX, x[l]));
            float kf = (v * LOG2E + ROUNDER) - ROUNDER; // round to nearest, in float arithmetic
            float r = v - kf * LN2_HI - kf * LN2_LO;
            float p = 1f / 5040f;
            p = p * r + 1f / 720f;
            p = p * r + 1f / 120f;
            p = p * r + 1f / 24f;
            p = p * r + 1f / 6f;
            p = p * r + 0.5f;
            p = p * r + 1f;
            p = p * r + 1f;
            x[l] = p;
            k[l] = kf;
        }
        for (int l = 0; l < n; l++) {
            x[l] *= Float.intBitsToFloat(((int) k[l] + 127) << 23);
        }
    }

    /**
     * How many rows of {@code width} floats an element-wise kernel takes a pass: about 1,024 floats, so that its loop
     * runs long enough to pay for its set-up, and its arrays stay in the L1 cache.
     */
    static int rowsPerChunk(int width) {
        return Math.max(1, 1024 / Math.max(1, width));
    }

    /**
     * {@code v} repeated to fill the first {@code n} floats of {@code into} ({@code n} a multiple of its length): a
     * per-column parameter for a chunk of rows. Returns {@code into}.
     */
    static float[] tiled(float[] v, int n, float[] into) {
        for (int at = 0; at < n; at += v.length) {
            System.arraycopy(v, 0, into, at, v.length);
        }
        return into;
    }

    /** The sums of the columns of {@code rows} rows of {@code width} floats ({@link #addColumnSums} into zeros). */
    static float[] columnSums(float[] v, int rows, int width) {
        float[] sums = new float[width];
        addColumnSums(v, rows, width, sums);
        return sums;
    }

    /**
     * Adds the columns of the first {@code rows} rows of {@code width} floats of {@code v} into {@code into}, row after
     * row (each row copied to an array indexed from 0, which C2 vectorises).
     */
    static void addColumnSums(float[] v, int rows, int width, float[] into) {
        try (Work.Frame work = Work.frame()) {
            float[] row = work.floats(width);
            for (int r = 0; r < rows; r++) {
                System.arraycopy(v, r * width, row, 0, width);
                for (int c = 0; c < width; c++) {
                    into[c] += row[c];
                }
            }
        }
    }

    /** Σ v[from..to), in four interleaved partial sums: four independent add chains instead of one. */
    static float sum(float[] v, int from, int to) {
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        int c = from;
        for (; c + 3 < to; c += 4) {
            s0 += v[c];
            s1 += v[c + 1];
            s2 += v[c + 2];
            s3 += v[c + 3];
        }
        for (; c < to; c++) {
            s0 += v[c];
        }
        return (s0 + s1) + (s2 + s3);
    }

    /**
     * erf(x) = x·P(x²)/Q(x²) on [-4, 4] (erf(±4) rounds to ±1 in fp32), a rational approximation of degrees 13 and
     * 8 in x: no exp, no branches.
     */
    static float erf(float x) {
        x = Math.max(-4f, Math.min(4f, x));
        float x2 = x * x;
        float p = -2.72614225801306e-10f;
        p = p * x2 + 2.77068142495902e-08f;
        p = p * x2 - 2.10102402082508e-06f;
        p = p * x2 - 5.69250639462346e-05f;
        p = p * x2 - 7.34990630326855e-04f;
        p = p * x2 - 2.95459980854025e-03f;
        p = p * x2 - 1.60960333262415e-02f;
        float q = -1.45660718464996e-05f;
        q = q * x2 - 2.13374055278905e-04f;
        q = q * x2 - 1.68282697438203e-03f;
        q = q * x2 - 7.37332916720468e-03f;
        q = q * x2 - 1.42647390514189e-02f;
        return x * p / q;
    }
}
