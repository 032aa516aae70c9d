package dev.scalenet.job;

import dev.scalenet.io.Npy;
import dev.scalenet.io.NpyArray;
import dev.scalenet.vit.VitConfig;
import dev.scalenet.vit.VitModel;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Logits of a model for a batch of already-preprocessed images: a float32 NCHW {@code .npy} in, a float32
 * {@code [batch, classes]} {@code .npy} out (written atomically). No preprocessing is applied: the inputs are
 * what the graph's input takes, as in timm's {@code model(x)}.
 */
public final class Predict {
    /** Images per forward pass: bounds memory for large input files. */
    private static final int CHUNK = 256;

    private Predict() {}

    public static NpyArray logits(VitModel model, NpyArray inputs) {
        VitConfig c = model.config();
        long[] s = inputs.shape();
        if (s.length != 4 || s[1] != c.inChans() || s[2] != c.imgSize() || s[3] != c.imgSize()) {
            throw new dev.scalenet.InvalidSettingException("inputs", "an array of shape " + Arrays.toString(s),
                    "float32 images [batch, " + c.inChans() + ", " + c.imgSize() + ", " + c.imgSize() + "] (NCHW)");
        }
        INDArray x = Nd4j.create(inputs.data(), s, 'c');
        int n = (int) s[0];
        float[] out = new float[n * c.numClasses()];
        for (int start = 0; start < n; start += CHUNK) {
            int end = Math.min(n, start + CHUNK);
            INDArray chunk = x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(start, end)).dup('c');
            float[] logits = model.graph().outputSingle(false, chunk).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT)
                    .dup('c').data().asFloat();
            System.arraycopy(logits, 0, out, start * c.numClasses(), logits.length);
        }
        return new NpyArray(new long[] {n, c.numClasses()}, out);
    }

    /** Reads {@code inputs}, writes the logits to {@code output}. */
    public static NpyArray run(VitModel model, Path inputs, Path output) throws IOException {
        NpyArray logits = logits(model, Npy.read(inputs));
        Npy.write(output, logits);
        return logits;
    }
}
