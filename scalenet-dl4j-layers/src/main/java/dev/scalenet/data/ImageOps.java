package dev.scalenet.data;

/**
 * The pixel operations behind {@link ImageTransform}, each returning a new image. Geometry follows
 * timm's eval transform on PIL images (torchvision {@code Resize} + {@code CenterCrop}), and the
 * bilinear filter is PIL's, so the numbers can be checked against the Python stack.
 */
final class ImageOps {
    /**
     * The most pixels an image may have here, decoded or resized: 32 Mpixels (e.g. 5792 x 5792), far above any training
     * image, and within a modest heap. The decoder checks a file's header against it, and every resize its target, so
     * an image at the decode bound with an extreme aspect ratio cannot resize into an unbounded array.
     */
    static final long MAX_PIXELS = 1L << 25;
    /** ITU-R BT.601 luma weights, as PIL's {@code convert("L")} and torchvision's {@code rgb_to_grayscale}. */
    static final double LUMA_R = 0.299;
    static final double LUMA_G = 0.587;
    static final double LUMA_B = 0.114;

    private ImageOps() {
    }

    /**
     * timm's eval geometry: resize keeping the aspect ratio so that the input size is
     * {@code cropPct} of the result (for a square input, the shorter side becomes
     * {@code floor(size / cropPct)}), then crop the centre to {@code height x width}. Each step is
     * skipped when the image already has its size.
     */
    static Image resizeAndCentreCrop(Image image, int height, int width, double cropPct) {
        long scaleH = (long) Math.floor(height / cropPct);
        long scaleW = (long) Math.floor(width / cropPct);
        long h = image.height();
        long w = image.width();
        long newH;
        long newW;
        if (scaleH == scaleW) {
            // torchvision Resize(int): the shorter side to the size, the longer one scaled and truncated
            if (w <= h) {
                newW = scaleW;
                newH = scaleW * h / w;
            } else {
                newH = scaleH;
                newW = scaleH * w / h;
            }
        } else {
            // timm ResizeKeepRatio: scale by the smaller ratio so both sides cover the target, rounded half-even
            double ratio = Math.min((double) h / scaleH, (double) w / scaleW);
            newH = Math.max(scaleH, (long) Math.rint(h / ratio));
            newW = Math.max(scaleW, (long) Math.rint(w / ratio));
        }
        // in long and before allocating: a 33554432x1 image passes the decode bound but resizes to billions of pixels
        if (newH * (double) newW > MAX_PIXELS) {
            throw new IllegalArgumentException("the image of " + w + "x" + h + " pixels resizes to " + newW + "x" + newH
                    + " (keeping its aspect ratio for a " + width + "x" + height + " crop): expected at most " + MAX_PIXELS
                    + " pixels");
        }
        return centreCrop(resize(image, (int) newH, (int) newW), height, width);
    }

    /** torchvision {@code CenterCrop}: offsets {@code round((size - crop) / 2)}, half to even; never pads. */
    static Image centreCrop(Image image, int height, int width) {
        if (image.height() == height && image.width() == width) {
            return image;
        }
        if (image.height() < height || image.width() < width) {
            throw new IllegalArgumentException("cannot centre-crop " + image + " to " + height + "x" + width);
        }
        int top = (int) Math.rint((image.height() - height) / 2.0);
        int left = (int) Math.rint((image.width() - width) / 2.0);
        return window(image, top, left, height, width);
    }

    /**
     * PIL's bilinear resampling: a triangle filter over input pixel centres, widened by the scale
     * factor when shrinking (antialiasing) and normalised at the borders. When enlarging this is the
     * usual half-pixel-centre bilinear interpolation with edge clamping. Rows first, then columns.
     */
    static Image resize(Image image, int height, int width) {
        Image x = image;
        if (x.width() != width) {
            x = resample(x, width, true);
        }
        if (x.height() != height) {
            x = resample(x, height, false);
        }
        return x;
    }

