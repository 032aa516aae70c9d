package dev.scalenet.cli;

import dev.scalenet.data.HoldOut;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** ScaleNet measured the way the paper measures it: {@link Experiment}. */
@Command(name = "experiment", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"ScaleNet against scratch and against the base it grows from, the paper's way.",
                "E = the base's own budget in epochs. Per seed: the base (L blocks) from",
                "scratch for E; the base trained E/3 more; 2L from scratch for E and E/3;",
                "grown to 2L from the base and trained E/3 (the paper's start,",
                "function-preserving, adapters everywhere, pure sharing, untied copies);",
                "base_2e: the base trained E more, the convergence check.",
                "Choices on a validation split carved from the training set; --final true",
                "adds the official test set, once per finished run. Every run resumes in",
                "<out>/seed<k>/<arm>/; results.md, results.json and accuracy.png aggregate",
                "all finished runs (mean and sample standard deviation over seeds) and pair",
                "them: per-seed differences with 95% t-intervals, McNemar per seed on the",
                "test images (each tested run keeps test-predictions.npy)."})
final class ExperimentCommand implements Callable<Integer>, RecipeOptions.WithRecipe {
    @Spec
    CommandSpec spec;

    @Option(names = "--budget", paramLabel = "<epochs>", defaultValue = "12", description = "E, the base's budget in epochs, a multiple of 3 (default: ${DEFAULT-VALUE})")
    int budget;

    @Option(names = "--seeds", paramLabel = "<n>", defaultValue = "3", description = "seeds per arm (default: ${DEFAULT-VALUE})")
    int seeds;

    @Option(names = "--firstSeed", paramLabel = "<k>", defaultValue = "0", description = "the first seed, so processes can split the seeds (default: ${DEFAULT-VALUE})")
    int firstSeed;

    @Option(names = "--rank", paramLabel = "<rank>", defaultValue = "" + ExpansionPlan.DEFAULT_ADAPTER_RANK, description = "adapter rank (default: ${DEFAULT-VALUE})")
    int rank;

    @Option(names = "--arms", paramLabel = "<list>",
            defaultValue = "base,base_more,scratch_full,scratch_third,scalenet,scalenet_fp,scalenet_all,shared,untied,base_2e",
            description = "comma-separated arms, in order; grown arms need this seed's base (default: ${DEFAULT-VALUE})")
    String arms;

    @Option(names = "--data", paramLabel = "<dir>", defaultValue = "data/fashion-mnist", description = "dataset folder (default: ${DEFAULT-VALUE})")
    Path data;

    @Option(names = "--out", paramLabel = "<dir>", defaultValue = "target/experiment", description = "output folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--width", paramLabel = "<dim>", description = "base embedding width (default: the bundled model's, 64)")
    Integer width;

    @Option(names = "--depth", paramLabel = "<L>", description = "base depth L (default: the bundled model's, 4)")
    Integer depth;

    @Option(names = "--heads", paramLabel = "<n>", description = "attention heads (default: the bundled model's, 4)")
    Integer heads;

    @Option(names = "--patch", paramLabel = "<px>", description = "patch size (default: the bundled model's, 7)")
    Integer patch;

    @Option(names = "--validationSize", paramLabel = "<n>", defaultValue = "" + HoldOut.DEFAULT_VALIDATION_SIZE, description = "training examples held out for validation (default: ${DEFAULT-VALUE})")
    int validationSize;

    @Option(names = "--trainSize", paramLabel = "<n>", defaultValue = "0", description = "training examples kept after the hold-out, 0 for all (default: ${DEFAULT-VALUE})")
    int trainSize;

    @Option(names = "--growLearningRate", paramLabel = "<lr>", description = "peak learning rate of the arms that start from the base (default: the recipe's)")
    Double growLearningRate;

    @Option(names = "--final", paramLabel = "<true|false>", arity = "1", defaultValue = "false",
            description = "also evaluate each finished run once on the official test set (default: ${DEFAULT-VALUE})")
    boolean finalTest;

    @Override
    public TrainConfig recipeDefaults() {
        return Experiment.RECIPE;
    }

    @Override
    public Integer call() throws Exception {
        Experiment.run(new Experiment.Settings(budget, seeds, firstSeed, rank, arms, data, out, width, depth, heads, patch,
                validationSize, trainSize, growLearningRate, finalTest, RecipeOptions.recipe(spec, Experiment.RECIPE)));
        return 0;
    }
}
