package dev.scalenet.engine;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * The end of a residual branch in one Java pass over fp32 rows:
 * {@code out = x + keep ⊙ γ ⊙ ((y + b) + s · (u + b_u))}, where {@code y} is the branch's last product without its bias
 * and {@code u} its adapter's up-projection without its bias. ND4J takes up to seven operations for it (bias, adapter
 * bias, scale, adapter add, gate, keep mask, residual add), each with its fixed cost. The arithmetic is theirs, in their
 * order, so both paths round alike. It streams: a chunk of rows at a time is read from ND4J's buffers into small arrays and
 * written back, so no activation-sized Java copy is made.
 */
final class HostResidual {
    private HostResidual() {}

    /**
     * Over {@code rows} rows of {@code width} floats, each buffer read from index 0. Any of {@code bias}, {@code u} (with
     * {@code uBias}), {@code gamma} and {@code keep} (stochastic depth's multiplier, one a row) may be null: absent.
     * Unless {@code ungated} is null, it receives the branch before its gate and keep mask ({@code (y + b) + s · (u +
     * b_u)}), which γ's gradient needs.
     */
    static void forward(FloatBuffer x, FloatBuffer y, float[] bias, FloatBuffer u, float[] uBias, float s, float[] gamma,
                        float[] keep, int rows, int width, FloatBuffer ungated, FloatBuffer out) {
        // a chunk of rows at a time, the per-column parameters repeated to match (see HostMath.rowsPerChunk)
        int chunkRows = HostMath.rowsPerChunk(width);
        int chunk = chunkRows * width;
        try (Work.Frame work = Work.frame()) {
            float[] b = bias == null ? null : HostMath.tiled(bias, chunk, work.floats(chunk));
            float[] ub = uBias == null ? null : HostMath.tiled(uBias, chunk, work.floats(chunk));
            float[] g = gamma == null ? null : HostMath.tiled(gamma, chunk, work.floats(chunk));
            float[] k = keep == null ? null : work.floats(chunk);
            float[] v = work.floats(chunk);
            float[] w = work.floats(chunk);
            for (int r0 = 0; r0 < rows; r0 += chunkRows) {
                int at = r0 * width;
                int n = Math.min(chunkRows, rows - r0) * width;
                y.get(at, v, 0, n);
                if (b != null) {
                    for (int c = 0; c < n; c++) {
                        v[c] += b[c];
                    }
                }
                if (u != null) {
                    u.get(at, w, 0, n);
                    if (ub != null) {
                        for (int c = 0; c < n; c++) {
                            w[c] += ub[c];
                        }
                    }
                    for (int c = 0; c < n; c++) {
                        v[c] += w[c] * s;
                    }
                }
                if (ungated != null) {
                    ungated.put(at, v, 0, n);
                }
                if (g != null) {
                    for (int c = 0; c < n; c++) {
                        v[c] *= g[c];
                    }
                }
                if (k != null) {
                    for (int i = 0; i * width < n; i++) {
                        Arrays.fill(k, i * width, (i + 1) * width, keep[r0 + i]);
                    }
                    for (int c = 0; c < n; c++) {
                        v[c] *= k[c];
                    }
                }
                x.get(at, w, 0, n);
                for (int c = 0; c < n; c++) {
                    v[c] += w[c];
                }
                out.put(at, v, 0, n);
            }
        }
    }
}
