package dev.scalenet.cli;

import dev.scalenet.data.Datasets;
import dev.scalenet.data.HoldOut;
import dev.scalenet.data.ImageDataset;
import dev.scalenet.data.Split;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** A validation split as a dataset folder, so recipes can be chosen without the test set by any front end. */
@Command(name = "split", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Carves a validation split from a dataset's training split, as the experiment carves it, and writes it",
                "as a dataset folder: train-* (the rest) and val-* (the held-out part, read as the evaluation split).",
                "Train or expand on that folder to choose settings; the original test split stays unused."})
final class SplitCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data", paramLabel = "<dir>", defaultValue = "data/fashion-mnist", description = "dataset folder; its training split is carved (default: ${DEFAULT-VALUE})")
    Path data;

    @Option(names = "--validationSize", paramLabel = "<n>", defaultValue = "" + HoldOut.DEFAULT_VALIDATION_SIZE, description = "training examples held out for validation (default: ${DEFAULT-VALUE})")
    int validationSize;

    @Option(names = "--holdOutSeed", paramLabel = "<long>", defaultValue = "" + HoldOut.DEFAULT_SEED, description = "seed of the carve (default: ${DEFAULT-VALUE}, the experiment's)")
    long holdOutSeed;

    @Option(names = "--out", paramLabel = "<dir>", required = true, description = "the new dataset folder; must not exist")
    Path out;

    @Override
    public Integer call() throws Exception {
        ImageDataset source = Datasets.open(data, Split.TRAIN);
        HoldOut split = HoldOut.carve(source, validationSize, 0, holdOutSeed);
        split.save(out);
        spec.commandLine().getOut().println("wrote " + out.toAbsolutePath() + ": " + split.train().describe() + " as train-*, "
                + split.validation().describe() + " as val-*");
        return 0;
    }
}
