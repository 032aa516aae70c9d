package dev.scalenet.train;

import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Learning rate per optimizer step: linear warm-up from {@code minValue} to {@code peak} over
 * {@code warmupSteps}, then cosine decay to {@code minValue} at the last of {@code totalSteps} (timm's
 * CosineLRScheduler with warm-up, stepped per update rather than per epoch). Serialised with the model
 * configuration, so a restored checkpoint continues the same curve.
 */
public class WarmupCosineSchedule implements ISchedule {
    private final double peak;
    private final double minValue;
    private final long warmupSteps;
    private final long totalSteps;

    public WarmupCosineSchedule(@JsonProperty("peak") double peak, @JsonProperty("minValue") double minValue,
                                @JsonProperty("warmupSteps") long warmupSteps, @JsonProperty("totalSteps") long totalSteps) {
        if (totalSteps < 1 || warmupSteps < 0 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException("need 0 <= warmupSteps " + warmupSteps + " <= totalSteps " + totalSteps
                    + " and totalSteps >= 1");
        }
        this.peak = peak;
        this.minValue = minValue;
        this.warmupSteps = warmupSteps;
        this.totalSteps = totalSteps;
    }

    @Override
    public double valueAt(int iteration, int epoch) {
        if (iteration < warmupSteps) {
            return minValue + (peak - minValue) * (iteration + 1) / warmupSteps;
        }
        long decay = totalSteps - warmupSteps;
        double t = decay <= 1 ? 1 : Math.min(1.0, (double) (iteration - warmupSteps) / (decay - 1));
        return minValue + 0.5 * (peak - minValue) * (1 + Math.cos(Math.PI * t));
    }

    @Override
    public ISchedule clone() {
        return new WarmupCosineSchedule(peak, minValue, warmupSteps, totalSteps);
    }

    public double getPeak() { return peak; }
    public double getMinValue() { return minValue; }
    public long getWarmupSteps() { return warmupSteps; }
    public long getTotalSteps() { return totalSteps; }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof WarmupCosineSchedule)) return false;
        WarmupCosineSchedule s = (WarmupCosineSchedule) o;
        return peak == s.peak && minValue == s.minValue && warmupSteps == s.warmupSteps && totalSteps == s.totalSteps;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(peak, minValue, warmupSteps, totalSteps);
    }

    @Override
    public String toString() {
        return "WarmupCosineSchedule(peak=" + peak + ", min=" + minValue + ", warmup=" + warmupSteps + ", total=" + totalSteps + ")";
    }
}
