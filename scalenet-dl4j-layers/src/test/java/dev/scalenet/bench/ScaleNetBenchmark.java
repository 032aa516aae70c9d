package dev.scalenet.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.vit.Pretrained;
import dev.scalenet.vit.VitConfig;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The project and PyTorch side by side on the same work, in one run: each workload of {@link BenchWorkload} runs in a
 * fresh JVM, then the same workload of {@code src/test/python/torch_peer.py} in a fresh Python, so each peak memory
 * is that workload's alone. Inference rows have a second peer, ONNX Runtime (CPU, 2 threads) on the model's ONNX
 * export ({@code M-ort}), in a fresh JVM too. Prints progress as workloads finish, then a Markdown table with the
 * ratios peer ÷ project (above 1: the project is faster). Not a test (the name keeps surefire away); the command is
 * in the README:
 * <pre>
 * mvn -B -q -pl scalenet-dl4j-layers test-compile exec:exec@benchmark [-Dbench.quick=true] [-Dbench.rows=infer]
 * </pre>
 * {@code bench.rows} keeps the rows whose workload contains it (e.g. {@code infer}: the inference rows);
 * {@code bench.jvm} holds the project's JVM options ({@code -Dbench.jvm=-Xmx4g}: the JVM's defaults otherwise).
 * Where {@code python3 -c "import torch"} fails it says how to install PyTorch and prints the project's half.
 */
public final class ScaleNetBenchmark {
    private static final boolean QUICK = Boolean.getBoolean("bench.quick");
    private static final String ROWS = System.getProperty("bench.rows", "");
    /** The options of the project's workload JVMs ({@code bench.jvm}, set in the module's POM). */
    private static final List<String> JVM = List.of(System.getProperty("bench.jvm", "-Xmx4g").trim().split("\\s+"));
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One row: a workload, its batch, its warm-up (at least {@code warmup} iterations and {@code warmupSeconds}), its
     * timed iterations, and its GEMM FLOPs per image (training: ×3).
     */
    private record Work(String label, String workload, int batch, int warmup, double warmupSeconds, int iters, double gemmFlops) {
        Work(String label, String workload, int batch, int warmup, int iters, double gemmFlops) {
            this(label, workload, batch, warmup, 0, iters, gemmFlops);
        }
    }

    /**
     * The micro rows' warm-up, for both engines: our step reaches its steady time only after the JIT has compiled
     * ND4J's Java side, 4-6 s into a run (measured batch by batch on the benchmarks page); each row reports its cold
     * start apart.
     */
    private static final double MICRO_WARMUP_SECONDS = QUICK ? 0 : 8;

    private ScaleNetBenchmark() {}

