package dev.scalenet.cli;

import dev.scalenet.io.NpyArray;
import dev.scalenet.job.Predict;
import dev.scalenet.vit.Features;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;

/** Logits for preprocessed images. */
@Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Logits of a model for a float32 NCHW .npy of preprocessed images, as timm's model(x); writes a float32 [batch, classes] .npy.")
final class PredictCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--inputs", paramLabel = "<npy>", required = true, description = "float32 images [batch, channels, height, width]")
    Path inputs;

    @Option(names = "--output", paramLabel = "<npy>", defaultValue = "logits.npy", description = "where the logits go (default: ${DEFAULT-VALUE})")
    Path output;

    @Override
    public Integer call() throws Exception {
        NpyArray y = Predict.run(model.load(), inputs, output, Features.Kind.LOGITS);
        System.out.println("wrote logits " + Arrays.toString(y.shape()) + " to " + output);
        return 0;
    }
}
