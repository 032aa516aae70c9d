package dev.scalenet.guide;

import dev.scalenet.data.Datasets;
import dev.scalenet.data.FashionMnist;
import dev.scalenet.data.ImageDataset;
import dev.scalenet.data.Split;
import dev.scalenet.expand.ExpandedModel;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.train.TrainResult;
import dev.scalenet.train.Trainer;
import dev.scalenet.vit.Pretrained;
import dev.scalenet.vit.VitModel;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.evaluation.classification.Evaluation;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's Java code (section 4), compiled and run exactly as shown: all 60,000 training images, the epoch the
 * recipe defaults to, all 10,000 test images. {@link LibraryGuideTest} checks that the README quotes the region
 * verbatim. It takes about 40 seconds on two cores: the main job's work, in the library's API.
 */
class ReadmeExamplesTest {
    @TempDir
    Path runDir;

    @Test
    @DisplayName("README section 4: the recommended plan and recipe, as written, end where the main job ends (88.87%), 0.05 points below the base (88.92%)")
    void growAndFineTune() throws Exception {
        Path data = FashionMnist.dir();
        // tag::readme[]
        // the bundled pretrained ViT, grown 4 -> 8 blocks by the recommended plan: cyclic, rank-8 adapters on the
        // inserted blocks, a function-preserving start (zero gates: the grown model starts exactly at the base)
        VitModel base = Pretrained.load("vit_fmnist_d64_l4");
        ExpandedModel grown = ScaleNet.expand(base.graph(), ExpansionPlan.builder().build());

        // the recommended recipe (the main job's): one epoch of 128-image batches in which the adjustment parameters,
        // norms and head train, AdamW at a peak learning rate of 1e-3, warm-up then cosine, label smoothing, clipping,
        // crop/flip augmentation
        TrainConfig recipe = TrainConfig.builder().build();
        ImageDataset train = Datasets.open(data, Split.TRAIN);   // data/fashion-mnist: 60,000 images
        ImageDataset test = Datasets.open(data, Split.EVAL);     // and 10,000 held out
        TrainResult result = new Trainer(recipe, base.dataConfig(), runDir, "grown")
                .fit(grown.graph(), train, test);               // logs progress; metrics.jsonl and curve.png in runDir

        // plain DL4J from here: Evaluation, ROC, early stopping, TransferLearning, ModelSerializer
        Evaluation eval = grown.graph().evaluate(recipe.evaluationBatches(test, base.dataConfig()).iterator());
        System.out.println(eval.stats());                       // accuracy 0.8887; the base: 0.8892
        // end::readme[]
        assertEquals(8887, Math.round(eval.accuracy() * 10_000), "the README's and the main job's accuracy, in hundredths of a percent");
        assertEquals(result.finalEval().top1(), eval.accuracy(), 1e-12, "DL4J's Evaluation and the trainer's agree");
        assertEquals(8892, Math.round(dev.scalenet.train.Evaluator.evaluate(base.graph(),
                recipe.evaluationBatches(test, base.dataConfig()).iterator()).top1() * 10_000), "the base's accuracy");
        assertEquals(468, result.steps(), "one epoch of 60,000 images in batches of 128 (the last partial batch dropped)");
        assertTrue(Files.isRegularFile(runDir.resolve(Trainer.CURVE)), "curve.png written");
    }
}
