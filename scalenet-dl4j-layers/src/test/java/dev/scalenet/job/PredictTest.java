package dev.scalenet.job;

import dev.scalenet.InvalidSettingException;
import dev.scalenet.io.Npy;
import dev.scalenet.io.NpyArray;
import dev.scalenet.vit.Features;
import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import dev.scalenet.vit.VitModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Predict's inputs: images the model takes, every pixel finite; a bad file is named, and nothing is written. */
class PredictTest {
    private static VitModel model;

    @TempDir
    Path dir;

    @BeforeAll
    static void small() {
        VitConfig c = VitConfig.builder().imgSize(8).patchSize(4).inChans(1).numClasses(3).embedDim(8).depth(1)
                .numHeads(2).build();
        model = new VitModel(VisionTransformer.builder().config(c).build().init(), null, null);
    }

    @Test
    @DisplayName("a wrong shape, an empty batch or a non-finite pixel fails naming the file (and the element)")
    void badInputs() throws IOException {
        assertEquals("inputs = " + input("shape.npy", new long[] {1, 3, 8, 8}) + ": an array of shape [1, 3, 8, 8]:"
                + " expected float32 images [batch, 1, 8, 8] (NCHW)", rejected("shape.npy"));
        assertEquals("inputs = " + input("empty.npy", new long[] {0, 1, 8, 8}) + ": an empty array: expected at least"
                + " one image", rejected("empty.npy"));
        Path nan = input("nan.npy", new long[] {2, 1, 8, 8});
        NpyArray a = Npy.read(nan);
        a.data()[64 + 8 * 3 + 5] = Float.NaN;
        Npy.write(nan, a);
        assertEquals("inputs = " + nan + ": element 93 (image 1, channel 0, row 3, column 5) is NaN: expected finite"
                + " pixel values", rejected("nan.npy"));
        a.data()[64 + 8 * 3 + 5] = 0;
        a.data()[0] = Float.NEGATIVE_INFINITY;
        Npy.write(nan, a);
        assertEquals("inputs = " + nan + ": element 0 (image 0, channel 0, row 0, column 0) is -Infinity: expected finite"
                + " pixel values", rejected("nan.npy"));
    }

    @Test
    @DisplayName("tokens of more images than one output array holds fail naming the file and the most images it may hold,"
            + " before the output is allocated")
    void outputTooLarge() throws IOException {
        // one pixel an image but two tokens of 512 values: the outputs outgrow the inputs 1024-fold
        VitConfig c = VitConfig.builder().imgSize(1).patchSize(1).inChans(1).numClasses(2).embedDim(512).depth(1)
                .numHeads(2).mlpRatio(1).build();
        VitModel wide = new VitModel(VisionTransformer.builder().config(c).build().init(), null, null);
        long images = (Integer.MAX_VALUE - 8L) / 1024 + 1;
        Path file = input("many.npy", new long[] {images, 1, 1, 1});
        Path out = dir.resolve("out.npy");
        InvalidSettingException e = assertThrows(InvalidSettingException.class,
                () -> Predict.run(wide, file, out, Features.Kind.TOKENS));
        assertEquals("inputs = " + file + ": 2097152 images, whose tokens (1024 values an image) make 2147483648 values:"
                + " expected at most 2097151 images a file for tokens (an output array holds at most 2147483639 values);"
                + " split the inputs", e.getMessage());
        assertFalse(Files.exists(out), "nothing written");
    }

    private Path input(String name, long[] shape) throws IOException {
        Path file = dir.resolve(name).toAbsolutePath();
        Npy.write(file, new NpyArray(shape, new float[(int) (shape[0] * shape[1] * shape[2] * shape[3])]));
        return file;
    }

    /** The error for {@code name}; no output file was written. */
    private String rejected(String name) {
        Path out = dir.resolve("out.npy");
        String message = assertThrows(InvalidSettingException.class, () -> Predict.run(model, dir.resolve(name).toAbsolutePath(),
                out)).getMessage();
        assertFalse(Files.exists(out), "nothing written for a bad input");
        return message;
    }
}
