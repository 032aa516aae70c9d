package dev.scalenet.bench;

import dev.scalenet.data.DataConfig;
import dev.scalenet.train.GradientClipping;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.train.Trainer;
import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.AllocationsTracker;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.enums.AllocationKind;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Where a training step's bytes go: {@link BenchWorkload}'s training step ({@code graph.fit} after
 * {@link Trainer#prepare}, gradient clipping as a listener) of one of its models, sampled every 2 ms by a thread
 * beside it and at the step's phase boundaries (a listener's {@code onForwardPass}, {@code onBackwardPass} and
 * {@code iterationDone}): the process's resident set ({@code VmRSS}), the JVM heap (used and committed), and ND4J's
 * workspace bytes ({@link AllocationsTracker}, which on the CPU backend tracks workspaces only), split into the
 * training thread's (DL4J's own workspaces) and the rest (the block stack's batch-shard arenas and scratch on the
 * shard workers). The parameter, gradient and updater arrays are sized from the graph. Prints a text report.
 * Arguments: {@code model batch steps [--recompute] [--no-phases]} (models as {@link BenchWorkload}'s: micro, micro8,
 * tiny, tiny24); {@code --no-phases} samples whole steps without the phase listener.
 */
public final class MemoryProfile {
    private static final MemoryMXBean HEAP = ManagementFactory.getMemoryMXBean();
    private static final long MB = 1L << 20;

    private MemoryProfile() {}

    /** One sample's maxima over a phase. */
    private static final class Peak {
        long rss;
        long heapUsed;
        long heapCommitted;
        long workspaces;

        synchronized void sample() {
            rss = Math.max(rss, rss());
            heapUsed = Math.max(heapUsed, HEAP.getHeapMemoryUsage().getUsed());
            heapCommitted = Math.max(heapCommitted, HEAP.getHeapMemoryUsage().getCommitted());
            workspaces = Math.max(workspaces, AllocationsTracker.getInstance().bytesOnDevice(AllocationKind.WORKSPACE, 0));
        }

        synchronized String text() {
            return String.format(Locale.ROOT, "peak RSS %,6d MB | heap used %,5d MB, committed %,5d MB | ND4J workspaces %,6d MB",
                    rss / MB, heapUsed / MB, heapCommitted / MB, workspaces / MB);
        }
    }

    private static volatile Peak current = new Peak();

    public static void main(String[] args) throws Exception {
        String model = args[0];
        int batch = Integer.parseInt(args[1]);
        int steps = Integer.parseInt(args[2]);
        boolean recompute = List.of(args).contains("--recompute");
        Nd4j.getRandom().setSeed(42);
        Nd4j.create(DataType.FLOAT, 1).addi(1); // ND4J and its natives loaded
        System.gc();
        long rss0 = rss();
        long heap0 = HEAP.getHeapMemoryUsage().getUsed();
        long heapCommitted0 = HEAP.getHeapMemoryUsage().getCommitted();
        System.out.printf(Locale.ROOT, "JVM with ND4J loaded, no model: RSS %,d MB, heap used %,d MB of %,d MB committed%n",
                rss0 / MB, heap0 / MB, heapCommitted0 / MB);

        ComputationGraph graph = BenchWorkload.model(model);
        VitConfig c = VisionTransformer.configOf(graph);
        TrainConfig recipe = BenchWorkload.recipe(batch).toBuilder().recompute(recompute).build();
        new Trainer(recipe, DataConfig.fashionMnist(), Files.createTempDirectory("profile"), "profile").prepare(graph, 1000);
        INDArray x = Nd4j.randn(DataType.FLOAT, batch, c.inChans(), c.imgSize(), c.imgSize());
        INDArray y = Nd4j.zeros(DataType.FLOAT, batch, c.numClasses());
        Random rnd = new Random(42);
        for (int i = 0; i < batch; i++) y.putScalar(i, rnd.nextInt(c.numClasses()), 1.0);
        DataSet data = new DataSet(x, y);
        long params = graph.numParams();
        long stackParams = graph.getLayer(VisionTransformer.BLOCKS).numParams();
        System.gc();
        System.out.printf(Locale.ROOT, "model %s, %,d parameters (%,d in the block stack), batch %d, recompute %s, %s%n", model, params,
                stackParams, batch, recompute, VisionTransformer.blocksOf(graph).describe());
        System.out.printf(Locale.ROOT, "after building and preparing: RSS %,d MB, heap used %,d MB%n", rss() / MB,
                HEAP.getHeapMemoryUsage().getUsed() / MB);

        String[] phase = {"forward"};
        int[] step = {0};
        // --no-phases: only BenchWorkload's listener, the sampler alone (a listener's onForwardPass makes DL4J hand it the activations)
        if (List.of(args).contains("--no-phases")) graph.setListeners(new GradientClipping(recipe.clipGradNorm()));
        else graph.setListeners(new GradientClipping(recipe.clipGradNorm()), new BaseTrainingListener() {
            @Override
            public void onForwardPass(Model m, Map<String, INDArray> activations) {
                boundary("forward", step[0]);
                phase[0] = "backward";
            }

            @Override
            public void onBackwardPass(Model m) {
                boundary("backward", step[0]);
                phase[0] = "update";
            }

            @Override
            public void iterationDone(Model m, int iteration, int epoch) {
                // GradientClipping ran before this listener; the updater ran before iterationDone
                boundary("update", step[0]);
                phase[0] = "forward";
            }
        });
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                current.sample();
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "memory-sampler");
        sampler.setDaemon(true);
        sampler.start();
        for (step[0] = 1; step[0] <= steps; step[0]++) {
            current = new Peak();
            graph.fit(data);
            if (List.of(args).contains("--no-phases")) System.out.printf(Locale.ROOT, "step %d          %s%n", step[0], current.text());
        }
        sampler.interrupt();
        sampler.join();

