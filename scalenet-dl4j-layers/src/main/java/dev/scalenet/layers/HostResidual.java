package dev.scalenet.layers;

/**
 * The end of a residual branch in one Java pass over fp32 rows:
 * {@code out = x + keep ⊙ γ ⊙ ((y + b) + s · (u + b_u))}, where {@code y} is the branch's last product without its bias
 * and {@code u} its adapter's up-projection without its bias. ND4J takes up to seven operations for it (bias, adapter
 * bias, scale, adapter add, gate, keep mask, residual add), each with its fixed cost. The arithmetic is theirs, in their
 * order, so both paths round alike.
 */
final class HostResidual {
    private HostResidual() {}

    /**
     * Over {@code rows} rows of {@code width} floats. Any of {@code bias}, {@code u} (with {@code uBias}), {@code gamma}
     * and {@code keep} (stochastic depth's multiplier, one a row) may be null: absent. When
     * {@code keepUngated}, row by row {@code y} is overwritten with the branch before its gate and keep mask
     * ({@code (y + b) + s · (u + b_u)}), which γ's gradient needs.
     */
    static void forward(float[] x, float[] y, float[] bias, float[] u, float[] uBias, float s, float[] gamma,
                        float[] keep, int rows, int width, boolean keepUngated, float[] out) {
        float[] v = new float[width];
        float[] w = new float[width];
        for (int r = 0; r < rows; r++) {
            int at = r * width;
            System.arraycopy(y, at, v, 0, width);
            if (bias != null) {
                for (int c = 0; c < width; c++) {
                    v[c] += bias[c];
                }
            }
            if (u != null) {
                System.arraycopy(u, at, w, 0, width);
                if (uBias != null) {
                    for (int c = 0; c < width; c++) {
                        w[c] += uBias[c];
                    }
                }
                for (int c = 0; c < width; c++) {
                    v[c] += w[c] * s;
                }
            }
            if (keepUngated) {
                System.arraycopy(v, 0, y, at, width);
            }
            if (gamma != null) {
                for (int c = 0; c < width; c++) {
                    v[c] *= gamma[c];
                }
            }
            if (keep != null) {
                float k = keep[r];
                for (int c = 0; c < width; c++) {
                    v[c] *= k;
                }
            }
            System.arraycopy(x, at, w, 0, width);
            for (int c = 0; c < width; c++) {
                v[c] += w[c];
            }
            System.arraycopy(v, 0, out, at, width);
        }
    }
}
