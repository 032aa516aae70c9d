package dev.scalenet.data;

import java.util.Objects;

/**
 * One image as float pixels in channel-major (CHW) order: {@code data[(c * height + y) * width + x]}.
 * Images read from a dataset hold values in [0, 1]; transformed images hold normalised values.
 *
 * <p>The pixel array is shared, not copied: every method that changes pixels returns a new image,
 * so treat {@link #data()} as read-only.
 */
public final class Image {
    private final int channels;
    private final int height;
    private final int width;
    private final float[] data;

    /**
     * @throws IllegalArgumentException if a dimension is not positive or {@code data} does not hold
     *     exactly {@code channels * height * width} values
     */
    public Image(int channels, int height, int width, float[] data) {
        Objects.requireNonNull(data, "data");
        if (channels <= 0 || height <= 0 || width <= 0) {
            throw new IllegalArgumentException("image shape " + channels + "x" + height + "x" + width
                    + ": expected positive channels, height and width");
        }
        if ((long) channels * height * width != data.length) {
            throw new IllegalArgumentException("image shape " + channels + "x" + height + "x" + width + " needs "
                    + (long) channels * height * width + " values, data has " + data.length);
        }
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.data = data;
    }

    public int channels() {
        return channels;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    /** The pixels, CHW row-major; shared with this image. */
    public float[] data() {
        return data;
    }

    /** The pixel of channel {@code c} at row {@code y}, column {@code x}. */
    public float get(int c, int y, int x) {
        Objects.checkIndex(c, channels);
        Objects.checkIndex(y, height);
        Objects.checkIndex(x, width);
        return data[(c * height + y) * width + x];
    }

    @Override
    public String toString() {
        return "Image[" + channels + "x" + height + "x" + width + "]";
    }
}
