package dev.scalenet.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.scalenet.data.Datasets;
import dev.scalenet.data.ImageDataset;
import dev.scalenet.data.Split;
import dev.scalenet.io.AtomicFiles;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.train.TrainResult;
import dev.scalenet.train.Trainer;
import dev.scalenet.vit.VitModel;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;

/**
 * Trains a ViT from scratch or further: how the bundled pretrained model was made.
 * <pre>
 *   --arch   JSON with timm's "constructor", "pretrained_cfg" and "label_names" (a model's JSON): a fresh model
 *   --model  a model zip or timm .safetensors to train further (instead of --arch)
 *   --data   dataset folder (IDX files or image folders)      [data/fashion-mnist]
 *   --out    output folder                                    [target/train]
 *   --name   file name of the trained model                   [model]
 *   --resume continue from the run folder's checkpoint        [true]
 *   and any recipe setting: --epochs 40 --batchSize 128 --learningRate 1e-3 ... (see TrainConfig)
 * </pre>
 * Writes {@code <out>/<name>.safetensors} + {@code .json} (timm's form), {@code <out>/<name>.zip} (DL4J),
 * {@code <out>/training.json} (recipe and results) and the run folder {@code <out>/run/} (checkpoint, metrics,
 * curve).
 */
public final class Train {
    private static final Set<String> OWN = Set.of("arch", "model", "data", "out", "name", "resume");

    private Train() {}

    public static void main(String[] argv) throws IOException {
        Args args = new Args(argv);
        TrainConfig recipe = args.recipe(TrainConfig.builder().build(), OWN);
        VitModel model = args.has("model") ? VitModel.load(args.path("model", null), null)
                : fresh(args.path("arch", null), recipe.seed());
        Path data = args.path("data", "data/fashion-mnist");
        Path out = args.path("out", "target/train");
        String name = args.get("name", "model");
        ImageDataset train = Datasets.open(data, Split.TRAIN);
        ImageDataset eval = Datasets.open(data, Split.EVAL);
        System.out.println("model: " + model.config() + ", " + model.graph().numParams() + " parameters");
        System.out.println("recipe: " + recipe.toJson());

        TrainResult result = new Trainer(recipe, model.dataConfig(), out.resolve("run"),
                Boolean.parseBoolean(args.get("resume", "true")), name).fit(model.graph(), train, eval);

        model.exportTimm(out.resolve(name + ".safetensors"));
        model.save(out.resolve(name + ".zip"));
        AtomicFiles.writeString(out.resolve("training.json"), new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .writeValueAsString(result.toJson()) + "\n");
        System.out.println("final: " + result.finalEval() + " after " + result.steps() + " steps, "
                + String.format(java.util.Locale.ROOT, "%.1f img/s", result.imagesPerSecond()));
        System.out.println("wrote " + out.toAbsolutePath().resolve(name + ".safetensors") + " (+ .json, .zip, training.json)");
    }

    /** A freshly initialised model from a metadata JSON (see {@link VitModel#metadata()}). */
    static VitModel fresh(Path arch, long seed) throws IOException {
        if (arch == null) throw new IllegalArgumentException("give --arch (a model metadata JSON) or --model");
        try {
            return VitModel.create(new ObjectMapper().readTree(arch.toFile()), seed);
        } catch (IllegalArgumentException e) {
            throw new IOException(arch.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }
}
