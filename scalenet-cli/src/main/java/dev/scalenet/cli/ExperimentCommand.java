package dev.scalenet.cli;

import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** ScaleNet against scratch: {@link Experiment}. */
@Command(name = "experiment", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"ScaleNet against scratch: base, base trained further, ScaleNet, deep model from scratch.",
                "Budget B epochs: the base as is and trained B/3 more; ScaleNet (expanded 2x, trained B/3); a deep model",
                "from scratch trained B and B/3; one recipe. Every arm is a resumable run in",
                "<out>/seed<k>/<arm>/; writes results.md, results.json and accuracy.png."})
final class ExperimentCommand implements Callable<Integer>, RecipeOptions.WithRecipe {
    @Spec
    CommandSpec spec;

    @Option(names = "--budget", paramLabel = "<epochs>", defaultValue = "12", description = "the budget B in epochs, a multiple of 3 (default: ${DEFAULT-VALUE})")
    int budget;

    @Option(names = "--seeds", paramLabel = "<n>", defaultValue = "1", description = "seeds per arm (default: ${DEFAULT-VALUE})")
    int seeds;

    @Option(names = "--rank", paramLabel = "<rank>", defaultValue = "" + ExpansionPlan.DEFAULT_ADAPTER_RANK, description = "adapter rank (default: ${DEFAULT-VALUE})")
    int rank;

    @Option(names = "--arms", paramLabel = "<list>", defaultValue = "base,base_more,scalenet,scratch_full,scratch_third",
            description = "comma-separated arms, in order (default: ${DEFAULT-VALUE})")
    String arms;

    @Option(names = "--data", paramLabel = "<dir>", defaultValue = "data/fashion-mnist", description = "dataset folder (default: ${DEFAULT-VALUE})")
    Path data;

    @Option(names = "--out", paramLabel = "<dir>", defaultValue = "target/experiment", description = "output folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--model", paramLabel = "<file>", description = "another base model (default: the bundled vit_fmnist_d64_l4)")
    Path model;

    @Option(names = "--config", paramLabel = "<json>", description = "its JSON (default: beside it)")
    Path config;

    @Override
    public TrainConfig recipeDefaults() {
        return Experiment.RECIPE;
    }

    @Override
    public Integer call() throws Exception {
        Experiment.run(new Experiment.Settings(budget, seeds, rank, arms, data, out, model, config,
                RecipeOptions.recipe(spec, Experiment.RECIPE)));
        return 0;
    }
}
