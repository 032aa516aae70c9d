package dev.scalenet.bench;

import dev.scalenet.expand.ExpandedModel;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.layers.TransformerBlock;
import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Speed of ScaleNet's DL4J layers: ND4J SGEMM, one DeiT-Tiny transformer block, and the whole DeiT-Tiny model
 * with its cyclic 24-block expansion. Prints a Markdown table. Not a test (the name keeps surefire away); run:
 * <pre>
 * mvn -B -q -o -pl scalenet-dl4j-layers test-compile exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=dev.scalenet.bench.ScaleNetBenchmark [-Dbench.iters=3 -Dbench.warmup=1 -Dbench.batch=32]
 * </pre>
 * Absolute times on a shared machine are noisy; the ratio column (achieved GEMM GFLOP/s over the SGEMM rate measured
 * in the same run) is the comparable number.
 */
public final class ScaleNetBenchmark {
    private static final long SEED = 42;
    /** Whole-model iterations: a 24-block training step at batch 32 takes many seconds on 2 cores. */
    private static final int WARMUP = Integer.getInteger("bench.warmup", 1);
    private static final int ITERS = Integer.getInteger("bench.iters", 3);
    /** SGEMM and single-block iterations: cheap, so more of them. */
    private static final int MICRO_WARMUP = Integer.getInteger("bench.microWarmup", 3);
    private static final int MICRO_ITERS = Integer.getInteger("bench.microIters", 10);
    private static final int BATCH = Integer.getInteger("bench.batch", 32);
    /** Split a training step into forward / backward / updater (coarse: differences of medians). */
    private static final boolean PROFILE = Boolean.parseBoolean(System.getProperty("bench.profile", "true"));

    private static final List<String[]> rows = new ArrayList<>();
    private static double sgemmGflops;

    private ScaleNetBenchmark() {}

    public static void main(String[] args) {
        long start = System.nanoTime();
        Nd4j.getRandom().setSeed(SEED);
        System.out.printf(Locale.ROOT, "# ScaleNet DL4J benchmark%n%d cores, ND4J maxThreads %d, Java %s, backend %s, BLAS %s%n"
                        + "iterations: model %d warm-up + %d timed (median), micro %d + %d, batch %d%n%n",
                Runtime.getRuntime().availableProcessors(), Nd4j.getEnvironment().maxThreads(),
                System.getProperty("java.version"), Nd4j.getBackend().getClass().getName(),
                Nd4j.factory().blas().getBlasVendor(), WARMUP, ITERS, MICRO_WARMUP, MICRO_ITERS, BATCH);

        sgemm();
        block();
        VitConfig tiny = VitConfig.deitTinyPatch16();
        ComputationGraph base = VisionTransformer.builder().config(tiny).seed(SEED).updater(new Adam(1e-3)).build().init();
        ExpandedModel expanded = ScaleNet.expand(base, ExpansionPlan.cyclic(24));
        row("DeiT-Tiny params", String.format(Locale.ROOT, "%,d", base.numParams()), "params", "");
        row("ScaleNet-24 params (total)", String.format(Locale.ROOT, "%,d", expanded.totalParams()), "params", "");
        row("ScaleNet-24 added adjustment params", String.format(Locale.ROOT, "%,d", expanded.adjustmentParams()), "params",
                ratio((double) expanded.adjustmentParams() / expanded.baseParams()));
        model("DeiT-Tiny 12 blocks", base, modelFlopsPerImage(tiny, 0, 0));
        // positions 12..23 re-run the base blocks, each with two rank-r adapters
        model("ScaleNet-24 (cyclic)", expanded.graph(),
                modelFlopsPerImage(tiny, expanded.depth() - tiny.depth(), ExpansionPlan.DEFAULT_ADAPTER_RANK));

        System.out.println();
        System.out.println("| measurement | value | unit | ratio |");
        System.out.println("| --- | ---: | --- | ---: |");
        for (String[] r : rows) System.out.println("| " + String.join(" | ", r) + " |");
        System.out.println();
        System.out.println("ratio: achieved GEMM GFLOP/s ÷ the SGEMM rate above (GEMM FLOPs only, backward counted as 2× forward); "
                + "for adjustment params: ÷ base params.");
        System.out.println("for scale (figures quoted in the issue, measured elsewhere, not by this run): PyTorch 1.13 on this CPU: "
                + "block fwd+bwd 112 ms, whole model training 6.5 img/s; stock DL4J SameDiff block fwd+bwd 395 ms");
        System.out.printf(Locale.ROOT, "total wall time %.0f s%n", (System.nanoTime() - start) / 1e9);
    }

