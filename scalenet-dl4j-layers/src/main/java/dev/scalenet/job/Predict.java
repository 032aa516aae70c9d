package dev.scalenet.job;

import dev.scalenet.Capped;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.io.Npy;
import dev.scalenet.io.NpyArray;
import dev.scalenet.vit.Features;
import dev.scalenet.vit.VitConfig;
import dev.scalenet.vit.VitModel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Logits or features of a model for a batch of already-preprocessed images: a float32 NCHW {@code .npy} in, a
 * float32 {@code .npy} out (written atomically): logits {@code [batch, classes]}, pre-logits {@code [batch, dim]}
 * or tokens {@code [batch, tokens, dim]} ({@link Features}). No preprocessing is applied: the inputs are what the
 * graph's input takes, as in timm's {@code model(x)}.
 */
public final class Predict {
    /** Images per forward pass: bounds memory for large input files. */
    private static final int CHUNK = 256;
    /** The most values one Java array, and so one {@link NpyArray}, holds. */
    private static final long MAX_OUTPUT_VALUES = Integer.MAX_VALUE - 8;

    private Predict() {}

    public static NpyArray logits(VitModel model, NpyArray inputs) {
        return outputs(model, inputs, Features.Kind.LOGITS);
    }

    /** The outputs of {@code kind} for every image of {@code inputs}, computed {@value #CHUNK} images at a time. */
    public static NpyArray outputs(VitModel model, NpyArray inputs, Features.Kind kind) {
        return outputs(model, inputs, kind, "the inputs array");
    }

    /** {@code source} names the inputs in errors: their file, when they came from one. */
    private static NpyArray outputs(VitModel model, NpyArray inputs, Features.Kind kind, String source) {
        VitConfig c = model.config();
        long[] s = inputs.shape();
        requireImages(c, inputs, source);
        INDArray x = Nd4j.create(inputs.data(), s, 'c');
        int n = (int) s[0];
        float[] out = null;
        long[] shape = null;
        for (int start = 0; start < n; start += CHUNK) {
            int end = Math.min(n, start + CHUNK);
            INDArray chunk = x.get(NDArrayIndex.interval(start, end)).dup('c');
            INDArray y = kind == Features.Kind.LOGITS ? Features.logits(model.graph(), chunk)
                    : Features.of(model.graph(), chunk).get(kind);
            float[] values = y.castTo(DataType.FLOAT).dup('c').data().asFloat();
            int perImage = values.length / (end - start);
            if (out == null) {
                shape = y.shape().clone();
                shape[0] = n;
                out = new float[outputLength(perImage, n, kind, source)];
            }
            System.arraycopy(values, 0, out, perImage * start, values.length);
        }
        return new NpyArray(shape, out);
    }

    /**
     * The values of {@code images} outputs of {@code perImage} values each, computed in long: tokens outgrow their
     * images, so the inputs fitting an array does not mean the outputs do.
     */
    private static int outputLength(int perImage, int images, Features.Kind kind, String source) {
        long total = (long) perImage * images;
        if (total > MAX_OUTPUT_VALUES) {
            throw new InvalidSettingException("inputs", source + ": " + images + " images, whose " + kind
                    + " (" + perImage + " values an image) make " + total + " values", "at most "
                    + MAX_OUTPUT_VALUES / perImage + " images a file for " + kind + " (an output array holds at"
                    + " most " + MAX_OUTPUT_VALUES + " values); split the inputs");
        }
        return (int) total;
    }

    /**
     * The inputs are images this model takes, every pixel finite: a NaN would give NaN logits and a build that reports
     * success. Errors name the setting ({@code inputs}) and {@code source}, with the element for a bad value.
     */
    private static void requireImages(VitConfig c, NpyArray inputs, String source) {
        long[] s = inputs.shape();
        String expected = "float32 images [batch, " + c.inChans() + ", " + c.imgSize() + ", " + c.imgSize() + "] (NCHW)";
        if (s.length != 4 || s[1] != c.inChans() || s[2] != c.imgSize() || s[3] != c.imgSize()) {
            throw new InvalidSettingException("inputs", source + ": an array of shape " + Capped.list(s), expected);
        }
        if (s[0] == 0) throw new InvalidSettingException("inputs", source + ": an empty array", "at least one image");
        float[] data = inputs.data();
        for (int i = 0; i < data.length; i++) {
            if (!Float.isFinite(data[i])) {
                long perImage = s[1] * s[2] * s[3];
                long within = i % perImage;
                throw new InvalidSettingException("inputs", source + ": element " + i + " (image " + i / perImage
                        + ", channel " + within / (s[2] * s[3]) + ", row " + within / s[3] % s[2] + ", column "
                        + within % s[3] + ") is " + data[i], "finite pixel values");
            }
        }
    }

    /** Reads {@code inputs}, writes the logits to {@code output}. */
    public static NpyArray run(VitModel model, Path inputs, Path output) throws IOException {
        return run(model, inputs, output, Features.Kind.LOGITS);
    }

    /** Reads {@code inputs}, writes the outputs of {@code kind} to {@code output}. */
    public static NpyArray run(VitModel model, Path inputs, Path output, Features.Kind kind) throws IOException {
        NpyArray result = outputs(model, Npy.read(inputs), kind, inputs.toAbsolutePath().toString());
        Npy.write(output, result);
        return result;
    }
}