    public static void main(String[] args) throws Exception {
        long start = System.nanoTime();
        Path peer = Path.of(System.getProperty("bench.peer", "src/test/python/torch_peer.py"));
        String python = pythonWithTorch();
        int threads = Runtime.getRuntime().availableProcessors();
        VitConfig micro = Pretrained.VIT_FMNIST_D64_L4.config();
        VitConfig tiny = VitConfig.deitTinyPatch16();
        int r = ExpansionPlan.DEFAULT_ADAPTER_RANK;
        List<Work> works = List.of(
                new Work("SGEMM 1024³ (GFLOP/s)", "sgemm", 0, 3, 10, 2.0 * 1024 * 1024 * 1024),
                new Work("DeiT-Tiny block forward (B8 T197 D192)", "block-forward", 8, q(20), 10, 0),
                new Work("DeiT-Tiny block forward+backward", "block-train", 8, q(20), 10, 0),
                new Work("micro ViT training step, batch 128", "micro-train", 128, q(60), MICRO_WARMUP_SECONDS, q(30), 3 * flops(micro, 0, 0)),
                new Work("micro ViT grown to 8 blocks, training step, batch 128", "micro8-train", 128, q(40), MICRO_WARMUP_SECONDS, q(20),
                        3 * flops(micro, micro.depth(), r)),
                new Work("micro ViT inference, batch 1", "micro-infer", 1, q(200), MICRO_WARMUP_SECONDS, q(200), flops(micro, 0, 0)),
                new Work("micro ViT inference, batch 128", "micro-infer", 128, q(100), MICRO_WARMUP_SECONDS, q(20), flops(micro, 0, 0)),
                new Work("micro ViT grown to 8 blocks, inference, batch 1", "micro8-infer", 1, q(200), MICRO_WARMUP_SECONDS, q(200),
                        flops(micro, micro.depth(), r)),
                new Work("micro ViT grown to 8 blocks, inference, batch 128", "micro8-infer", 128, q(60), MICRO_WARMUP_SECONDS, q(20),
                        flops(micro, micro.depth(), r)),
                new Work("DeiT-Tiny training step, batch 32", "tiny-train", 32, q(6), q(5), 3 * flops(tiny, 0, 0)),
                new Work("DeiT-Tiny inference, batch 1", "tiny-infer", 1, q(10), q(30), flops(tiny, 0, 0)),
                new Work("DeiT-Tiny inference, batch 32", "tiny-infer", 32, 3, q(5), flops(tiny, 0, 0)),
                new Work("DeiT-Tiny inference, batch 128", "tiny-infer", 128, 2, q(3), flops(tiny, 0, 0)),
                new Work("ScaleNet-24 (DeiT-Tiny, cyclic) training step, batch 32", "tiny24-train", 32, q(6), q(3),
                        3 * flops(tiny, tiny.depth(), r)),
                new Work("ScaleNet-24 inference, batch 32", "tiny24-infer", 32, 3, q(3), flops(tiny, tiny.depth(), r)));

        System.out.printf(Locale.ROOT, "# ScaleNet benchmark: the project and PyTorch on the same work%n%d cores; "
                + "project: this JVM's java, a fresh JVM per workload, options %s; peer: %s%n%n", threads, String.join(" ", JVM),
                python == null ? "none (PyTorch not found: `apt-get install python3-torch libopenblas0-pthread`, "
                        + "or `pip install torch`; printing the project's half only)" : python + " " + peer);
        List<String> table = new ArrayList<>();
        table.add("| work | scalenet | PyTorch | ratio | ONNX Runtime | ratio | peak memory scalenet / PyTorch (MB) |");
        table.add("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        double sgemm = Double.NaN;
        double grownMicroTrainRate = Double.NaN;
        List<String> notes = new ArrayList<>();
        for (Work w : works) {
            if (!w.workload.contains(ROWS)) continue;
            List<String> common = List.of(w.workload, "--batch", String.valueOf(Math.max(1, w.batch)), "--warmup",
                    String.valueOf(w.warmup), "--warmup-seconds", String.valueOf(w.warmupSeconds), "--iters", String.valueOf(w.iters));
            JsonNode ours = run(javaCommand(common), w.label + " (scalenet)");
            JsonNode theirs = python == null ? null
                    : run(concat(List.of(python, peer.toString()), concat(common, List.of("--threads", String.valueOf(threads)))),
                    w.label + " (PyTorch)");
            // the second peer of inference rows: the same model's ONNX export in ONNX Runtime
            JsonNode ort = !w.workload.endsWith("-infer") ? null
                    : run(javaCommand(concat(List.of(w.workload.replace("-infer", "-ort")), common.subList(1, common.size()))),
                    w.label + " (ONNX Runtime)");
            double ortMs = ort == null ? Double.NaN : ort.get("medianMs").asDouble();
            double oursMs = ours.get("medianMs").asDouble();
            double theirsMs = theirs == null ? Double.NaN : theirs.get("medianMs").asDouble();
            String oursValue;
            String theirsValue;
            if (w.workload.equals("sgemm")) {
                sgemm = w.gemmFlops / oursMs / 1e6;
                oursValue = fmt(sgemm);
                theirsValue = fmt(w.gemmFlops / theirsMs / 1e6);
            } else if (w.workload.startsWith("block-")) { // one block: a time, not a rate
                oursValue = fmt(oursMs) + " ms";
                theirsValue = fmt(theirsMs) + " ms";
            } else {
                double rate = w.batch / (oursMs / 1e3);
                oursValue = fmt(rate) + " img/s";
                theirsValue = theirs == null ? "n/a" : fmt(w.batch / (theirsMs / 1e3)) + " img/s";
                if (w.workload.equals("micro8-train")) grownMicroTrainRate = rate;
                if (!Double.isNaN(sgemm)) {
                    notes.add(String.format(Locale.ROOT, "%s: %.0f%% of the SGEMM rate (GEMM FLOPs, backward counted as 2x forward)",
                            w.label, 100 * rate * w.gemmFlops / 1e9 / sgemm));
                }
                if (w.warmupSeconds > 0) {
                    notes.add(String.format(Locale.ROOT, "%s: warm-up %d iterations (%.0f s) for scalenet, %s for PyTorch; "
                                    + "median of the first %d: scalenet %.1f ms, PyTorch %s ms (the cold start)",
                            w.label, ours.get("warmup").asInt(), w.warmupSeconds,
                            theirs == null ? "n/a" : theirs.get("warmup").asText(), BenchWorkload.COLD, ours.get("coldMs").asDouble(),
                            theirs == null ? "n/a" : String.format(Locale.ROOT, "%.1f", theirs.get("coldMs").asDouble())));
                }
            }
            table.add(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s |", w.label, oursValue, theirsValue,
                    theirs == null ? "n/a" : String.format(Locale.ROOT, "%.2f", theirsMs / oursMs),
                    ort == null ? "" : fmt(w.batch / (ortMs / 1e3)) + " img/s",
                    ort == null ? "" : String.format(Locale.ROOT, "%.2f", ortMs / oursMs),
                    w.workload.contains("train") ? fmt(ours.get("peakRssMb").asDouble()) + " / "
                            + (theirs == null ? "n/a" : fmt(theirs.get("peakRssMb").asDouble())) : ""));
        }
        // the trainer: the same step as micro8-train, on the bundled Fashion-MNIST, with the recipe's augmentation
        // (random crop, flip) on the loader's thread and without it (the issue lets augmentation be reported apart).
        // Its yardstick: as many bare graph.fit steps from a cold start, timed as a whole (the JIT's warm-up and the GC
        // pauses included, as in the trainer; the median row above leaves both out)
        if (ROWS.isEmpty() || "micro8-trainer".contains(ROWS)) {
            int trainerSteps = q(400);
            JsonNode loop = run(javaCommand(List.of("micro8-fitloop", "--batch", "128", "--iters", String.valueOf(trainerSteps))),
                    "bare graph.fit loop, micro ViT grown to 8 blocks, as many steps as the trainer");
            double loopRate = loop.get("imagesPerSecond").asDouble();
            notes.add(String.format(Locale.ROOT, "%d bare graph.fit steps of the grown micro model from a cold start: %s img/s",
                    trainerSteps, fmt(loopRate)));
            for (boolean augment : new boolean[] {true, false}) {
                JsonNode trainer = run(javaCommand(List.of("micro8-trainer", "--batch", "128", "--iters", String.valueOf(trainerSteps),
                        "--augment", String.valueOf(augment))), "the project's trainer, micro ViT grown to 8 blocks, Fashion-MNIST"
                        + (augment ? "" : ", no augmentation"));
                double trainerRate = trainer.get("imagesPerSecond").asDouble();
                notes.add(String.format(Locale.ROOT, "the project's trainer on Fashion-MNIST (%d steps of 128, loading %s on "
                                + "its own thread, no evaluation): %s img/s, %.2f of the bare loop of as many steps, %.2f of the "
                                + "bare step's median above",
                        trainer.get("steps").asInt(), augment ? "and augmentation" : "without augmentation", fmt(trainerRate),
                        trainerRate / loopRate, trainerRate / grownMicroTrainRate));
            }
        }
        System.out.println();
        table.forEach(System.out::println);
        System.out.println();
        notes.forEach(n -> System.out.println("- " + n));
        System.out.printf(Locale.ROOT, "%nratio: the peer's time ÷ scalenet time (above 1: scalenet is faster); medians of "
                + "timed iterations after warm-up; total wall time %.0f s%n", (System.nanoTime() - start) / 1e9);
    }

