package dev.scalenet.bench;

import dev.scalenet.train.MemoryCheck;
import dev.scalenet.train.MemoryEstimate;
import dev.scalenet.train.TrainConfig;
import org.deeplearning4j.nn.graph.ComputationGraph;

import java.util.Locale;

/**
 * {@link MemoryEstimate} beside measured peaks: prints, per workload of {@link BenchWorkload} ({@code micro8},
 * {@code tiny}, {@code tiny24}), batch and {@code recompute}, the estimate and its components, one JSON line each, to
 * compare with {@code BenchWorkload}'s {@code peakRssMb}. Arguments: {@code model:batch[:recompute]} ...; with
 * {@code --check} first, runs {@link MemoryCheck} on this machine instead and prints its lines (the pages' examples).
 */
public final class MemoryCalibration {
    private MemoryCalibration() {}

    public static void main(String[] args) throws Exception {
        boolean check = args.length > 0 && args[0].equals("--check");
        for (String spec : args) {
            if (spec.equals("--check")) continue;
            String[] p = spec.split(":");
            ComputationGraph g = BenchWorkload.model(p[0]);
            TrainConfig recipe = BenchWorkload.recipe(Integer.parseInt(p[1])).toBuilder()
                    .recompute(p.length > 2 && p[2].equals("recompute")).build();
            if (check) {
                try {
                    MemoryCheck.thisMachine(System.out::println).check(g, recipe, false);
                } catch (MemoryCheck.DoesNotFitException x) {
                    System.out.println("fails: " + x.getMessage());
                }
                continue;
            }
            MemoryEstimate e = MemoryEstimate.of(g, recipe, false);
            System.out.printf(Locale.ROOT, "{\"workload\": \"%s-train\", \"batch\": %d, \"recompute\": %s, \"estimateMb\": %.1f, "
                            + "\"keptPerExampleMb\": %.4f, \"keptPerBlockPerExampleMb\": %.4f, \"activationsMb\": %.1f, \"workMb\": %.1f, "
                            + "\"paramsMb\": %.1f, \"gradientsMb\": %.1f, \"optimizerMb\": %.1f, \"shards\": %d, \"widestMb\": %.4f, \"hostMb\": %.2f, \"depth\": %d}%n",
                    p[0], e.batch(), e.recompute(), e.total() / 1048576.0, e.keptPerExample() / 1048576.0,
                    e.keptPerBlockPerExample() / 1048576.0, e.activations() / 1048576.0, e.workArrays() / 1048576.0,
                    e.parameters() / 1048576.0, e.gradients() / 1048576.0, e.optimizerState() / 1048576.0, e.shards(),
                    e.widestBlockPerExample() / 1048576.0, e.hostArrays() / 1048576.0, e.shape().depth());
            System.out.println("  " + e);
        }
    }
}
