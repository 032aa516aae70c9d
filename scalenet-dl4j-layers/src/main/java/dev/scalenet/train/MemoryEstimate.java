package dev.scalenet.train;

import dev.scalenet.engine.EngineSettings;
import dev.scalenet.layers.ScaleNetBlocks;
import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The expected peak memory (resident set of the JVM process) of one training step of a ViT built by
 * {@link VisionTransformer} (a grown one included), from its configuration and the recipe, before anything is
 * allocated: what {@link MemoryCheck} logs and checks before training starts.
 *
 * <p>What it counts, in bytes of the model's data type ({@code w}, 4 for fp32), with {@code P} the parameters,
 * {@code S} those of the block stack, {@code b} the batch, {@code T} the tokens, {@code d} the width, {@code h} the
 * heads, {@code m} the MLP's hidden width, {@code r} the adapter rank and {@code L} the stack's depth (positions):
 * <ul>
 *   <li><b>parameters</b> {@code P w};</li>
 *   <li><b>gradients</b> {@code P w} (DL4J's flat gradient array) plus {@code (shards - 1) S w}: each batch shard
 *       after the first adds its stack gradients into a buffer of its own;</li>
 *   <li><b>optimizer state</b> {@code 2 P w} (AdamW's two moments), {@code 3 P w} with an EMA of the weights;</li>
 *   <li><b>activations</b> kept from the forward pass for the backward pass, {@code b w} times, per example:
 *       without {@code recompute}, {@code T (8d + m + 4 + hT)} values per block (its input, the two LayerNorms'
 *       outputs and statistics, the qkv projection, the attention probabilities, the attention output, the
 *       residual between the branches, fc1's output before GELU: GELU's output is recomputed in backward),
 *       {@code 2Td} more on a gated block and
 *       {@code 2Tr} on one with adapters; with {@code recompute}, only each block's input, {@code Td}; plus the
 *       pixels and three {@code T x d} arrays outside the stack (patch embedding, the stack's input and output);
 *       times a measured factor, {@value #KEPT_FACTOR} without and {@value #KEPT_RECOMPUTE_FACTOR} with
 *       {@code recompute}: a step's resident memory grows by that much more than the values listed (the arenas also
 *       hold the stack's own arrays and alignment; with recomputation the block inputs are small arrays beside the
 *       recomputed block's, so the factor is larger);</li>
 *   <li><b>work arrays</b>: the backward pass's temporaries of one block (the widest block's values per example,
 *       times the batch and the measured factor {@value #WORK_FACTOR}), twice with {@code recompute} (the recomputed
 *       block's activations besides its temporaries); and the host kernels' per-thread Java arrays, 4 per thread
 *       (each shard's worker and the caller) of at most 2^22 floats each, sized by the largest of one shard's attention
 *       probabilities, MLP activations and qkv projection;</li>
 *   <li><b>baseline</b>: the JVM (its heap included), ND4J's and OpenBLAS's native libraries, a constant
 *       {@value #BASELINE_MB} MB (fitted; a Maven build's JVM holds Maven besides).</li>
 * </ul>
 * With {@code workers} above 1 on this machine (ParallelWrapper) every worker holds a replica with its own parameters,
 * gradients, optimizer state and activations, so those parts count {@code workers} times.
 *
 * <p>Not counted: the data set held in memory (Fashion-MNIST's 60,000 images are 47 MB), the evaluation passes, and
 * the job's control (the base model, trained after the grown one, and smaller).
 *
 * <p>Measured error. The factors and the baseline were fitted (least squares, non-negative) to the peak resident
 * memory of {@code BenchWorkload}'s training step ({@code -Xmx4g}, the JVM's default collector, CPU, 2 shards, one
 * fresh JVM per row, 2026-12-07, with the arenas reserved before the first step) of the micro model grown to 8 blocks
 * (batch 64 and 128), DeiT-Tiny (12 blocks) and ScaleNet-24 (DeiT-Tiny grown to 24) (batch 16 and 32), each with and
 * without {@code recompute}: estimate / measured 0.80-1.17 on those 12 rows (0.99-1.01 on the DeiT-Tiny-sized ones).
 * On 6 rows held out of the fit (micro-8 at batch 256, DeiT-Tiny at 24, ScaleNet-24 at 8) it was 0.94-1.11 (0.94-1.01
 * on the DeiT-Tiny-sized ones). The micro rows are the least accurate: their peaks are small, and the JVM heap's
 * share of them varies from run to run. The per-block cost fitted before the arenas were reserved (19 examples'
 * worth of each position's activations) came out at zero: it was the first step's spill. Wider models (ViT-Base)
 * were not in the fit: the estimate extrapolates there. Under another backend (CUDA) the blocks run ND4J's reference
 * path, whose activations differ, and they live in device memory: {@link MemoryCheck} logs the estimate there and
 * does not check it.
 */
public final class MemoryEstimate {
    /** Measured factor over the activations the blocks keep without recomputation (see the class comment). */
    static final double KEPT_FACTOR = 1.12;
    /** Measured factor over the block inputs kept with recomputation. */
    static final double KEPT_RECOMPUTE_FACTOR = 1.8;
    /** Measured factor over one block's backward temporaries. */
    static final double WORK_FACTOR = 2.0;
    /** The JVM's (heap included) and the native libraries' own resident memory, measured. */
    static final long BASELINE_MB = 180;
    /** The host kernels' cap on one Java array ({@code -Dscalenet.hostKernels.maxElements}'s default). */
    private static final long HOST_ARRAY_CAP = 1L << 22;

    /**
     * What the estimate needs to know of a model.
     *
     * @param tokens         tokens per image, class token included
     * @param gatedPositions positions of the stack with LayerScale gates (inserted blocks of a function-preserving growth)
     * @param adaptedPositions positions with adapters
     * @param inputValues    values of one input image ({@code channels x size x size})
     * @param params         all parameters of the graph
     * @param stackParams    the block stack's parameters (its shared source blocks counted once)
     * @param bytesPerValue  4 for fp32
     */
    public record Shape(int tokens, int embedDim, int numHeads, int mlpHidden, int depth, int gatedPositions,
                        int adaptedPositions, int adapterRank, long inputValues, long params, long stackParams,
                        int bytesPerValue) {
        /** The shape of a graph {@link VisionTransformer} built (a grown one included). */
        public static Shape of(ComputationGraph graph) {
            VitConfig c = VisionTransformer.configOf(graph);
            ScaleNetBlocks blocks = VisionTransformer.blocksOf(graph);
            int grid = c.imgSize() / c.patchSize();
            int gated = 0;
            int adapted = 0;
            for (int j = 0; j < blocks.depth(); j++) {
                if (blocks.hasGates(j)) gated++;
                if (blocks.hasAdapters(j)) adapted++;
            }
            return new Shape(grid * grid + (c.classToken() ? 1 : 0), blocks.getEmbedDim(), blocks.getNumHeads(),
                    blocks.getMlpHiddenDim(), blocks.depth(), gated, adapted, blocks.getAdapterRank(),
                    (long) c.inChans() * c.imgSize() * c.imgSize(), graph.numParams(),
                    graph.getLayer(VisionTransformer.BLOCKS).numParams(), graph.params().dataType().width());
        }

        /** Values one example keeps in one block for the backward pass, without recomputation (the widest block). */
        long blockValues(boolean gated, boolean adapted) {
            long perToken = 8L * embedDim + mlpHidden + 4 + (long) numHeads * tokens
                    + (gated ? 2L * embedDim : 0) + (adapted ? 2L * adapterRank : 0);
            return tokens * perToken;
        }

        /** Values one example keeps in the whole stack and around it. */
        long keptValues(boolean recompute) {
            long stack;
            if (recompute) {
                stack = (long) depth * tokens * embedDim;
            } else {
                // positions with gates and adapters, then the rest: the order of positions does not matter for a sum
                long both = Math.min(gatedPositions, adaptedPositions);
                long onlyGated = gatedPositions - both;
                long onlyAdapted = adaptedPositions - both;
                long plain = depth - both - onlyGated - onlyAdapted;
                stack = both * blockValues(true, true) + onlyGated * blockValues(true, false)
                        + onlyAdapted * blockValues(false, true) + plain * blockValues(false, false);
            }
            return stack + inputValues + 3L * tokens * embedDim;
        }

        /** The widest block's values per example. */
        long widestBlockValues() {
            return blockValues(gatedPositions > 0, adaptedPositions > 0);
        }
    }

    private final Shape shape;
    private final int batch;
    private final boolean recompute;
    private final int shards;
    private final int replicas;
    private final boolean ema;
    private final boolean hostKernels;

    private MemoryEstimate(Shape shape, int batch, boolean recompute, int shards, int replicas, boolean ema, boolean hostKernels) {
        this.shape = shape;
        this.batch = batch;
        this.recompute = recompute;
        this.shards = shards;
        this.replicas = replicas;
        this.ema = ema;
        this.hostKernels = hostKernels;
    }

    /**
     * The estimate for training {@code graph} with {@code recipe} in this JVM: its batch size, {@code recompute}, EMA and
     * {@code workers} (replicas here unless {@code replicasElsewhere}, as with Spark's executors), on the loaded ND4J
     * backend with the batch shards the block stack will use ({@code -Dscalenet.shards}, default 2, on the CPU only).
     */
    public static MemoryEstimate of(ComputationGraph graph, TrainConfig recipe, boolean replicasElsewhere) {
        Shape s = Shape.of(graph);
        boolean cpu = Nd4j.getEnvironment().isCPU();
        EngineSettings settings = EngineSettings.current();
        return of(s, recipe.batchSize(), recipe.recompute(), shardsFor(s, recipe.batchSize(), cpu),
                replicasElsewhere ? 1 : recipe.workers(), recipe.emaDecay() > 0,
                cpu && s.bytesPerValue() == 4 && settings.cpuEngine() && settings.directBlas());
    }

    /** The estimate from its inputs, for tests and for what-ifs. */
    public static MemoryEstimate of(Shape shape, int batch, boolean recompute, int shards, int replicas, boolean ema,
                                    boolean hostKernels) {
        if (batch < 1 || shards < 1 || replicas < 1) throw new IllegalArgumentException("batch, shards and replicas must be positive");
        return new MemoryEstimate(shape, batch, recompute, shards, replicas, ema, hostKernels);
    }

    /** As {@code BatchShards.shardsFor}: the configured count, fewer for a small batch, one off the CPU. */
    static int shardsFor(Shape s, int batch, boolean cpu) {
        if (!cpu) return 1;
        int count = EngineSettings.current().shards();
        long minElements = EngineSettings.current().shardsMinElements();
        int n = Math.min(count, batch);
        return n > 1 && (long) batch * s.tokens() * s.embedDim() / n >= minElements ? n : 1;
    }

    /** The same model and settings at another batch size. */
    public MemoryEstimate withBatch(int b) { return new MemoryEstimate(shape, b, recompute, shards, replicas, ema, hostKernels); }

    /** The same model and settings with or without recomputation. */
    public MemoryEstimate withRecompute(boolean r) { return new MemoryEstimate(shape, batch, r, shards, replicas, ema, hostKernels); }

    public Shape shape() { return shape; }
    public int batch() { return batch; }
    public boolean recompute() { return recompute; }
    public int shards() { return shards; }
    public int replicas() { return replicas; }

    private long w() { return shape.bytesPerValue(); }

    /** {@code P w}. */
    public long parameters() { return shape.params() * w(); }

    /** {@code P w + (shards - 1) S w}. */
    public long gradients() { return (shape.params() + (shards - 1L) * shape.stackParams()) * w(); }

    /** {@code 2 P w}, {@code 3 P w} with an EMA. */
    public long optimizerState() { return (ema ? 3 : 2) * shape.params() * w(); }

    /** What one example's forward pass keeps for backward, in bytes, before the measured factor. */
    public long keptPerExample() { return shape.keptValues(recompute) * w(); }

    /** What one block keeps per example, in bytes, before the measured factor: its share of {@link #activations()}. */
    public long keptPerBlockPerExample() {
        return (recompute ? (long) shape.tokens() * shape.embedDim() : shape.widestBlockValues()) * w();
    }

    /** What the widest block keeps per example without recomputation, in bytes: one block's working set in backward. */
    public long widestBlockPerExample() { return shape.widestBlockValues() * w(); }

    /** The activations kept for the backward pass at this batch size. */
    public long activations() { return Math.round(keptFactor() * batch * keptPerExample()); }

    private double keptFactor() { return recompute ? KEPT_RECOMPUTE_FACTOR : KEPT_FACTOR; }

    /** The backward temporaries of one block (and with recompute its recomputed activations) plus the host kernels' Java arrays. */
    public long workArrays() {
        long block = Math.round(WORK_FACTOR * batch * widestBlockPerExample()) * (recompute ? 2 : 1);
        return block + hostArrays();
    }

    /** The host kernels' per-thread Java arrays: one per shard worker and the caller, 4 each (part of {@link #workArrays()}). */
    public long hostArrays() {
        if (!hostKernels) return 0;
        long perShard = (batch + shards - 1) / shards;
        long t = shape.tokens();
        long largest = Math.max(perShard * shape.numHeads() * t * t,
                Math.max(perShard * t * shape.mlpHidden(), perShard * t * 3L * shape.embedDim()));
        return (shards + 1L) * 4 * Math.min(largest, HOST_ARRAY_CAP) * Float.BYTES;
    }

    /** The JVM's and native libraries' own memory. */
    public long baseline() { return BASELINE_MB << 20; }

    /** The expected peak: baseline plus, per replica, parameters, gradients, optimizer state, activations and work arrays. */
    public long total() {
        return baseline() + replicas * (parameters() + gradients() + optimizerState() + activations() + workArrays());
    }

    /** The components by name, in bytes, as {@link #toString()} lists them. */
    public Map<String, Long> components() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("parameters", parameters());
        m.put("gradients", gradients());
        m.put("optimizer state", optimizerState());
        m.put("activations", activations());
        m.put("work arrays", workArrays());
        m.put("JVM and native libraries", baseline());
        return m;
    }

    /**
     * Whether the CPU engine takes the block stack's calls at this batch: its settings are on for this model (CPU
     * backend, fp32) and a shard holds at most {@code scalenet.hostKernels.maxElements} activation elements. Its
     * activations are what the factors were fitted to; past that size the reference path runs, whose memory (measured
     * at ViT-Base's width, about three times the CPU engine's per example) this estimate does not model.
     */
    public boolean cpuEngine() {
        return hostKernels && shardElements(batch) <= EngineSettings.current().cpuEngineMaxElements();
    }

    /** The largest batch the CPU engine takes with these settings ({@link #cpuEngine}); 0 when it takes none. */
    public int largestCpuEngineBatch() {
        if (!hostKernels) return 0;
        long perShard = EngineSettings.current().cpuEngineMaxElements() / ((long) shape.tokens() * shape.embedDim());
        return (int) Math.min(MAX_BATCH, perShard * shards);
    }

    /** Activation elements in one batch shard of {@code b} examples: what the engine rule looks at. */
    private long shardElements(int b) {
        return (b + shards - 1L) / shards * shape.tokens() * shape.embedDim();
    }

    /**
     * The largest batch whose estimate is at most {@code limit} bytes with these settings; 0 if not even 1. With the CPU
     * engine it is at most {@link #largestCpuEngineBatch}: a larger batch would run the reference, which is not modelled.
     */
    public int largestBatchWithin(long limit) {
        int fits = uncappedLargestBatchWithin(limit);
        return hostKernels ? Math.min(fits, largestCpuEngineBatch()) : fits;
    }

    /** Why this estimate does not model the step, or null when it does ({@link #cpuEngine}). */
    public String notModelled() {
        if (cpuEngine()) return null;
        if (!hostKernels) {
            return "the CPU engine is off for this model (fp64, or scalenet.hostKernels or scalenet.directBlas false), so"
                    + " the blocks run the reference path, whose activations the estimate does not model";
        }
        return String.format(Locale.ROOT, "at batch %d a batch shard holds %,d activation elements, past the CPU engine's"
                        + " %,d (scalenet.hostKernels.maxElements), so the blocks run the reference path, whose activations"
                        + " the estimate does not model (about three times the CPU engine's per example at ViT-Base's width);"
                        + " the largest batch the CPU engine takes is %d", batch, shardElements(batch),
                EngineSettings.current().cpuEngineMaxElements(), largestCpuEngineBatch());
    }

    private int uncappedLargestBatchWithin(long limit) {
        if (withBatch(1).total() > limit) return 0;
        int fits = 1;
        long over = 2;
        while (over <= MAX_BATCH && withBatch((int) over).total() <= limit) {
            fits = (int) over;
            over *= 2;
        }
        if (over > MAX_BATCH) return fits;
        while (over - fits > 1) {
            int mid = (int) ((fits + over) >>> 1);
            if (withBatch(mid).total() <= limit) fits = mid; else over = mid;
        }
        return fits;
    }

    private static final int MAX_BATCH = 1 << 24;

    /**
     * One line: the peak and its components, e.g. {@code expected peak 1.3 GB for a training step at batch 32,
     * recompute off: parameters 22 MB + gradients 44 MB + ...}.
     */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "expected peak %s for a training step at batch %d, recompute %s",
                size(total()), batch, recompute ? "on" : "off"));
        s.append(replicas > 1 ? ", " + replicas + " worker replicas, each with: " : ": ");
        s.append(String.format(Locale.ROOT, "parameters %s + gradients %s + optimizer state %s + activations %s (%d blocks, up to %s each%s)"
                        + " + work arrays %s; + JVM and native libraries %s",
                size(parameters()), size(gradients()), size(optimizerState()), size(activations()), shape.depth(),
                size(Math.round(keptFactor() * batch * keptPerBlockPerExample())), recompute ? ", inputs only" : "",
                size(workArrays()), size(baseline())));
        return s.toString();
    }

    /** Bytes in KB, MB (one decimal below 10) or GB (one decimal), powers of 2. */
    public static String size(long bytes) {
        if (bytes >= 1L << 30) return String.format(Locale.ROOT, "%.1f GB", bytes / (double) (1L << 30));
        if (bytes >= 10L << 20) return String.format(Locale.ROOT, "%,d MB", Math.round(bytes / (double) (1L << 20)));
        if (bytes >= 1L << 20) return String.format(Locale.ROOT, "%.1f MB", bytes / (double) (1L << 20));
        return String.format(Locale.ROOT, "%,d KB", Math.round(bytes / 1024.0));
    }
}
