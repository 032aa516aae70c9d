package dev.scalenet.layers;

import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * Stochastic depth acts only in training, draws its per-example masks from (seed, iteration), and with rate 0
 * changes nothing. (Its gradients are checked in {@link GradientCheckTest}.)
 */
class DropPathTest {
    private static final INDArray X = images();

    private static INDArray images() {
        Nd4j.getRandom().setSeed(4);
        return Nd4j.randn(DataType.FLOAT, 16, 1, 8, 8);
    }

    private static ComputationGraph model(double rate) {
        return VisionTransformer.builder()
                .config(VitConfig.builder().imgSize(8).patchSize(4).inChans(1).numClasses(3).embedDim(8).depth(3).numHeads(2).build())
                .dropPathRate(rate).seed(11).build().init();
    }

    /** The pooled features in training mode at a given iteration (the head is zero-initialised, so not the logits). */
    private static INDArray trainingFeatures(ComputationGraph g, int iteration) {
        g.getLayer(VisionTransformer.BLOCKS).setIterationCount(iteration);
        return g.feedForward(X, true).get(VisionTransformer.POOL).dup();
    }

    private static INDArray inferenceFeatures(ComputationGraph g) {
        return g.feedForward(X, false).get(VisionTransformer.POOL).dup();
    }

    @Test
    @DisplayName("with rate 0 training and inference compute the same")
    void rateZero() {
        ComputationGraph g = model(0);
        assertEquals(inferenceFeatures(g), trainingFeatures(g, 5));
    }

    @Test
    @DisplayName("with a rate, training drops paths for some examples; inference never does")
    void dropsInTrainingOnly() {
        ComputationGraph g = model(0.5);
        ComputationGraph plain = model(0);
        assertEquals(inferenceFeatures(plain), inferenceFeatures(g), "inference ignores the rate");
        INDArray train = trainingFeatures(g, 5);
        INDArray infer = inferenceFeatures(g);
        int differing = 0;
        for (int i = 0; i < X.size(0); i++) {
            if (!train.getRow(i).equalsWithEps(infer.getRow(i), 1e-6)) differing++;
        }
        // rates 0, 0.25, 0.5 over 3 blocks and 2 branches: P(no drop for an example) = 0.75^2 * 0.5^2 ≈ 0.14
        assertNotEquals(0, differing, "some of 16 examples lose a path");
    }

    @Test
    @DisplayName("the masks are a function of the iteration: repeatable, and different from step to step")
    void deterministicPerIteration() {
        ComputationGraph g = model(0.5);
        assertEquals(trainingFeatures(g, 7), trainingFeatures(g, 7));
        assertNotEquals(trainingFeatures(g, 7), trainingFeatures(g, 8));
        assertEquals(trainingFeatures(g, 7), trainingFeatures(model(0.5), 7), "a second model with the same seed agrees");
    }
}
