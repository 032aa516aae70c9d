package dev.scalenet.cli;

import dev.scalenet.InvalidSettingException;
import dev.scalenet.io.NpyArray;
import dev.scalenet.job.Predict;
import dev.scalenet.vit.Features;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;

/** Features for a downstream head. */
@Command(name = "features", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Features of a model (preLogits or tokens) for a .npy of images, for a downstream head.",
                "Inputs: float32 NCHW, preprocessed. preLogits = timm's forward_head(x, pre_logits=True), [batch, dim];",
                "tokens = timm's forward_features(x), [batch, tokens, dim]. Writes a float32 .npy."})
final class FeaturesCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--inputs", paramLabel = "<npy>", required = true, description = "float32 images [batch, channels, height, width]")
    Path inputs;

    @Option(names = "--kind", paramLabel = "<kind>", defaultValue = "preLogits", description = "preLogits or tokens (default: ${DEFAULT-VALUE})")
    String kind;

    @Option(names = "--output", paramLabel = "<npy>", defaultValue = "features.npy", description = "where the features go (default: ${DEFAULT-VALUE})")
    Path output;

    @Override
    public Integer call() throws Exception {
        Features.Kind k;
        try {
            k = Features.Kind.parse(kind);
        } catch (InvalidSettingException e) {
            k = null; // its message names the library's setting; this command's option is --kind
        }
        InvalidSettingException.require(k != null && k != Features.Kind.LOGITS, "kind", kind, "preLogits or tokens (logits: the predict command)");
        NpyArray y = Predict.run(model.load(), inputs, output, k);
        System.out.println("wrote " + k + " " + Arrays.toString(y.shape()) + " to " + output);
        return 0;
    }
}