    /** ND4J's GEMM into a preallocated result: the machine's practical peak, against which everything is compared. */
    private static void sgemm() {
        int n = 1024;
        INDArray a = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray b = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray c = Nd4j.createUninitialized(DataType.FLOAT, n, n);
        double ms = medianMs("sgemm 1024^3", MICRO_WARMUP, MICRO_ITERS, () -> Nd4j.gemm(a, b, c, false, false, 1.0, 0.0));
        sgemmGflops = 2.0 * n * n * n / ms / 1e6;
        row("ND4J SGEMM 1024³ fp32", fmt(sgemmGflops), "GFLOP/s", "1.00");
    }

    /**
     * One block at DeiT-Tiny shapes, through a ComputationGraph whose only layer is the block: layers called
     * outside a network run without workspaces and are several times slower.
     */
    private static void block() {
        int b = 8, t = 197, d = 192, heads = 3, mlp = 768;
        ComputationGraph g = new ComputationGraph(new NeuralNetConfiguration.Builder()
                .seed(SEED).dataType(DataType.FLOAT).updater(new Adam(1e-3))
                .trainingWorkspaceMode(WorkspaceMode.ENABLED).inferenceWorkspaceMode(WorkspaceMode.ENABLED)
                .graphBuilder()
                .addInputs("tokens")
                .setInputTypes(InputType.recurrent(d, t, RNNFormat.NWC))
                .addLayer("block", new TransformerBlock.Builder().embedDim(d).numHeads(heads).mlpHiddenDim(mlp).build(), "tokens")
                .setOutputs("block")
                .build());
        g.init();
        INDArray x = Nd4j.randn(DataType.FLOAT, b, t, d);
        INDArray eps = Nd4j.randn(DataType.FLOAT, b, t, d);
        INDArray[] in = {x};
        double flops = blockFlops(b, t, d, mlp, 0);
        row("block GEMM work, forward (B8 T197 D192 H3 MLP768)", fmt(flops / 1e9), "GFLOP", "");

        double fwd = medianMs("block forward", MICRO_WARMUP, MICRO_ITERS, () -> g.output(x));
        row("block forward", fmt(fwd), "ms", ratio(flops / fwd / 1e6 / sgemmGflops));
        // clearInputs=false: feedForward(x, true) clears the layer inputs and backpropGradient then fails
        double fwdBwd = medianMs("block forward+backward", MICRO_WARMUP, MICRO_ITERS, () -> {
            g.feedForward(in, true, false);
            g.backpropGradient(eps);
        });
        row("block forward+backward", fmt(fwdBwd), "ms", ratio(3 * flops / fwdBwd / 1e6 / sgemmGflops));
    }

