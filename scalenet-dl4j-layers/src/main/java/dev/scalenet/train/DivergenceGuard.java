package dev.scalenet.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Stops a run whose loss or gradient became NaN or infinite, or whose loss exploded, before the bad update is saved:
 * the last good checkpoint stays, to resume from with a gentler recipe. "Exploded" is a loss
 * {@value #EXPLODED_LOSS_FACTOR} times that of uniform guessing (ln classes): far above anything a run that still
 * learns reports, even at its first step.
 */
final class DivergenceGuard {
    /** A loss this many times that of uniform guessing (ln classes) counts as exploded. */
    static final double EXPLODED_LOSS_FACTOR = 20;

    private final String name;
    private final double explodedLoss;
    private final double learningRate;
    private final Path checkpoint;

    /**
     * @param name         the run's name, which starts the message
     * @param classes      the model's classes (uniform guessing's loss is ln classes)
     * @param learningRate the recipe's peak, named in the message as the first thing to lower
     * @param checkpoint   the run's checkpoint file, named in the message if it exists
     */
    DivergenceGuard(String name, int classes, double learningRate, Path checkpoint) {
        this.name = name;
        this.explodedLoss = EXPLODED_LOSS_FACTOR * Math.log(Math.max(2, classes));
        this.learningRate = learningRate;
        this.checkpoint = checkpoint;
    }

    /** Checks one step, before its update is applied: throws if its loss or batch-mean gradient norm went wrong. */
    void checkStep(long step, int epoch, double loss, double gradNorm) {
        String problem = problem(loss, gradNorm);
        if (problem != null) throw diverged(step, epoch, problem, "this step was not applied");
    }

    /**
     * Checks rounds {@code from} to {@code until - 1} that a {@link ParallelEngine} trained without coming back: it
     * gives no say between its rounds, so only the weights and the last round's loss can be checked, once.
     */
    void checkRounds(long from, long until, int epoch, boolean weightsFinite, double lastLoss) {
        String problem = weightsFinite ? problem(lastLoss, 0) : "the weights became non-finite";
        if (problem != null) {
            throw diverged(until - 1, epoch, problem, "steps " + from + " to " + (until - 1) + " ran in parallel and are not saved");
        }
    }

    /** What is wrong with a step's loss and gradient norm, or null if nothing. */
    String problem(double loss, double gradNorm) {
        if (!Double.isFinite(loss)) return "the loss became " + loss;
        if (!Double.isFinite(gradNorm)) return "the gradient norm became " + gradNorm;
        return loss < explodedLoss ? null : String.format(Locale.ROOT, "the loss exploded to %.4g", loss);
    }

    private TrainingDivergedException diverged(long step, int epoch, String what, String applied) {
        String kept = Files.exists(checkpoint) ? "the last good checkpoint is kept in " + checkpoint
                : "no checkpoint had been written yet";
        return new TrainingDivergedException(name + ": training stopped at step " + step + " (epoch " + (epoch + 1) + "): " + what
                + "; " + applied + " and " + kept + ". Lower learningRate (now " + learningRate + ") or set clipGradNorm.", step);
    }
}
