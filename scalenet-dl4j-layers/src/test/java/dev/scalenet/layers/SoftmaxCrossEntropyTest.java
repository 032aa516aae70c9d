package dev.scalenet.layers;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The loss as torch's {@code CrossEntropyLoss(label_smoothing=ε)}: per-example scores, their mean, and the gradient
 * {@code softmax(z)·Σt − t}, on the fp32 host path and on ND4J's (fp64, the gradient checks' path).
 *
 * <p>Tolerance: 1e-6 relative. The host path sums in double and rounds once to fp32; ND4J's fp64 path is exact to
 * 1e-15; a wrong term (a missing smoothing share, the max not subtracted, the mask ignored) is off by 1e-2 or more.
 */
class SoftmaxCrossEntropyTest {
    private static final double TOLERANCE = 1e-6;

    private static void assertClose(INDArray expected, INDArray actual, String what) {
        double scale = expected.amaxNumber().doubleValue();
        assertTrue(scale > 1e-3, "a vacuous comparison: " + what);
        double diff = expected.castTo(DataType.DOUBLE).sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        assertTrue(diff <= TOLERANCE * scale, what + " differs by " + diff);
    }

    @Test
    @DisplayName("a hand-computed example: logits (0, ln 3), true class 1, smoothing 0.2: score −(0.1·ln ¼ + 0.9·ln ¾), gradient softmax − targets")
    void handExample() {
        SoftmaxCrossEntropy loss = new SoftmaxCrossEntropy(0.2);
        INDArray z = Nd4j.createFromArray(new float[][] {{0f, (float) Math.log(3)}});
        INDArray y = Nd4j.createFromArray(new float[][] {{0f, 1f}});
        // softmax = (1/4, 3/4); targets = (0.1, 0.9): −(0.1·ln ¼ + 0.9·ln ¾)
        double expected = -(0.1 * Math.log(0.25) + 0.9 * Math.log(0.75));
        assertEquals(expected, loss.computeScore(y, z, new ActivationIdentity(), null, true), 1e-6);
        INDArray g = loss.computeGradient(y, z, new ActivationIdentity(), null);
        assertEquals(0.25 - 0.1, g.getDouble(0, 0), 1e-6);
        assertEquals(0.75 - 0.9, g.getDouble(0, 1), 1e-6);
    }

    @Test
    @DisplayName("fp32 on the host gives ND4J's fp64 scores, mean and gradient, with smoothing and a per-example mask")
    void hostMatchesNd4j() {
        Nd4j.getRandom().setSeed(7);
        INDArray z = Nd4j.randn(DataType.DOUBLE, 13, 10).muli(3);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, 13, 10);
        for (int i = 0; i < 13; i++) y.putScalar(i, (i * 7) % 10, 1.0);
        INDArray mask = Nd4j.ones(DataType.DOUBLE, 13, 1);
        mask.putScalar(4, 0, 0.0);
        SoftmaxCrossEntropy loss = new SoftmaxCrossEntropy(0.1);
        ActivationIdentity identity = new ActivationIdentity();
        INDArray zf = z.castTo(DataType.FLOAT);
        INDArray yf = y.castTo(DataType.FLOAT);
        for (INDArray m : new INDArray[] {null, mask}) {
            String what = m == null ? "no mask" : "mask";
            assertClose(loss.computeScoreArray(y, z, identity, m), loss.computeScoreArray(yf, zf, identity, m), "scores, " + what);
            assertClose(loss.computeGradient(y, z, identity, m), loss.computeGradient(yf, zf, identity, m), "gradient, " + what);
            double expected = loss.computeScore(y, z, identity, m, true);
            assertEquals(expected, loss.computeScore(yf, zf, identity, m, true), TOLERANCE * Math.abs(expected), "mean, " + what);
        }
        assertEquals(0.0, loss.computeScoreArray(yf, zf, identity, mask).getDouble(4, 0), "a masked example scores 0");
    }

    @Test
    @DisplayName("the loss reads the pre-activation logits: a softmax output layer and an identity one (models before 0.2) give the same bits; other activations are refused")
    void softmaxOrIdentityActivation() {
        SoftmaxCrossEntropy loss = new SoftmaxCrossEntropy(0.1);
        Nd4j.getRandom().setSeed(3);
        INDArray z = Nd4j.randn(DataType.FLOAT, 4, 3);
        INDArray y = Nd4j.createFromArray(new float[][] {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 0, 0}});
        assertEquals(loss.computeScore(y, z, new ActivationIdentity(), null, true), loss.computeScore(y, z, new ActivationSoftmax(), null, true));
        assertEquals(loss.computeGradient(y, z, new ActivationIdentity(), null), loss.computeGradient(y, z, new ActivationSoftmax(), null));
        assertThrows(IllegalStateException.class, () -> loss.computeScore(y, z, new ActivationReLU(), null, true));
        assertThrows(IllegalStateException.class, () -> loss.computeGradient(y, z, new ActivationReLU(), null));
    }
}
