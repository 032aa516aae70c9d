package dev.scalenet.layers;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A ViT's patchify on the host: images {@code [batch, chans, size, size]} to one row per patch, features in the conv
 * weight's (chans, p, p) order, and back for the gradient. ND4J does this as a copy of a rank-6 permuted view, which
 * walks every element through generic index arithmetic (a fifth of the bundled model's main-thread time in
 * inference); here each patch line is one contiguous copy.
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
        float[] rows = HostFloats.scratch(1, images.length());
        copy(HostFloats.read(images, 0), rows, batch, true);
        return HostFloats.write(rows, (long) batch * grid * grid, (long) chans * patch * patch);
    }

    /** The inverse: {@code [batch * grid², chans * patch²]} back to {@code [batch, chans, size, size]}. */
    INDArray fold(INDArray rows, long batch) {
        float[] images = HostFloats.scratch(1, rows.length());
        copy(HostFloats.read(rows, 0), images, Math.toIntExact(batch), false);
        int size = grid * patch;
        return HostFloats.write(images, batch, chans, size, size);
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
