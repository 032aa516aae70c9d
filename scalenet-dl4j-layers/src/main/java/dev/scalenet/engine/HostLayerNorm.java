package dev.scalenet.engine;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;

/**
 * LayerNorm over the last axis (biased variance, as torch), forward and backward, in Java over fp32 rows: one pass a
 * row where ND4J takes nine operations forward and eleven backward. Forward keeps each row's mean and 1/σ; backward
 * recomputes x̂ from the input, so no normalised copy of the input is kept for it.
 */
final class HostLayerNorm extends Normed {
    private final INDArray x;
    private final float[] mean;
    private final float[] rstd;

    private HostLayerNorm(INDArray out, INDArray x, float[] mean, float[] rstd) {
        super(out);
        this.x = x;
        this.mean = mean;
        this.rstd = rstd;
    }

    /** LayerNorm of {@code [rows, features]}; in training it keeps {@code x} (which must not change until backward). */
    static Normed apply(INDArray x, INDArray gamma, INDArray beta, double eps, boolean training) {
        int rows = Math.toIntExact(x.size(0));
        float[] mean = training ? new float[rows] : null;
        float[] rstd = training ? new float[rows] : null;
        try (Work.Frame work = Work.frame()) {
            float[] out = work.floats(x.length());
            forward(HostFloats.read(x, work), rows, HostFloats.copy(gamma), HostFloats.copy(beta), (float) eps, out, mean, rstd);
            return new HostLayerNorm(HostFloats.write(out, x.shape()), training ? x : null, mean, rstd);
        }
    }

    @Override
    public INDArray backward(INDArray dy, INDArray gamma, INDArray dGamma, INDArray dBeta, INDArray addend) {
        if (x == null) {
            throw new IllegalStateException("LayerNorm backward after an inference pass");
        }
        int d = Math.toIntExact(gamma.length());
        float[] dg = dGamma == null ? null : new float[d];
        float[] db = dBeta == null ? null : new float[d];
        try (Work.Frame work = Work.frame()) {
            float[] dx = work.floats(dy.length());
            backward(HostFloats.read(dy, work), HostFloats.read(x, work), mean, rstd, HostFloats.copy(gamma), mean.length, dg, db,
                    addend == null ? null : HostFloats.read(addend, work), dx);
            HostFloats.addInto(dGamma, dg);
            HostFloats.addInto(dBeta, db);
            return HostFloats.write(dx, dy.shape());
        }
    }

    /**
     * {@code out = (x − mean) · rstd · γ + β} per row of {@code gamma.length} floats, with {@code rstd = 1/√(var + eps)};
     * the rows' mean and rstd go into {@code mean} and {@code rstd} unless those are null.
     */
    static void forward(float[] x, int rows, float[] gamma, float[] beta, float eps, float[] out, float[] mean, float[] rstd) {
        int d = gamma.length;
        try (Work.Frame work = Work.frame()) {
            float[] row = work.floats(d);
            for (int r = 0; r < rows; r++) {
                System.arraycopy(x, r * d, row, 0, d);
                float mu = HostMath.sum(row, 0, d) / d;
                for (int c = 0; c < d; c++) {
                    row[c] -= mu;
                }
                float s = 1f / (float) Math.sqrt(dot(row, row, d) / d + eps);
                for (int c = 0; c < d; c++) {
                    row[c] = row[c] * s * gamma[c] + beta[c];
                }
                System.arraycopy(row, 0, out, r * d, d);
                if (mean != null) {
                    mean[r] = mu;
                    rstd[r] = s;
                }
            }
        }
    }

    /**
     * With {@code g = dy ⊙ γ}: {@code dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)) + addend}; adds
     * {@code Σ_rows dy ⊙ x̂} into {@code dGamma} and {@code Σ_rows dy} into {@code dBeta} (either may be null: frozen).
     */
    static void backward(float[] dy, float[] x, float[] mean, float[] rstd, float[] gamma, int rows, float[] dGamma,
                         float[] dBeta, float[] addend, float[] dx) {
        int d = gamma.length;
        try (Work.Frame work = Work.frame()) {
            float[] xHat = work.floats(d);
            float[] g = work.floats(d);
            float[] dyRow = work.floats(d);
            for (int r = 0; r < rows; r++) {
                System.arraycopy(x, r * d, xHat, 0, d);
                System.arraycopy(dy, r * d, dyRow, 0, d);
                float mu = mean[r];
                float s = rstd[r];
                // one stored array per loop: C2 vectorises a loop only then
                for (int c = 0; c < d; c++) {
                    xHat[c] = (xHat[c] - mu) * s;
                }
                for (int c = 0; c < d; c++) {
                    g[c] = dyRow[c] * gamma[c];
                }
                if (dGamma != null) {
                    for (int c = 0; c < d; c++) {
                        dGamma[c] += dyRow[c] * xHat[c];
                    }
                }
                if (dBeta != null) {
                    for (int c = 0; c < d; c++) {
                        dBeta[c] += dyRow[c];
                    }
                }
                float meanG = HostMath.sum(g, 0, d) / d;
                float meanGx = dot(g, xHat, d) / d;
                if (addend != null) {
                    System.arraycopy(addend, r * d, dyRow, 0, d);
                } else {
                    Arrays.fill(dyRow, 0, d, 0f);
                }
                for (int c = 0; c < d; c++) {
                    dyRow[c] += (g[c] - meanG - xHat[c] * meanGx) * s;
                }
                System.arraycopy(dyRow, 0, dx, r * d, d);
            }
        }
    }

    /** Σ a ⊙ b over the first {@code n}, summed as {@link HostMath#sum}. */
    private static float dot(float[] a, float[] b, int n) {
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        int c = 0;
        for (; c + 3 < n; c += 4) {
            s0 += a[c] * b[c];
            s1 += a[c + 1] * b[c + 1];
            s2 += a[c + 2] * b[c + 2];
            s3 += a[c + 3] * b[c + 3];
        }
        for (; c < n; c++) {
            s0 += a[c] * b[c];
        }
        return (s0 + s1) + (s2 + s3);
    }
}
