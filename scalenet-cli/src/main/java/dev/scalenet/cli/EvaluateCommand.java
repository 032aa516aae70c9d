package dev.scalenet.cli;

import dev.scalenet.data.Datasets;
import dev.scalenet.data.ImageDataset;
import dev.scalenet.data.Split;
import dev.scalenet.job.Evaluation;
import dev.scalenet.train.EvalResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** Held-out accuracy of a model. */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Top-1, top-5 and loss of a model on the evaluation split of a dataset, preprocessed as the model's pretrained_cfg says.")
final class EvaluateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--data", paramLabel = "<dir>", defaultValue = "data/fashion-mnist", description = "dataset folder; its evaluation split is used (default: ${DEFAULT-VALUE})")
    Path data;

    @Option(names = "--batchSize", paramLabel = "<int>", defaultValue = "128", description = "images per forward pass (default: ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--evalLimit", paramLabel = "<int>", defaultValue = "0", description = "use only the first N images; 0 for all (default: ${DEFAULT-VALUE})")
    int evalLimit;

    @Override
    public Integer call() throws Exception {
        dev.scalenet.InvalidSettingException.require(batchSize >= 1, "batchSize", batchSize, "a positive number of images");
        dev.scalenet.InvalidSettingException.require(evalLimit >= 0, "evalLimit", evalLimit, "0 (all) or a number of images");
        ImageDataset eval = Datasets.open(data, Split.EVAL);
        EvalResult r = Evaluation.of(model.load(), eval, batchSize, evalLimit);
        System.out.println(model.model.getFileName() + " on " + eval.describe() + ": " + r);
        return 0;
    }
}
