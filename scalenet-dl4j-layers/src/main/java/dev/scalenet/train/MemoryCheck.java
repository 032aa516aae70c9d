package dev.scalenet.train;

import dev.scalenet.InvalidSettingException;
import org.bytedeco.javacpp.Pointer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.factory.Nd4j;

import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The check before training starts: logs the {@link MemoryEstimate} of a training step beside the JVM's and the
 * machine's limits, and fails, naming {@code batchSize} and {@code recompute}, when the estimate is over the limit the
 * process's resident memory must stay under: the smaller of the machine's physical memory and ND4J's off-heap limit
 * (JavaCPP's {@code maxPhysicalBytes}, by default 4 times the JVM's max heap: past it ND4J's next allocation fails with
 * "Physical memory usage is too high" or "Cannot allocate"). {@link TrainConfig#memoryCheck()} false keeps the log
 * line and skips the failure. On a backend other than ND4J's CPU one the activations live in device memory, whose
 * limit this check does not know: it logs the estimate and says the check was skipped.
 */
public final class MemoryCheck {
    private final Limits limits;
    private final Consumer<String> log;

    /**
     * What the process may use.
     *
     * @param physical          the machine's (or container's) physical memory, bytes
     * @param available         of it, what is free now (including reclaimable cache where the system says so)
     * @param maxHeap           the JVM's max heap ({@code -Xmx})
     * @param maxPhysicalBytes  JavaCPP's limit on the process's resident memory, which ND4J's allocations obey; 0: none
     * @param backend           the ND4J backend's name
     * @param cpu               whether it is the CPU backend (the estimate is of host memory)
     */
    public record Limits(long physical, long available, long maxHeap, long maxPhysicalBytes, String backend, boolean cpu) {
        /** This JVM and machine, with the loaded ND4J backend. */
        public static Limits thisMachine() {
            long physical = 0;
            long available = 0;
            if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
                physical = os.getTotalMemorySize(); // the container's limit inside one (JDK 17 reads cgroups)
                available = os.getFreeMemorySize();
            }
            long javacppAvailable = Pointer.availablePhysicalBytes(); // counts reclaimable page cache
            if (javacppAvailable > 0 && (physical == 0 || javacppAvailable <= physical)) available = Math.max(available, javacppAvailable);
            if (physical <= 0) physical = Pointer.totalPhysicalBytes();
            return new Limits(physical, available, Runtime.getRuntime().maxMemory(), Pointer.maxPhysicalBytes(),
                    Nd4j.getBackend().getClass().getSimpleName(), Nd4j.getEnvironment().isCPU());
        }

        /** The limit the training process's resident memory must stay under: machine memory or ND4J's, the smaller. */
        public long limit() {
            return maxPhysicalBytes > 0 && maxPhysicalBytes < physical ? maxPhysicalBytes : physical;
        }

        /** What {@link #limit()} is, in words. */
        String limitText() {
            return maxPhysicalBytes > 0 && maxPhysicalBytes < physical
                    ? MemoryEstimate.size(maxPhysicalBytes) + " ND4J may use in this JVM (JavaCPP's maxPhysicalBytes: 4x -Xmx unless"
                    + " -Dorg.bytedeco.javacpp.maxPhysicalBytes says otherwise)"
                    : MemoryEstimate.size(physical) + " this machine has";
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "JVM max heap %s, ND4J off-heap limit %s, physical memory %s (%s available now), backend %s",
                    MemoryEstimate.size(maxHeap), maxPhysicalBytes > 0 ? MemoryEstimate.size(maxPhysicalBytes) + " (maxPhysicalBytes)" : "none",
                    MemoryEstimate.size(physical), MemoryEstimate.size(available), backend);
        }
    }

    /** The estimate does not fit; names {@code batchSize} (the setting to change) and {@code recompute}. */
    public static final class DoesNotFitException extends InvalidSettingException {
        private final MemoryEstimate estimate;

        DoesNotFitException(MemoryEstimate estimate, String problem) {
            super("batchSize", estimate.batch(), problem);
            this.estimate = estimate;
        }

        public MemoryEstimate estimate() { return estimate; }
    }

    /** @param log where the estimate's lines go (the plugin's log, the command line's standard error, a logger) */
    public MemoryCheck(Limits limits, Consumer<String> log) {
        this.limits = Objects.requireNonNull(limits, "limits");
        this.log = Objects.requireNonNull(log, "log");
    }

    /** The check against this JVM and machine. */
    public static MemoryCheck thisMachine(Consumer<String> log) {
        return new MemoryCheck(Limits.thisMachine(), log);
    }

    public Limits limits() { return limits; }

    /**
     * Logs the estimate of training {@code graph} with {@code recipe} and the limits, and throws
     * {@link DoesNotFitException} when it is over them and {@link TrainConfig#memoryCheck()} is on.
     *
     * @param replicasElsewhere whether the recipe's workers train on other machines (Spark's executors): then the
     *                          estimate is one replica's, and this machine's memory is not what limits it
     */
    public MemoryEstimate check(ComputationGraph graph, TrainConfig recipe, boolean replicasElsewhere) {
        return check(MemoryEstimate.of(graph, recipe, replicasElsewhere), recipe.memoryCheck(), replicasElsewhere);
    }

    /** {@link #check(ComputationGraph, TrainConfig, boolean)} on an estimate made already. */
    public MemoryEstimate check(MemoryEstimate estimate, boolean failWhenOver, boolean replicasElsewhere) {
        log.accept("memory: " + estimate);
        log.accept("memory: limits: " + limits);
        if (!limits.cpu()) {
            log.accept("memory: not checked against this machine's memory: on the " + limits.backend() + " backend the"
                    + " training step's activations live in device memory (and the blocks run ND4J's reference path, whose"
                    + " activations differ from the estimate's); the device's own limit decides");
            return estimate;
        }
        if (replicasElsewhere) {
            log.accept("memory: not checked here: the workers train on other machines; the estimate is one executor's");
            return estimate;
        }
        long limit = limits.limit();
        // the reference keeps more than the CPU engine's count: an estimate of the latter is a lower bound for it
        String notModelled = estimate.notModelled();
        if (notModelled != null && estimate.total() <= limit) {
            log.accept(String.format(Locale.ROOT, "memory: not checked: %s; its lower bound, %s, is within the %s",
                    notModelled, MemoryEstimate.size(estimate.total()), limits.limitText()));
            return estimate;
        }
        if (estimate.total() <= limit) {
            log.accept(String.format(Locale.ROOT, "memory: the expected peak %s fits in the %s%s", MemoryEstimate.size(estimate.total()),
                    limits.limitText(), limits.available() > 0 && estimate.total() > limits.available()
                            ? ", but not in the " + MemoryEstimate.size(limits.available()) + " available now: other processes hold the rest" : ""));
            return estimate;
        }
        String problem = problem(estimate, limit);
        if (!failWhenOver) {
            log.accept("memory: " + problem + "; memoryCheck is false, so training starts anyway");
            return estimate;
        }
        throw new DoesNotFitException(estimate, problem + "; or set memoryCheck false if the estimate is wrong");
    }

    /** What does not fit and what to change: a smaller batch, recomputation. */
    private String problem(MemoryEstimate e, long limit) {
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "a batch whose training step fits in memory: the expected peak %s at batch %d"
                + " (recompute %s) is over the %s; ", MemoryEstimate.size(e.total()), e.batch(), e.recompute() ? "on" : "off", limits.limitText()));
        int fits = e.largestBatchWithin(limit);
        if (e.recompute()) {
            s.append("lower batchSize").append(fits > 0 ? " (the largest expected to fit: " + fits + ")" : "")
                    .append(" (recompute is on already)");
        } else {
            MemoryEstimate with = e.withRecompute(true);
            int fitsWith = with.largestBatchWithin(limit);
            s.append("lower batchSize").append(fits > 0 ? " (the largest expected to fit: " + fits + ")" : "")
                    .append(" or set recompute (the estimate with it: ").append(MemoryEstimate.size(with.total()))
                    .append(with.total() <= limit ? ", which fits" : fitsWith > 0 ? ", up to batch " + fitsWith : "").append(')');
        }
        return s.toString();
    }
}
