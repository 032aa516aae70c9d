package dev.scalenet.train;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The recipe's global gradient-norm clipping ({@link TrainConfig#clipGradNorm}) where DL4J's own {@code fit} runs
 * the step, as in ParallelWrapper's workers. DL4J calls {@link #onGradientCalculation} after the backward pass and
 * before the updater, so scaling the gradient there is exactly the clipping {@link Trainer}'s own step does. DL4J's
 * {@code GradientNormalization} clips per layer or per parameter only, never the norm of all gradients together.
 * Stateless, so one instance can serve every worker; serializable, so a cluster's training master can ship it to its
 * executors.
 */
public final class GradientClipping extends BaseTrainingListener implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final double maxNorm;

    /** @param maxNorm the largest L2 norm of the batch-mean gradient ({@link TrainConfig#clipGradNorm()}) */
    public GradientClipping(double maxNorm) {
        this.maxNorm = maxNorm;
    }

    @Override
    public void onGradientCalculation(Model model) {
        clip(model.gradient().gradient(), Math.max(1, model.batchSize()), maxNorm);
    }

    /**
     * Scales {@code gradient} (DL4J's sum over a batch of {@code n}) in place so that the batch-mean gradient's L2
     * norm is at most {@code maxNorm} (0: no clipping); returns that norm before clipping.
     */
    static double clip(INDArray gradient, int n, double maxNorm) {
        double norm = gradient.norm2Number().doubleValue() / n;
        if (maxNorm > 0 && Double.isFinite(norm) && norm > maxNorm) gradient.muli(maxNorm / norm);
        return norm;
    }
}
