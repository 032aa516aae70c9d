package dev.scalenet.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.scalenet.data.Datasets;
import dev.scalenet.data.ImageDataset;
import dev.scalenet.data.Split;
import dev.scalenet.io.AtomicFiles;
import dev.scalenet.io.Json;
import dev.scalenet.train.MemoryCheck;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.train.TrainResult;
import dev.scalenet.train.Trainer;
import dev.scalenet.vit.VitModel;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** Trains a ViT from scratch or further: how the bundled pretrained model was made. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Trains a ViT from scratch (--arch) or further (--model) with a recipe.",
                "Writes <out>/<name>.safetensors + .json (timm's form), <out>/<name>.zip (DL4J), <out>/training.json",
                "and the run folder <out>/run/ (checkpoint, metrics.jsonl, curve.png)."})
final class TrainCommand implements Callable<Integer>, RecipeOptions.WithRecipe {
    @Spec
    CommandSpec spec;

    /** Exactly one starting point. */
    static final class Start {
        @Option(names = "--arch", paramLabel = "<json>", required = true,
                description = "JSON with timm's \"constructor\", \"pretrained_cfg\" and \"label_names\" (a model's JSON): a fresh model")
        Path arch;

        @Option(names = "--model", paramLabel = "<file>", required = true, description = "a model zip or timm .safetensors to train further")
        Path model;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Start start;

    @Option(names = "--data", paramLabel = "<dir>", defaultValue = "data/fashion-mnist", description = "dataset folder (IDX files or image folders) (default: ${DEFAULT-VALUE})")
    Path data;

    @Option(names = "--out", paramLabel = "<dir>", defaultValue = "target/train", description = "output folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--name", paramLabel = "<stem>", defaultValue = "model", description = "file name of the trained model (default: ${DEFAULT-VALUE})")
    String name;

    @Option(names = "--resume", arity = "1", paramLabel = "<true|false>", defaultValue = "true",
            description = "continue from the run folder's checkpoint (default: ${DEFAULT-VALUE})")
    boolean resume;

    @Override
    public TrainConfig recipeDefaults() {
        return TrainConfig.pretraining().build();
    }

    @Override
    public Integer call() throws Exception {
        TrainConfig recipe = RecipeOptions.recipe(spec, recipeDefaults());
        VitModel model = start.model != null ? VitModel.load(start.model, null) : fresh(start.arch, recipe.seed());
        ImageDataset train = Datasets.open(data, Split.TRAIN);
        ImageDataset eval = Datasets.open(data, Split.EVAL);
        System.out.println("model: " + model.config() + ", " + model.graph().numParams() + " parameters");
        System.out.println("recipe: " + recipe.toJson());
        // before the run folder is written: a training step that cannot fit fails now, naming --batchSize and --recompute
        MemoryCheck.thisMachine(spec.commandLine().getErr()::println).check(model.graph(), recipe, false);

        TrainResult result = new Trainer(recipe, model.dataConfig(), out.resolve("run"), name).withResume(resume)
                .fit(model.graph(), train, eval);

        model.exportTimm(out.resolve(name + ".safetensors"));
        model.save(out.resolve(name + ".zip"));
        AtomicFiles.writeString(out.resolve("training.json"), new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .writeValueAsString(result.toJson()) + "\n");
        System.out.println("final: " + result.finalEval() + " after " + result.steps() + " steps, "
                + String.format(Locale.ROOT, "%.1f img/s", result.imagesPerSecond()));
        System.out.println("wrote " + out.toAbsolutePath().resolve(name + ".safetensors") + " (+ .json, .zip, training.json)");
        return 0;
    }

    /** A freshly initialised model from a metadata JSON (see {@link VitModel#metadata()}). */
    static VitModel fresh(Path arch, long seed) throws IOException {
        try {
            return VitModel.create(Json.read(arch), seed);
        } catch (IllegalArgumentException e) {
            throw new IOException(arch.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }
}
