package dev.scalenet.layers;

import dev.scalenet.engine.BatchShards;
import dev.scalenet.engine.BlockDims;
import dev.scalenet.engine.BlockPass;
import dev.scalenet.engine.Engine;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Runs the positions of a {@link ScaleNetBlocks} stack; see there. A big enough batch runs in {@link BatchShards}
 * (see {@link BatchShards#shardsFor}): each shard's examples go through the whole stack on a worker thread, and in
 * backward each shard adds its parameter gradients into a buffer of its own, which are summed in shard order.
 */
final class ScaleNetBlocksLayer extends ViewLayer<ScaleNetBlocks> {
    /** A workspace that spills and counts every allocation, so that a probe ({@link #measure}) holds nothing once closed. */
    private static final WorkspaceConfiguration PROBE = WorkspaceConfiguration.builder().initialSize(0)
            .policyLearning(LearningPolicy.NONE).policySpill(SpillPolicy.EXTERNAL).build();

    private final BatchShards shards = new BatchShards(this);
    /**
     * Per kind of position, the bytes its training forward pass keeps, for one example and for two, then the bytes its
     * backward pass allocates, for one and for two ({@link #measure}).
     */
    private final Map<PositionKind, long[]> measured = new HashMap<>();
    /** Per shard, the blocks that ran in the last training forward pass (one list when unsharded). */
    private final List<List<BlockPass>> ran = new ArrayList<>();
    /**
     * With recomputation ({@link ScaleNetBlocks#isRecompute}), per shard, each position's input in the last training
     * forward pass: the only forward state kept; the blocks run again from these in backward.
     */
    private final List<INDArray[]> inputs = new ArrayList<>();
    /** The stochastic-depth multipliers of the last training forward pass, for the blocks recomputed in backward. */
    private float[][] keepRan;
    /** Whether the last training forward pass kept only the positions' inputs. */
    private boolean recomputeRan;
    /** Per shard after the first, its parameter-gradient buffer, laid out as {@code gradientsFlattened}. */
    private final List<ShardGradients> shardGradients = new ArrayList<>();
    private int shardsRan;
    /** The engine of the last training forward pass: its backward pass runs there too. */
    private Engine engineRan;
    /** Whether the last forward pass was an inference with the rows kept in Java ({@link Engine#inferResident}). */
    private boolean residentRan;

    ScaleNetBlocksLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    @Override
    protected long threadingElements(INDArray input) {
        // the caller's own threads only wait for the shards; each shard chooses its threads (BatchShards.runThreaded)
        return input.length() / shards.shardsFor(input.size(0), input.length());
    }

    @Override
    protected INDArray forward(INDArray input, boolean training) {
        ScaleNetBlocks c = layerConf();
        long batch = input.size(0);
        long tokens = input.size(1);
        long d = c.getEmbedDim();
        int n = shards.shardsFor(batch, input.length());
        Engine engine = Engine.forCall(input, input.length() / n);
        residentRan = !training && engine.infersResident(dims(), tokens, (batch + n - 1) / n * tokens);
        if (residentRan) {
            return inferResident(engine, input, n);
        }
        INDArray x = input.dup('c').reshape('c', batch * tokens, d);
        float[][] keep = training ? keepMultipliers(batch) : null;
        boolean recompute = training && layerConf().isRecompute();
        keepRan = keep;
        if (training) recomputeRan = recompute;
        engineRan = engine;
        shardsRan = n;
        for (int k = 0; k < n; k++) {
            ran.add(new ArrayList<>());
            inputs.add(null);
        }
        if (n == 1) {
            INDArray rows = engine.toStackOrder(x, batch, tokens);
            INDArray y = recompute ? runStackKeepingInputs(engine, rows, 0, batch, keep, 0)
                    : runStack(engine, rows, 0, batch, keep, training ? ran.get(0) : null);
            return engine.toExampleMajor(y, batch, tokens).reshape('c', batch, tokens, d);
        }
        INDArray out = Nd4j.createUninitialized(x.dataType(), batch * tokens, d);
        if (training) reserve(engine, x.dataType(), n, (batch + n - 1) / n, tokens, keep, recompute);
        shards.runThreaded(n, training ? BatchShards.Phase.FORWARD : BatchShards.Phase.INFER, x.length() / n, k -> {
            long b0 = BatchShards.start(k, n, batch);
            long b1 = BatchShards.start(k + 1, n, batch);
            INDArrayIndex rows = NDArrayIndex.interval(b0 * tokens, b1 * tokens);
            INDArray part = engine.toStackOrder(x.get(rows, NDArrayIndex.all()), b1 - b0, tokens);
            INDArray y = recompute ? runStackKeepingInputs(engine, part, b0, b1, keep, k)
                    : training ? runStack(engine, part, b0, b1, keep, ran.get(k)) : inferScoped(engine, part, b1 - b0);
            engine.toExampleMajorInto(y, b1 - b0, tokens, out.get(rows, NDArrayIndex.all()));
        });
        return out.reshape('c', batch, tokens, d);
    }

    /**
     * Reserves the memory a training step of {@code n} shards of at most {@code examples} takes ({@link BatchShards#reserve}).
     * The arena holds the stack's own arrays (its input in stack order; in backward the gradient in stack order, two
     * carry buffers and the result: at most five arrays of the input's size) plus, without recomputation, what each
     * position keeps for backward, or with it, each position's input. The scratch memory holds one position's backward
     * temporaries, and with recomputation its forward state too. A position's bytes are measured, not modelled: its
     * training forward and backward passes run on one example and on two in a probe workspace (every array they make
     * grows linearly with the examples), once per kind of position.
     */
    private void reserve(Engine engine, DataType type, int n, long examples, long tokens, float[][] keep, boolean recompute) {
        long rows = aligned(examples * tokens * layerConf().getEmbedDim() * type.width());
        long arena = 5 * rows + (1 << 16);
        long scratch = 0;
        int depth = layerConf().depth();
        for (int j = 0; j < depth; j++) {
            boolean attnDrop = keep != null && keep[2 * j] != null;
            boolean mlpDrop = keep != null && keep[2 * j + 1] != null;
            PositionKind kind = new PositionKind(engine, type, tokens, layerConf().hasAdapters(j), layerConf().hasGates(j), attnDrop, mlpDrop);
            int position = j;
            long[] m = measured.computeIfAbsent(kind, unused -> measure(engine, type, position, tokens, attnDrop, mlpDrop));
            long kept = m[0] + (m[1] - m[0]) * (examples - 1);
            long backward = m[2] + (m[3] - m[2]) * (examples - 1);
            arena += recompute ? rows : kept;
            scratch = Math.max(scratch, recompute ? kept + backward : backward);
        }
        shards.reserve(n, arena, scratch + (1 << 16));
    }

    /** What decides a position's bytes besides the examples: its engine, precision, sequence length, adjustments and drop path. */
    private record PositionKind(Engine engine, DataType type, long tokens, boolean adapters, boolean gates, boolean attnDrop, boolean mlpDrop) {}

    private long[] measure(Engine engine, DataType type, int j, long tokens, boolean attnDrop, boolean mlpDrop) {
        long d = layerConf().getEmbedDim();
        long[] bytes = new long[4];
        MemoryWorkspace probe = Nd4j.getWorkspaceManager().createNewWorkspace(PROBE, "scalenet-probe-" + System.identityHashCode(this));
        try {
            for (int e = 1; e <= 2; e++) {
                INDArray x;
                try (MemoryWorkspace none = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                    x = Nd4j.zeros(type, e * tokens, d);
                }
                float[] kept = new float[e];
                Arrays.fill(kept, 1f);
                try (MemoryWorkspace ws = probe.notifyScopeEntered()) {
                    BlockPass block = block(engine, j, tokens);
                    block.forward(x, e, attnDrop ? kept : null, mlpDrop ? kept : null);
                    bytes[e - 1] = ws.getThisCycleAllocations();
                    // with no gradient views, as if frozen: the CPU engine adds parameter gradients in place, so its
                    // temporaries are the same (the reference's own dW temporaries are not counted: its scratch may grow)
                    block.backward(x, Map.of());
                    bytes[e + 1] = ws.getThisCycleAllocations() - bytes[e - 1];
                    block.clear();
                }
            }
        } finally {
            Nd4j.getWorkspaceManager().destroyWorkspace(probe);
        }
        return bytes;
    }

    /** {@code bytes} as a workspace allocates it: rounded up to its 32-byte alignment. */
    private static long aligned(long bytes) {
        return (bytes + 31) / 32 * 32;
    }

    /** Inference with each shard's rows held in Java through the whole stack ({@link Engine#inferResident}). */
    private INDArray inferResident(Engine engine, INDArray input, int n) {
        long batch = input.size(0);
        long tokens = input.size(1);
        INDArray out = createActivations(input.dataType(), input.shape());
        List<BlockPass> blocks = new ArrayList<>();
        for (int j = 0; j < layerConf().depth(); j++) blocks.add(block(engine, j, tokens));
        if (n == 1) {
            engine.inferResident(blocks, input, batch, tokens, out);
            return out;
        }
        shards.runThreaded(n, BatchShards.Phase.INFER, input.length() / n, k -> {
            INDArrayIndex examples = NDArrayIndex.interval(BatchShards.start(k, n, batch), BatchShards.start(k + 1, n, batch));
            engine.inferResident(blocks, input.get(examples, NDArrayIndex.all(), NDArrayIndex.all()),
                    examples.length(), tokens, out.get(examples, NDArrayIndex.all(), NDArrayIndex.all()));
        });
        return out;
    }

    /** The batch shards this layer runs in. */
    BatchShards shards() {
        return shards;
    }

    /** Whether the last training forward pass kept only each position's input, for recomputation in backward. */
    boolean recomputeRan() {
        return recomputeRan;
    }

    /** Whether the last forward pass ran {@link #inferResident}. */
    boolean residentRan() {
        return residentRan;
    }

    /** Runs examples {@code b0..b1} of the batch (the rows of {@code x}) through every position; records the blocks in {@code record}. */
    private INDArray runStack(Engine engine, INDArray x, long b0, long b1, float[][] keep, List<BlockPass> record) {
        ScaleNetBlocks c = layerConf();
        long tokens = x.size(0) / (b1 - b0);
        for (int j = 0; j < c.depth(); j++) {
            BlockPass block = block(engine, j, tokens);
            x = record == null ? block.infer(x, b1 - b0)
                    : block.forward(x, b1 - b0, mask(keep, 2 * j, b0, b1), mask(keep, 2 * j + 1, b0, b1));
            if (record != null) record.add(block);
        }
        return x;
    }

    /**
     * {@link #runStack} for training with recomputation: each block runs its training forward pass in scratch memory,
     * and only its input is kept (in {@link #inputs} for shard {@code shard}); backward runs it again from there
     * ({@link #backRecomputing}). The same operations on the same values as {@code runStack}, so the same bits.
     */
    private INDArray runStackKeepingInputs(Engine engine, INDArray x, long b0, long b1, float[][] keep, int shard) {
        int depth = layerConf().depth();
        long tokens = x.size(0) / (b1 - b0);
        INDArray[] in = new INDArray[depth + 1];
        in[0] = x;
        for (int j = 0; j < depth; j++) {
            in[j + 1] = Nd4j.createUninitialized(x.dataType(), x.shape());
            BlockPass block = block(engine, j, tokens);
            try (MemoryWorkspace scratch = BatchShards.scratch()) {
                in[j + 1].assign(block.forward(in[j], b1 - b0, mask(keep, 2 * j, b0, b1), mask(keep, 2 * j + 1, b0, b1)));
            }
            block.clear(); // its activations lived in the scratch memory, which the next block reuses
        }
        inputs.set(shard, Arrays.copyOf(in, depth));
        return in[depth];
    }

    /** Backward of examples {@code b0..b1} with recomputation: each block runs forward again from its kept input, then back. */
    private INDArray backRecomputing(INDArray dy, long b0, long b1, int shard, Map<String, INDArray> gradients) {
        INDArray[] in = inputs.get(shard);
        long tokens = dy.size(0) / (b1 - b0);
        return throughScratch(dy, in.length, true, (j, d) -> {
            BlockPass block = block(engineRan, j, tokens);
            block.forward(in[j], b1 - b0, mask(keepRan, 2 * j, b0, b1), mask(keepRan, 2 * j + 1, b0, b1));
            return block.backward(d, layerConf().viewsForPosition(gradients, j));
        });
    }

    /** The sizes the engine's blocks need. */
    private BlockDims dims() {
        BlockShape shape = layerConf().blockShape();
        return new BlockDims(shape.embedDim(), shape.numHeads(), shape.mlpHiddenDim());
    }

    /** Position {@code j} of the stack, over this layer's parameter views, on {@code engine}, for sequences of {@code tokens}. */
    BlockPass block(Engine engine, int j, long tokens) {
        ScaleNetBlocks c = layerConf();
        return engine.block(dims(), c.viewsForPosition(params, j), c.hasAdapters(j), c.hasGates(j), c.getAdapterScale(), tokens);
    }

    /** Inference on a worker, one block at a time in scratch memory ({@link #throughScratch}). */
    private INDArray inferScoped(Engine engine, INDArray x, long examples) {
        long tokens = x.size(0) / examples;
        return throughScratch(x, layerConf().depth(), false, (j, in) -> block(engine, j, tokens).infer(in, examples));
    }

    /** One step of a chain over the stack's positions: takes the running array, returns the next. */
    private interface Step {
        INDArray apply(int position, INDArray in);
    }

    /**
     * Runs {@code step} for positions {@code 0..positions-1} (last to first when {@code backward}), each in a scratch
     * workspace reset for the next, passing only its result on through two buffers of the arena: a deep stack then
     * holds one block's temporaries instead of all of them. On a worker.
     */
    private static INDArray throughScratch(INDArray x, int positions, boolean backward, Step step) {
        INDArray[] carry = {Nd4j.createUninitialized(x.dataType(), x.shape()), Nd4j.createUninitialized(x.dataType(), x.shape())};
        for (int i = 0; i < positions; i++) {
            int j = backward ? positions - 1 - i : i;
            INDArray into = carry[i % 2];
            try (MemoryWorkspace scratch = BatchShards.scratch()) {
                into.assign(step.apply(j, x));
            }
            x = into;
        }
        return x;
    }

    /**
     * Stochastic depth's per-example multipliers, for each position's two branches (null where the rate is 0): 0 with
     * probability {@code rate}, else 1/(1 - rate). A pure function of (seed, iteration, position, branch), drawn for
     * the whole batch before sharding, so a resumed run drops the same paths and the shard count does not matter.
     */
    private float[][] keepMultipliers(long batch) {
        ScaleNetBlocks c = layerConf();
        float[][] keep = new float[2 * c.depth()][];
        long mix = conf().getSeed() * 0x9E3779B97F4A7C15L + getIterationCount();
        for (int j = 0; j < c.depth(); j++) {
            double rate = c.dropPathRate(j);
            if (rate <= 0) continue;
            for (int branch = 0; branch < 2; branch++) {
                SplittableRandom random = new SplittableRandom(mix * 31 + j * 2L + branch);
                float[] m = new float[(int) batch];
                for (int i = 0; i < m.length; i++) {
                    m[i] = random.nextDouble() < rate ? 0f : (float) (1 / (1 - rate));
                }
                keep[2 * j + branch] = m;
            }
        }
        return keep;
    }

    /** Examples {@code b0..b1} of one branch's multipliers, or null for none. */
    private static float[] mask(float[][] keep, int branch, long b0, long b1) {
        if (keep == null || keep[branch] == null) return null;
        return Arrays.copyOfRange(keep[branch], (int) b0, (int) b1);
    }

    @Override
    protected INDArray backward(INDArray epsilon) {
        long batch = epsilon.size(0);
        long tokens = epsilon.size(1);
        long d = layerConf().getEmbedDim();
        INDArray dy = epsilon.dup('c').reshape('c', batch * tokens, d);
        int n = shardsRan;
        Engine engine = engineRan;
        boolean recomputed = inputs.get(0) != null;
        if (n == 1) {
            INDArray rows = engine.toStackOrder(dy, batch, tokens);
            INDArray dx = recomputed ? backRecomputing(rows, 0, batch, 0, trainableGradientViews())
                    : backStack(rows, ran.get(0), trainableGradientViews());
            return engine.toExampleMajor(dx, batch, tokens).reshape('c', batch, tokens, d);
        }
        INDArray dx = Nd4j.createUninitialized(dy.dataType(), batch * tokens, d);
        // shard 0 adds into the layer's own gradient views; the others into their buffers, made here before the tasks run
        List<Map<String, INDArray>> views = new ArrayList<>();
        views.add(trainableGradientViews());
        for (int k = 1; k < n; k++) views.add(shardGradients(k).views());
        shards.runThreaded(n, BatchShards.Phase.BACKWARD, dy.length() / n, k -> {
            if (k > 0) shardGradients.get(k - 1).buffer().assign(0);
            long b0 = BatchShards.start(k, n, batch);
            long b1 = BatchShards.start(k + 1, n, batch);
            INDArrayIndex rows = NDArrayIndex.interval(b0 * tokens, b1 * tokens);
            INDArray part = engine.toStackOrder(dy.get(rows, NDArrayIndex.all()), b1 - b0, tokens);
            INDArray dxPart = recomputed ? backRecomputing(part, b0, b1, k, views.get(k)) : backStackScoped(part, ran.get(k), views.get(k));
            engine.toExampleMajorInto(dxPart, b1 - b0, tokens, dx.get(rows, NDArrayIndex.all()));
        });
        for (int k = 1; k < n; k++) gradientsFlattened.addi(shardGradients.get(k - 1).buffer());
        return dx.reshape('c', batch, tokens, d);
    }

    private INDArray backStack(INDArray dy, List<BlockPass> blocks, Map<String, INDArray> gradients) {
        for (int j = blocks.size() - 1; j >= 0; j--) {
            dy = blocks.get(j).backward(dy, layerConf().viewsForPosition(gradients, j));
        }
        return dy;
    }

    /** {@link #backStack} on a worker, one block at a time in scratch memory ({@link #throughScratch}). */
    private INDArray backStackScoped(INDArray dy, List<BlockPass> blocks, Map<String, INDArray> gradients) {
        return throughScratch(dy, blocks.size(), true, (j, d) -> blocks.get(j).backward(d, layerConf().viewsForPosition(gradients, j)));
    }

    /** A shard's own parameter-gradient buffer and its views by parameter name (frozen parameters left out). */
    private record ShardGradients(INDArray buffer, Map<String, INDArray> views) {}

    /** Shard {@code k}'s gradients ({@code k >= 1}), created on first use outside any workspace. */
    private ShardGradients shardGradients(int k) {
        while (shardGradients.size() < k) {
            INDArray buffer;
            try (MemoryWorkspace none = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                buffer = Nd4j.create(gradientsFlattened.dataType(), gradientsFlattened.shape());
            }
            shardGradients.add(new ShardGradients(buffer,
                    trainableOnly(layerConf().initializer().getGradientsFromFlattened(conf, buffer))));
        }
        return shardGradients.get(k - 1);
    }

    @Override
    protected void clearForwardState() {
        ran.forEach(blocks -> blocks.forEach(BlockPass::clear));
        ran.clear();
        inputs.clear();
        keepRan = null;
    }
}