    /** {@code n} timed iterations, or fewer with {@code -Dbench.quick=true} (a smoke run of the command). */
    private static int q(int n) {
        return QUICK ? Math.min(n, 2) : n;
    }

    private static List<String> javaCommand(List<String> args) {
        String java = ProcessHandle.current().info().command().orElse("java");
        return concat(concat(List.of(java), JVM), concat(List.of("-cp", System.getProperty("java.class.path"), BenchWorkload.class.getName()), args));
    }

    /** Runs one workload process, passing its stderr through, and returns the JSON line it printed last. */
    private static JsonNode run(List<String> command, String label) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        String last = out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElse(null);
        if (rc != 0 || last == null) {
            throw new IllegalStateException(label + ": " + String.join(" ", command.subList(0, 1)) + " exited with " + rc
                    + " and no result line; its output:\n" + out);
        }
        JsonNode result = JSON.readTree(last);
        System.out.printf(Locale.ROOT, "%-75s median %9.2f ms  peak RSS %6.0f MB  (%.0f s)%n", label,
                result.get("medianMs").asDouble(), result.get("peakRssMb").asDouble(), (System.nanoTime() - t0) / 1e9);
        return result;
    }

    /** The first of {@code python3}, {@code /usr/bin/python3} that imports torch, or null. */
    private static String pythonWithTorch() {
        for (String python : List.of("python3", "/usr/bin/python3")) {
            try {
                Process p = new ProcessBuilder(python, "-c", "import torch").redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                if (p.waitFor() == 0) return python;
            } catch (IOException e) {
                // not on this machine: try the next
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }

    /**
     * GEMM FLOPs of one block forward per image: qkv, proj, fc1, fc2 (2·tokens·in·out each), q·kᵀ and attn·v
     * (2·tokens²·width each), and for an inserted block its two rank-r adapters (down and up).
     */
    static double blockFlops(long t, long d, long mlp, int adapterRank) {
        return 2.0 * t * (3 * d * d + d * d + 2 * d * mlp) + 4.0 * t * t * d + 8.0 * t * d * adapterRank;
    }

    /** Forward GEMM FLOPs per image: patch projection, the blocks, {@code inserted} adapter-carrying blocks, the head. */
    static double flops(VitConfig c, int inserted, int adapterRank) {
        double patch = 2.0 * c.numPatches() * c.inChans() * c.patchSize() * c.patchSize() * c.embedDim();
        return patch + c.depth() * blockFlops(c.numTokens(), c.embedDim(), c.mlpHiddenDim(), 0)
                + inserted * blockFlops(c.numTokens(), c.embedDim(), c.mlpHiddenDim(), adapterRank)
                + 2.0 * c.embedDim() * c.numClasses();
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static String fmt(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
    }
}
