package dev.scalenet.train;

/**
 * Training stopped because the loss or the gradient became NaN/infinite or exploded. Nothing was updated with
 * the bad step; the last good checkpoint (if any) is left in place to resume from with a gentler recipe.
 */
public class TrainingDivergedException extends RuntimeException {
    private final long step;

    public TrainingDivergedException(String message, long step) {
        super(message);
        this.step = step;
    }

    /** The optimizer step at which the divergence was seen. */
    public long step() {
        return step;
    }
}
