package dev.scalenet.engine;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The host kernels' exp and erf against double-precision references on dense grids. The bounds are what fp32 allows:
 * a float carries 24 bits (relative spacing 6e-8 to 1.2e-7), and a polynomial evaluated in float arithmetic loses a
 * few of those ulps to rounding.
 */
class HostMathTest {

    /** erf in double: 2/√π · e^(−x²) · Σ 2^n x^(2n+1) / (1·3·…·(2n+1)), all terms positive (no cancellation). */
    static double erfReference(double x) {
        double term = x;
        double sum = x;
        for (int n = 1; n < 400 && Math.abs(term) > 1e-18 * Math.abs(sum); n++) {
            term *= 2 * x * x / (2 * n + 1);
            sum += term;
        }
        return 2 / Math.sqrt(Math.PI) * Math.exp(-x * x) * sum;
    }

    @Test
    @DisplayName("the erf reference itself matches known values (erf(0.5), erf(1), erf(2)) to 1e-15")
    void referenceIsRight() {
        assertEquals(0.5204998778130465, erfReference(0.5), 1e-15);
        assertEquals(0.8427007929497149, erfReference(1.0), 1e-15);
        assertEquals(0.9953222650189527, erfReference(2.0), 1e-15);
    }

    @Test
    @DisplayName("exp is within 3e-7 relative of Math.exp on [-87, 88] (about 2.5 ulp), and 0 maps to exactly 1")
    void expRelativeError() {
        int n = 1_750_001;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -87f + 175f * i / (n - 1);
        float[] y = x.clone();
        HostMath.expInPlace(y, new float[n], n);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            double exact = Math.exp(x[i]);
            worst = Math.max(worst, Math.abs(y[i] - exact) / exact);
        }
        assertTrue(worst <= 3e-7, "max relative error " + worst);
        float[] zero = {0f};
        HostMath.expInPlace(zero, new float[1], 1);
        assertEquals(1f, zero[0]);
    }

    @Test
    @DisplayName("exp below -87.3 gives a tiny positive normal float (softmax and GELU' only need it to vanish), not NaN or a negative")
    void expFarBelowRange() {
        float[] y = {-100f, -1e30f, Float.NEGATIVE_INFINITY};
        HostMath.expInPlace(y, new float[3], 3);
        for (float v : y) assertTrue(v > 0 && v < 2e-38, "exp of a large negative gave " + v);
    }

    @Test
    @DisplayName("erf is within 5e-7 absolute of the reference on [-6, 6] (at most about 4 ulp of 1), odd, and ±1 beyond ±4")
    void erfAbsoluteError() {
        double worst = 0;
        for (int i = 0; i <= 1_200_000; i++) {
            float x = -6f + 12f * i / 1_200_000;
            worst = Math.max(worst, Math.abs(HostMath.erf(x) - erfReference(x)));
            assertEquals(-HostMath.erf(x), HostMath.erf(-x), 0.0, "erf is odd at " + x);
        }
        assertTrue(worst <= 5e-7, "max absolute error " + worst);
        assertEquals(1f, HostMath.erf(4.5f), 2e-7f);
        assertEquals(1f, HostMath.erf(Float.MAX_VALUE), 2e-7f);
    }

    @Test
    @DisplayName("column sums of a row-major matrix: each column's entries, row after row")
    void columnSums() {
        float[] m = {1, 2, 3, 10, 20, 30, 100, 200, 300, 1000, 2000, 3000, 0.5f, 0.25f, 0.125f}; // 5 rows of 3
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {1111.5f, 2222.25f, 3333.125f}, HostMath.columnSums(m, 5, 3));
    }
}