    private static void model(String name, ComputationGraph graph, double fwdFlopsPerImage) {
        VitConfig c = VisionTransformer.configOf(graph);
        Nd4j.getRandom().setSeed(SEED);
        INDArray x = Nd4j.randn(DataType.FLOAT, BATCH, c.inChans(), c.imgSize(), c.imgSize());
        INDArray y = Nd4j.zeros(DataType.FLOAT, BATCH, c.numClasses());
        Random rnd = new Random(SEED);
        for (int i = 0; i < BATCH; i++) y.putScalar(i, rnd.nextInt(c.numClasses()), 1.0);
        DataSet data = new DataSet(x, y);

        double fit = medianMs(name + " training step (fit, Adam)", WARMUP, ITERS, () -> graph.fit(data));
        rowRate(name + " training", fit, 3 * fwdFlopsPerImage);
        double cgs = Double.NaN;
        if (PROFILE) {
            // fit = computeGradientAndScore (forward + backward) + updater; fit has just warmed the same workspaces
            graph.setInputs(x);
            graph.setLabels(y);
            cgs = medianMs(name + " computeGradientAndScore", 0, ITERS, graph::computeGradientAndScore);
        }
        release(graph);

        // DL4J sizes its per-layer working memory only after 2 x vertices open/close cycles: warm up at least 3 calls
        double infer = medianMs(name + " inference (output)", Math.max(WARMUP, 3), ITERS, () -> graph.output(x));
        rowRate(name + " inference", infer, fwdFlopsPerImage);
        if (PROFILE) {
            double ff = medianMs(name + " feedForward(x, train=true)", WARMUP, ITERS, () -> graph.feedForward(x, true));
            row(name + ": forward, train mode (feedForward)", fmt(ff), "ms", "");
            row(name + ": forward+backward (computeGradientAndScore)", fmt(cgs), "ms", "");
            row(name + ": updater + fit overhead (fit − computeGradientAndScore)", fmt(fit - cgs), "ms", "");
        }
        release(graph);
    }

    /**
     * Frees the thread's workspaces: each access pattern (fit, output) sizes its own, and a 24-block model at batch 32
     * holds several GB in each; keeping them all alive ran a 23 GB machine out of memory.
     */
    private static void release(ComputationGraph graph) {
        graph.clear();
        Nd4j.getWorkspaceManager().destroyAllWorkspacesForCurrentThread();
        System.gc();
    }

    private static void rowRate(String name, double ms, double flopsPerImage) {
        double imgPerS = BATCH / (ms / 1e3);
        row(name + ", batch " + BATCH, fmt(imgPerS), "img/s", ratio(imgPerS * flopsPerImage / 1e9 / sgemmGflops));
        row(name + " step, batch " + BATCH, fmt(ms), "ms", "");
    }

    /**
     * GEMM FLOPs of one block forward: qkv, proj, fc1, fc2 (2·rows·in·out each), q·kᵀ and attn·v (2·B·T²·D each),
     * and, for an inserted block, its two adapters (down and up, rank r).
     */
    static double blockFlops(long b, long t, long d, long mlp, int adapterRank) {
        double rows = (double) b * t;
        return 2 * rows * (3 * d * d + d * d + 2 * d * mlp) + 4.0 * b * t * t * d + 2 * 2 * 2 * rows * d * adapterRank;
    }

    /** Forward GEMM FLOPs per image: patch projection, blocks (plus {@code inserted} adapter-carrying blocks), head. */
    static double modelFlopsPerImage(VitConfig c, int inserted, int adapterRank) {
        double patch = 2.0 * c.numPatches() * c.inChans() * c.patchSize() * c.patchSize() * c.embedDim();
        double blocks = c.depth() * blockFlops(1, c.numTokens(), c.embedDim(), c.mlpHiddenDim(), 0)
                + inserted * blockFlops(1, c.numTokens(), c.embedDim(), c.mlpHiddenDim(), adapterRank);
        return patch + blocks + 2.0 * c.embedDim() * c.numClasses();
    }

    /** Runs {@code warmup} untimed and {@code iters} timed calls, printing each time as it comes; returns the median ms. */
    private static double medianMs(String label, int warmup, int iters, Runnable body) {
        System.out.print(label + ":");
        double[] ms = new double[Math.max(1, iters)];
        for (int i = -warmup; i < ms.length; i++) {
            long t0 = System.nanoTime();
            body.run();
            double elapsed = (System.nanoTime() - t0) / 1e6;
            if (i >= 0) ms[i] = elapsed;
            System.out.printf(Locale.ROOT, " %s%.1f", i < 0 ? "w" : "", elapsed);
            System.out.flush();
        }
        Arrays.sort(ms);
        double median = ms.length % 2 == 1 ? ms[ms.length / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
        System.out.printf(Locale.ROOT, " ms -> median %.1f ms%n", median);
        return median;
    }

    private static void row(String measurement, String value, String unit, String ratio) {
        rows.add(new String[] {measurement, value, unit, ratio});
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
    }

    private static String ratio(double r) {
        return String.format(Locale.ROOT, "%.3f", r);
    }
}
