package dev.scalenet.engine;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A ViT's patch embedding on the host, around its projection (a GEMM). The patchify: images
 * {@code [batch, chans, size, size]} to one row per patch, features in the conv weight's (chans, p, p) order, and back
 * for the gradient; ND4J does this as a copy of a rank-6 permuted view, which walks every element through generic
 * index arithmetic (a fifth of the bundled model's main-thread time in inference), here each patch line is one
 * contiguous copy. The token assembly: class token, projection bias and position embedding in one pass where ND4J
 * takes six operations (and five backward), all on the training thread while the shards wait.
 */
final class HostPatches {
    private final int chans;
    private final int grid;
    private final int patch;

    HostPatches(int chans, int grid, int patch) {
        this.chans = chans;
        this.grid = grid;
        this.patch = patch;
    }

    /** {@code [batch, chans, size, size]} to {@code [batch * grid², chans * patch²]}. */
    INDArray unfold(INDArray images) {
        int batch = Math.toIntExact(images.size(0));
        try (Work.Frame work = Work.frame()) {
            float[] rows = work.floats(images.length());
            copy(HostFloats.read(images, work), rows, batch, true);
            return HostFloats.write(rows, (long) batch * grid * grid, (long) chans * patch * patch);
        }
    }

    /** The inverse: {@code [batch * grid², chans * patch²]} back to {@code [batch, chans, size, size]}. */
    INDArray fold(INDArray rows, long batch) {
        try (Work.Frame work = Work.frame()) {
            float[] images = work.floats(rows.length());
            copy(HostFloats.read(rows, work), images, Math.toIntExact(batch), false);
            int size = grid * patch;
            return HostFloats.write(images, batch, chans, size, size);
        }
    }

    /**
     * Tokens {@code [batch, prefix + patches, dim]} from the projected patches without their bias
     * ({@code [batch * patches, dim]}): the class token first unless {@code cls} is null, the bias added to each patch
     * token, the position embedding ({@code [1, prefix + patches, dim]}) to every token. Written into {@code into} (a
     * c-order contiguous array or range of examples), or into a new array when it is null; returns the one written.
     */
    static INDArray tokens(INDArray projected, INDArray bias, INDArray cls, INDArray pos, long batch, INDArray into) {
        try (Work.Frame work = Work.frame()) {
            return tokens(projected, bias, cls, pos, batch, into, work);
        }
    }

    private static INDArray tokens(INDArray projected, INDArray bias, INDArray cls, INDArray pos, long batch, INDArray into,
                                   Work.Frame work) {
        int d = Math.toIntExact(projected.size(1));
        int patches = Math.toIntExact(projected.size(0) / batch);
        int prefix = cls == null ? 0 : 1;
        int t = prefix + patches;
        float[] in = HostFloats.read(projected, work);
        float[] b = HostFloats.copy(bias);
        float[] c = HostFloats.copy(cls);
        float[] pe = HostFloats.copy(pos);
        float[] out = work.floats(batch * t * d);
        float[] row = new float[d];
        float[] add = new float[d];
        for (int n = 0; n < batch; n++) {
            for (int j = 0; j < t; j++) {
                // rows through arrays of their own, indexed from 0: those loops vectorise
                System.arraycopy(pe, j * d, add, 0, d);
                if (j < prefix) {
                    System.arraycopy(c, 0, row, 0, d);
                } else {
                    System.arraycopy(in, (n * patches + j - prefix) * d, row, 0, d);
                    if (b != null) {
                        for (int k = 0; k < d; k++) {
                            row[k] += b[k];
                        }
                    }
                }
                for (int k = 0; k < d; k++) {
                    row[k] += add[k];
                }
                System.arraycopy(row, 0, out, (n * t + j) * d, d);
            }
        }
        if (into == null) return HostFloats.write(out, batch, t, d);
        HostFloats.writeInto(out, into);
        return into;
    }

    /**
     * The gradient of {@link #tokens}: returns dL/dprojected {@code [batch * patches, dim]} and adds the sums of
     * {@code dTokens} ({@code [batch, prefix + patches, dim]}) into {@code dBias}, {@code dCls} and {@code dPos}, each
     * unless null (frozen, or no class token).
     */
    static INDArray tokensBackward(INDArray dTokens, int prefix, INDArray dBias, INDArray dCls, INDArray dPos) {
        try (Work.Frame work = Work.frame()) {
            return tokensBackward(dTokens, prefix, dBias, dCls, dPos, work);
        }
    }

    private static INDArray tokensBackward(INDArray dTokens, int prefix, INDArray dBias, INDArray dCls, INDArray dPos, Work.Frame work) {
        int batch = Math.toIntExact(dTokens.size(0));
        int t = Math.toIntExact(dTokens.size(1));
        int d = Math.toIntExact(dTokens.size(2));
        int patches = t - prefix;
        float[] in = HostFloats.read(dTokens, work);
        float[] out = work.floats((long) batch * patches * d);
        float[] db = new float[d];
        float[] dc = new float[d];
        float[] dp = new float[t * d];
        float[] row = new float[d];
        float[] acc = new float[d];
        for (int n = 0; n < batch; n++) {
            for (int j = 0; j < t; j++) {
                System.arraycopy(in, (n * t + j) * d, row, 0, d);
                System.arraycopy(dp, j * d, acc, 0, d);
                for (int k = 0; k < d; k++) {
                    acc[k] += row[k];
                }
                System.arraycopy(acc, 0, dp, j * d, d);
                float[] sum = j < prefix ? dc : db;
                for (int k = 0; k < d; k++) {
                    sum[k] += row[k];
                }
                if (j >= prefix) System.arraycopy(row, 0, out, (n * patches + j - prefix) * d, d);
            }
        }
        HostFloats.addInto(dBias, db);
        HostFloats.addInto(dCls, dc);
        HostFloats.addInto(dPos, dp);
        return HostFloats.write(out, (long) batch * patches, d);
    }

    /** Moves every patch line between image order and patch-row order (direction by {@code unfold}). */
    private void copy(float[] from, float[] to, int batch, boolean unfold) {
        int p = patch;
        int g = grid;
        int size = g * p;
        int features = chans * p * p;
        for (int n = 0; n < batch; n++) {
            for (int ch = 0; ch < chans; ch++) {
                for (int gy = 0; gy < g; gy++) {
                    for (int py = 0; py < p; py++) {
                        int image = ((n * chans + ch) * size + gy * p + py) * size;
                        int row = ((n * g + gy) * g) * features + (ch * p + py) * p;
                        for (int gx = 0; gx < g; gx++) {
                            if (unfold) {
                                System.arraycopy(from, image + gx * p, to, row + gx * features, p);
                            } else {
                                System.arraycopy(from, row + gx * features, to, image + gx * p, p);
                            }
                        }
                    }
                }
            }
        }
    }
}