    /** Resamples one axis to {@code outSize}: horizontally (along rows) or vertically (along columns). */
    private static Image resample(Image image, int outSize, boolean horizontal) {
        int c = image.channels();
        int h = image.height();
        int w = image.width();
        int inSize = horizontal ? w : h;
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = filterScale; // the bilinear (triangle) filter has support 1
        int taps = (int) Math.ceil(support) * 2 + 1;
        int[] first = new int[outSize];
        int[] count = new int[outSize];
        double[] weights = new double[outSize * taps];
        for (int o = 0; o < outSize; o++) {
            double centre = (o + 0.5) * scale;
            int min = Math.max((int) (centre - support + 0.5), 0);
            int max = Math.min((int) (centre + support + 0.5), inSize);
            double total = 0;
            for (int k = 0; k < max - min; k++) {
                double wgt = Math.max(0, 1 - Math.abs((k + min - centre + 0.5) / filterScale));
                weights[o * taps + k] = wgt;
                total += wgt;
            }
            for (int k = 0; k < max - min && total != 0; k++) {
                weights[o * taps + k] /= total;
            }
            first[o] = min;
            count[o] = max - min;
        }
        int outH = horizontal ? h : outSize;
        int outW = horizontal ? outSize : w;
        float[] in = image.data();
        float[] out = new float[c * outH * outW];
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < outH; y++) {
                for (int x = 0; x < outW; x++) {
                    int o = horizontal ? x : y;
                    double sum = 0;
                    for (int k = 0; k < count[o]; k++) {
                        int src = first[o] + k;
                        int sy = horizontal ? y : src;
                        int sx = horizontal ? src : x;
                        sum += weights[o * taps + k] * in[(ch * h + sy) * w + sx];
                    }
                    out[(ch * outH + y) * outW + x] = (float) sum;
                }
            }
        }
        return new Image(c, outH, outW, out);
    }

    /**
     * Converts between grey and colour: 1 channel is replicated to {@code channels}; 3 (RGB) become
     * 1 by BT.601 luma; equal counts are left alone.
     */
    static Image adaptChannels(Image image, int channels) {
        if (image.channels() == channels) {
            return image;
        }
        if (image.channels() == 1) {
            int plane = image.height() * image.width();
            float[] out = new float[channels * plane];
            for (int c = 0; c < channels; c++) {
                System.arraycopy(image.data(), 0, out, c * plane, plane);
            }
            return new Image(channels, image.height(), image.width(), out);
        }
        if (image.channels() == 3 && channels == 1) {
            return luma(image);
        }
        throw new IllegalArgumentException("cannot adapt " + image.channels() + " channels to " + channels
                + ": expected grey (1 channel, replicated) or RGB (3 channels, to 1 by BT.601 luma)");
    }

    private static Image luma(Image rgb) {
        int plane = rgb.height() * rgb.width();
        float[] in = rgb.data();
        float[] out = new float[plane];
        for (int i = 0; i < plane; i++) {
            out[i] = (float) (LUMA_R * in[i] + LUMA_G * in[plane + i] + LUMA_B * in[2 * plane + i]);
        }
        return new Image(1, rgb.height(), rgb.width(), out);
    }

    /**
     * torchvision {@code RandomCrop(size, padding)} with the crop offsets given: zero-pads
     * {@code padding} pixels on every side, then takes the original size at ({@code top},
     * {@code left}) of the padded image, each in {@code [0, 2 * padding]}. Offsets of
     * {@code padding} give back the image.
     */
    static Image padCrop(Image image, int padding, int top, int left) {
        if (top < 0 || top > 2 * padding || left < 0 || left > 2 * padding) {
            throw new IllegalArgumentException("crop offsets (" + top + ", " + left + ") outside [0, " + 2 * padding
                    + "] for padding " + padding);
        }
        int c = image.channels();
        int h = image.height();
        int w = image.width();
        int dy = top - padding;
        int dx = left - padding;
        float[] in = image.data();
        float[] out = new float[in.length];
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < h; y++) {
                int sy = y + dy;
                if (sy < 0 || sy >= h) {
                    continue;
                }
                int x0 = Math.max(0, -dx);
                int x1 = Math.min(w, w - dx);
                if (x1 > x0) {
                    System.arraycopy(in, (ch * h + sy) * w + x0 + dx, out, (ch * h + y) * w + x0, x1 - x0);
                }
            }
        }
        return new Image(c, h, w, out);
    }

    /** Mirrors left to right. */
    static Image flipHorizontal(Image image) {
        int rows = image.channels() * image.height();
        int w = image.width();
        float[] in = image.data();
        float[] out = new float[in.length];
        for (int r = 0; r < rows; r++) {
            for (int x = 0; x < w; x++) {
                out[r * w + x] = in[r * w + (w - 1 - x)];
            }
        }
        return new Image(image.channels(), image.height(), w, out);
    }

    /** {@code (x - mean[c]) / std[c]}, computed in double and rounded once to float. */
    static Image normalise(Image image, double[] mean, double[] std) {
        int plane = image.height() * image.width();
        float[] in = image.data();
        float[] out = new float[in.length];
        for (int c = 0; c < image.channels(); c++) {
            for (int i = c * plane; i < (c + 1) * plane; i++) {
                out[i] = (float) ((in[i] - mean[c]) / std[c]);
            }
        }
        return new Image(image.channels(), image.height(), image.width(), out);
    }

    private static Image window(Image image, int top, int left, int height, int width) {
        int c = image.channels();
        float[] in = image.data();
        float[] out = new float[c * height * width];
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < height; y++) {
                System.arraycopy(in, (ch * image.height() + top + y) * image.width() + left,
                        out, (ch * height + y) * width, width);
            }
        }
        return new Image(c, height, width, out);
    }
}
