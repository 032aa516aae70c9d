package dev.scalenet.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.io.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * The input a model expects, as timm's pretrained data config describes it: input size
 * {@code (channels, height, width)}, per-channel {@code mean} (in [0, 1]) and {@code std} (from
 * {@value #MIN_STD} to {@value #MAX_STD}) for normalising pixels in [0, 1] to {@code (pixel - mean) / std},
 * so to at most 1000 in magnitude, {@code crop_pct} (eval images are resized so that the centre crop of the input
 * size keeps this fraction of the shorter side) and the interpolation, of which only
 * {@code bilinear} is implemented. Immutable.
 *
 * <p>The JSON form uses timm's {@code pretrained_cfg} keys: {@code input_size}, {@code mean},
 * {@code std}, {@code crop_pct} (default 1.0), {@code interpolation} (default {@code bilinear}),
 * and reads {@code crop_mode} only to reject anything but {@code center}. A whole
 * {@code pretrained_cfg} can be read as it is: its other keys (url, num_classes, ...) are ignored.
 */
public final class DataConfig {
    /** {@code crop_pct} when none is given: the resize leaves nothing for the centre crop to cut. */
    public static final double DEFAULT_CROP_PCT = 1.0;
    /** timm's {@code DEFAULT_CROP_PCT}, the usual ImageNet evaluation crop (256 to 224). */
    public static final double IMAGENET_CROP_PCT = 0.875;
    /** The only interpolation implemented; antialiased when shrinking, as PIL's and so timm's. */
    public static final String BILINEAR = "bilinear";
    private static final double[] IMAGENET_DEFAULT_MEAN = {0.485, 0.456, 0.406};
    private static final double[] IMAGENET_DEFAULT_STD = {0.229, 0.224, 0.225};
    private static final String PRETRAINED_CFG = "pretrained_cfg";
    /**
     * Bounds of {@code std}. With {@code mean} in [0, 1], a pixel in [0, 1] normalises to at most 1 / MIN_STD in
     * magnitude: timm's stds are around 0.2 to 1, and 1/255 (pixels back to 0..255) fits. Past MAX_STD the pixels'
     * differences vanish in float32; a std of 1e-300 made them infinite.
     */
    private static final double MIN_STD = 1e-3;
    private static final double MAX_STD = 1e3;
    private static final String STD_RANGE = "positive values from 0.001 to 1000, so that normalised pixels stay finite"
            + " (within 1000 of 0) and distinct";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final int channels;
    private final int height;
    private final int width;
    private final double[] mean;
    private final double[] std;
    private final double cropPct;

    private DataConfig(int channels, int height, int width, double[] mean, double[] std, double cropPct) {
        check(channels > 0 && height > 0 && width > 0, "input_size",
                "[" + channels + ", " + height + ", " + width + "]", "3 positive integers [channels, height, width]");
        check(mean.length == channels, "mean", Arrays.toString(mean), "one value per channel (" + channels + ")");
        check(std.length == channels, "std", Arrays.toString(std), "one value per channel (" + channels + ")");
        for (int c = 0; c < channels; c++) {
            check(mean[c] >= 0 && mean[c] <= 1, "mean", Arrays.toString(mean),
                    "values in [0, 1], means of pixels in [0, 1]");
            check(std[c] >= MIN_STD && std[c] <= MAX_STD, "std", Arrays.toString(std), STD_RANGE);
        }
        check((long) height * width <= ImageOps.MAX_PIXELS, "input_size", "[" + channels + ", " + height + ", " + width + "]",
                "at most " + ImageOps.MAX_PIXELS + " pixels (height x width)");
        check(cropPct > 0 && cropPct <= 1, "crop_pct", Double.toString(cropPct), "a fraction in (0, 1]");
        // the evaluation resize makes height x width cover crop_pct of each side: a tiny crop_pct, a huge image
        check(Math.floor(height / cropPct) * Math.floor(width / cropPct) <= ImageOps.MAX_PIXELS, "crop_pct",
                Double.toString(cropPct), "a fraction whose resize target (input_size / crop_pct, at least "
                        + (long) Math.floor(height / cropPct) + "x" + (long) Math.floor(width / cropPct)
                        + ") holds at most " + ImageOps.MAX_PIXELS + " pixels");
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.mean = mean.clone();
        this.std = std.clone();
        this.cropPct = cropPct;
    }

    /** A config with {@link #DEFAULT_CROP_PCT} and bilinear interpolation. */
    public static DataConfig of(int channels, int height, int width, double[] mean, double[] std) {
        return new DataConfig(channels, height, width, Objects.requireNonNull(mean, "mean"),
                Objects.requireNonNull(std, "std"), DEFAULT_CROP_PCT);
    }

    /** Fashion-MNIST: 1x28x28, the training set's pixel mean 0.2860 and std 0.3530, no crop. */
    public static DataConfig fashionMnist() {
        return of(1, 28, 28, new double[] {0.2860}, new double[] {0.3530});
    }

    /**
     * ImageNet at {@code size x size}: timm's {@code IMAGENET_DEFAULT_MEAN} (0.485, 0.456, 0.406),
     * {@code IMAGENET_DEFAULT_STD} (0.229, 0.224, 0.225) and {@link #IMAGENET_CROP_PCT}.
     */
    public static DataConfig imagenet(int size) {
        return of(3, size, size, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD).withCropPct(IMAGENET_CROP_PCT);
    }

    /** This config with another {@code crop_pct}, a fraction in (0, 1]. */
    public DataConfig withCropPct(double cropPct) {
        return new DataConfig(channels, height, width, mean, std, cropPct);
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

    /** Per-channel mean, a copy. */
    public double[] mean() {
        return mean.clone();
    }

    /** Per-channel standard deviation, a copy. */
    public double[] std() {
        return std.clone();
    }

    public double cropPct() {
        return cropPct;
    }

    /** Always {@link #BILINEAR}. */
    public String interpolation() {
        return BILINEAR;
    }

    /**
     * Reads timm's keys from a {@code pretrained_cfg} object, or from an object holding one under
     * {@code "pretrained_cfg"}.
     *
     * @throws IllegalArgumentException naming the key and what was expected, if a key is missing or
     *     malformed, or asks for an interpolation or crop mode this port does not implement
     */
    public static DataConfig fromJson(JsonNode json) {
        JsonNode node = json != null && json.has(PRETRAINED_CFG) ? json.get(PRETRAINED_CFG) : json;
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("data config: expected a JSON object with timm's pretrained_cfg keys,"
                    + " found " + (node == null ? "nothing" : node.getNodeType().toString().toLowerCase(Locale.ROOT)));
        }
        double[] inputSize = numbers(node, "input_size", 3, "3 positive integers [channels, height, width]");
        for (double v : inputSize) {
            check(v == Math.rint(v) && v >= 1 && v <= Integer.MAX_VALUE, "input_size", node.get("input_size"),
                    "3 positive integers [channels, height, width]");
        }
        int channels = (int) inputSize[0];
        String perChannel = "an array of one number per channel of input_size (" + channels + ")";
        double[] mean = numbers(node, "mean", channels, perChannel);
        double[] std = numbers(node, "std", channels, perChannel);
        double cropPct = DEFAULT_CROP_PCT;
        JsonNode crop = node.get("crop_pct");
        if (crop != null && !crop.isNull()) {
            check(crop.isNumber(), "crop_pct", crop, "a number in (0, 1]");
            cropPct = crop.doubleValue();
        }
        JsonNode interpolation = node.get("interpolation");
        if (interpolation != null && !interpolation.isNull()) {
            check(BILINEAR.equals(interpolation.asText()) && interpolation.isTextual(), "interpolation",
                    interpolation, "\"" + BILINEAR + "\", the only one implemented");
        }
        JsonNode cropMode = node.get("crop_mode");
        if (cropMode != null && !cropMode.isNull()) {
            check("center".equals(cropMode.asText()) && cropMode.isTextual(), "crop_mode", cropMode,
                    "\"center\", the only one implemented");
        }
        return new DataConfig(channels, (int) inputSize[1], (int) inputSize[2], mean, std, cropPct);
    }

    /** The JSON form: {@code input_size}, {@code mean}, {@code std}, {@code crop_pct}, {@code interpolation}. */
    public ObjectNode toJson() {
        ObjectNode node = JSON.createObjectNode();
        node.putArray("input_size").add(channels).add(height).add(width);
        ArrayNode m = node.putArray("mean");
        ArrayNode s = node.putArray("std");
        for (int c = 0; c < channels; c++) {
            m.add(mean[c]);
            s.add(std[c]);
        }
        node.put("crop_pct", cropPct);
        node.put("interpolation", BILINEAR);
        return node;
    }

    /** Reads a JSON file (see {@link #fromJson}); errors name the file. */
    public static DataConfig read(Path file) throws IOException {
        String where = file.toAbsolutePath().toString();
        JsonNode node = Json.read(file);
        try {
            return fromJson(node);
        } catch (IllegalArgumentException e) {
            throw new IOException(where + ": " + e.getMessage(), e);
        }
    }

    /** Writes the JSON form, pretty-printed. */
    public void write(Path file) throws IOException {
        dev.scalenet.io.AtomicFiles.writeString(file, JSON.writeValueAsString(toJson()) + "\n");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DataConfig d && channels == d.channels && height == d.height && width == d.width
                && Arrays.equals(mean, d.mean) && Arrays.equals(std, d.std) && cropPct == d.cropPct;
    }

    @Override
    public int hashCode() {
        return Objects.hash(channels, height, width, Arrays.hashCode(mean), Arrays.hashCode(std), cropPct);
    }

    @Override
    public String toString() {
        return "DataConfig[input_size=" + channels + "x" + height + "x" + width + ", mean=" + Arrays.toString(mean)
                + ", std=" + Arrays.toString(std) + ", crop_pct=" + cropPct + ", interpolation=" + BILINEAR + "]";
    }

    private static double[] numbers(JsonNode node, String key, int count, String expected) {
        JsonNode array = node.get(key);
        check(array != null, key, "nothing", expected);
        check(array.isArray() && array.size() == count, key, array, expected);
        double[] values = new double[count];
        for (int i = 0; i < count; i++) {
            check(array.get(i).isNumber(), key, array, expected);
            values[i] = array.get(i).doubleValue();
        }
        return values;
    }

    private static void check(boolean ok, String key, Object found, String expected) {
        if (!ok) {
            throw new IllegalArgumentException("data config: '" + key + "' must be " + expected + ", found " + found);
        }
    }
}
