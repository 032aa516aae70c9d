package dev.scalenet.job;

import dev.scalenet.data.BatchLoader;
import dev.scalenet.data.ImageDataset;
import dev.scalenet.train.EvalResult;
import dev.scalenet.train.Evaluator;
import dev.scalenet.vit.VitModel;

/** A model's held-out accuracy and loss on a dataset, preprocessed as the model's pretrained_cfg says. */
public final class Evaluation {
    private Evaluation() {}

    /** @param limit evaluate on the first {@code limit} images only; 0 for all */
    public static EvalResult of(VitModel model, ImageDataset data, int batchSize, int limit) {
        return of(model, data, batchSize, limit, (predicted, label) -> { });
    }

    /** The same, handing every image's predicted class and label to {@code perImage} in the dataset's order. */
    public static EvalResult of(VitModel model, ImageDataset data, int batchSize, int limit, Evaluator.PerImage perImage) {
        Evaluator.requireClasses("evalData", data, model.config().numClasses());
        BatchLoader.Builder loader = BatchLoader.evaluation(data, model.dataConfig(), batchSize);
        if (limit > 0) loader.limit(limit);
        try (BatchLoader.Batches batches = loader.build().epoch(0)) {
            return Evaluator.evaluate(model.graph(), batches, perImage);
        }
    }
}