        long updaterState = graph.getUpdater().getStateViewArray() == null ? 0 : graph.getUpdater().getStateViewArray().length();
        System.out.printf(Locale.ROOT, "arrays: parameters %,d MB, gradients %,d MB, updater state %,d MB (DL4J's flat arrays); "
                        + "shard gradient buffers %,d MB (%d shards beyond the first x the stack's parameters)%n",
                params * 4 / MB, params * 4 / MB, updaterState * 4 / MB, (shards() - 1) * stackParams * 4 / MB, shards() - 1);
        List<MemoryWorkspace> mine = Nd4j.getWorkspaceManager().getAllWorkspacesForCurrentThread();
        long mainThread = 0;
        for (MemoryWorkspace w : mine) {
            mainThread += w.getCurrentSize();
            System.out.printf(Locale.ROOT, "  training thread's workspace %-28s %,6d MB%n", w.getId(), w.getCurrentSize() / MB);
        }
        long all = AllocationsTracker.getInstance().bytesOnDevice(AllocationKind.WORKSPACE, 0);
        System.out.printf(Locale.ROOT, "workspaces at the end: %,d MB, of which the training thread's (DL4J's) %,d MB and the shard workers'"
                + " (the block stack's arenas and scratch) %,d MB%n", all / MB, mainThread / MB, (all - mainThread) / MB);
        System.gc();
        System.out.printf(Locale.ROOT, "after a full GC: heap used %,d MB (live: the host kernels' per-thread arrays and the rest), committed %,d MB; RSS %,d MB; peak RSS (VmHWM) %,d MB%n",
                HEAP.getHeapMemoryUsage().getUsed() / MB, HEAP.getHeapMemoryUsage().getCommitted() / MB, rss() / MB, hwm() / MB);
    }

    private static void boundary(String name, int step) {
        Peak p = current;
        p.sample();
        System.out.printf(Locale.ROOT, "step %d %-8s %s | at its end: RSS %,6d MB, workspaces %,6d MB%n", step, name, p.text(),
                rss() / MB, AllocationsTracker.getInstance().bytesOnDevice(AllocationKind.WORKSPACE, 0) / MB);
        current = new Peak();
    }

    private static int shards() {
        return Math.max(1, Integer.getInteger("scalenet.shards", 2));
    }

    private static long rss() {
        return status("VmRSS:");
    }

    private static long hwm() {
        return status("VmHWM:");
    }

    private static long status(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }
}
