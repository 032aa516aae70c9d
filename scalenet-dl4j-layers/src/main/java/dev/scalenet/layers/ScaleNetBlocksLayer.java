package dev.scalenet.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Runs the positions of a {@link ScaleNetBlocks} stack; see there. A big enough batch runs in {@link BatchShards}
 * (see {@link BatchShards#shardsFor}): each shard's examples go through the whole stack on a worker thread, and in
 * backward each shard adds its parameter gradients into a buffer of its own, which are summed in shard order.
 */
final class ScaleNetBlocksLayer extends ViewLayer<ScaleNetBlocks> {
    private static volatile boolean residentInference = !"false".equalsIgnoreCase(System.getProperty("scalenet.residentInference", "true"));
    private final BatchShards shards = new BatchShards(this);
    /** Per shard, the blocks that ran in the last training forward pass (one list when unsharded). */
    private final List<List<Block>> ran = new ArrayList<>();
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
    /** Whether the last training forward pass ran token-major (see {@link TokenOrder}): its backward pass does too. */
    private boolean tokenMajorRan;
    /** Whether the last forward pass was an inference with the rows kept in Java ({@link #inferResident}). */
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
        // attention on the host wants the rows token-major; everything else takes either order
        boolean tokenMajor = HostFloats.applies(input) && HostAttention.pays(tokens);
        int n = shards.shardsFor(batch, input.length());
        residentRan = !training && tokenMajor && residentFits(batch, tokens, n);
        if (residentRan) {
            return inferResident(input, n);
        }
        INDArray x = input.dup('c').reshape('c', batch * tokens, d);
        float[][] keep = training ? keepMultipliers(batch) : null;
        boolean recompute = training && layerConf().isRecompute();
        keepRan = keep;
        if (training) recomputeRan = recompute;
        tokenMajorRan = tokenMajor;
        shardsRan = n;
        for (int k = 0; k < n; k++) {
            ran.add(new ArrayList<>());
            inputs.add(null);
        }
        if (n == 1) {
            INDArray rows = stackOrder(x, batch, tokens, tokenMajor);
            INDArray y = recompute ? runStackKeepingInputs(rows, 0, batch, keep, 0, tokenMajor)
                    : runStack(rows, 0, batch, keep, training ? ran.get(0) : null, tokenMajor);
            return exampleMajor(y, batch, tokens, tokenMajor).reshape('c', batch, tokens, d);
        }
        INDArray out = Nd4j.createUninitialized(x.dataType(), batch * tokens, d);
        shards.runThreaded(n, training ? BatchShards.Phase.FORWARD : BatchShards.Phase.INFER, x.length() / n, k -> {
            long b0 = BatchShards.start(k, n, batch);
            long b1 = BatchShards.start(k + 1, n, batch);
            INDArrayIndex rows = NDArrayIndex.interval(b0 * tokens, b1 * tokens);
            INDArray part = stackOrder(x.get(rows, NDArrayIndex.all()), b1 - b0, tokens, tokenMajor);
            INDArray y = recompute ? runStackKeepingInputs(part, b0, b1, keep, k, tokenMajor)
                    : training ? runStack(part, b0, b1, keep, ran.get(k), tokenMajor) : inferScoped(part, b1 - b0, tokenMajor);
            writeExampleMajor(y, b1 - b0, tokens, tokenMajor, out.get(rows, NDArrayIndex.all()));
        });
        return out.reshape('c', batch, tokens, d);
    }

    /**
     * Whether inference can keep a shard's rows in Java ({@link Block#inferResident}): its matrices fit {@link HostGemm}'s
     * slots, unless {@code -Dscalenet.residentInference=false}.
     */
    private boolean residentFits(long batch, long tokens, int shards) {
        ScaleNetBlocks c = layerConf();
        long rows = (batch + shards - 1) / shards * tokens;
        long widest = Math.max(3L * c.getEmbedDim(), c.blockShape().mlpHiddenDim());
        return residentInference && HostGemm.fits(rows, widest);
    }

    /**
     * Inference with each shard's rows held in Java through the whole stack: read once, run by
     * {@link Block#inferResident} block after block, written once. The same arithmetic as {@link Block#infer}, summed
     * in other orders ({@code ResidentInferenceTest}).
     */
    private INDArray inferResident(INDArray input, int n) {
        long batch = input.size(0);
        long tokens = input.size(1);
        INDArray out = createActivations(input.dataType(), input.shape());
        if (n == 1) {
            inferResident(input, batch, tokens, out);
            return out;
        }
        shards.runThreaded(n, BatchShards.Phase.INFER, input.length() / n, k -> {
            INDArrayIndex examples = NDArrayIndex.interval(BatchShards.start(k, n, batch), BatchShards.start(k + 1, n, batch));
            inferResident(input.get(examples, NDArrayIndex.all(), NDArrayIndex.all()),
                    examples.length(), tokens, out.get(examples, NDArrayIndex.all(), NDArrayIndex.all()));
        });
        return out;
    }

    /** {@code [examples, tokens, dim]} through every position, in Java, token-major and feature-major in between, into {@code into}. */
    private void inferResident(INDArray x, long examples, long tokens, INDArray into) {
        int b = Math.toIntExact(examples);
        int t = Math.toIntExact(tokens);
        int d = Math.toIntExact(layerConf().getEmbedDim());
        HostGemm gemm = HostGemm.ofThread();
        float[] rows = HostFloats.readInto(x, gemm.floats(HostGemm.ROWS_IN, (long) b * t * d));
        float[][] a = gemm.features(HostGemm.ROWS_A, d, b * t);
        float[][] next = gemm.features(HostGemm.ROWS_B, d, b * t);
        HostFeatureMajor.fromExampleMajor(rows, b, t, d, a);
        for (int j = 0; j < layerConf().depth(); j++) {
            block(j, true).inferResident(a, b, t, next, gemm);
            float[][] swap = a;
            a = next;
            next = swap;
        }
        HostFeatureMajor.toExampleMajor(a, b, t, d, rows);
        HostFloats.writeInto(rows, into);
    }

    /** Whether the last training forward pass kept only each position's input, for recomputation in backward. */
    boolean recomputeRan() {
        return recomputeRan;
    }

    /** Whether the last forward pass ran {@link #inferResident}. */
    boolean residentRan() {
        return residentRan;
    }

    /** Switches {@link #inferResident} on or off for every layer (tests compare both paths); returns the previous state. */
    static boolean residentInference(boolean on) {
        boolean before = residentInference;
        residentInference = on;
        return before;
    }

    /** Example-major rows in the order the stack runs in. */
    private static INDArray stackOrder(INDArray x, long examples, long tokens, boolean tokenMajor) {
        return tokenMajor ? TokenOrder.tokenMajor(x, examples, tokens) : x;
    }

    /** The stack's rows example-major: {@code y} itself when already so. */
    private static INDArray exampleMajor(INDArray y, long examples, long tokens, boolean tokenMajor) {
        if (!tokenMajor) return y;
        INDArray out = Nd4j.createUninitialized(y.dataType(), y.shape());
        TokenOrder.exampleMajorInto(y, examples, tokens, out);
        return out;
    }

    /** The stack's rows written example-major into {@code into}. */
    private static void writeExampleMajor(INDArray y, long examples, long tokens, boolean tokenMajor, INDArray into) {
        if (tokenMajor) TokenOrder.exampleMajorInto(y, examples, tokens, into);
        else into.assign(y);
    }

    /** Runs examples {@code b0..b1} of the batch (the rows of {@code x}) through every position; records the blocks in {@code record}. */
    private INDArray runStack(INDArray x, long b0, long b1, float[][] keep, List<Block> record, boolean tokenMajor) {
        ScaleNetBlocks c = layerConf();
        for (int j = 0; j < c.depth(); j++) {
            Block block = block(j, tokenMajor);
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
    private INDArray runStackKeepingInputs(INDArray x, long b0, long b1, float[][] keep, int shard, boolean tokenMajor) {
        int depth = layerConf().depth();
        INDArray[] in = new INDArray[depth + 1];
        in[0] = x;
        for (int j = 0; j < depth; j++) {
            in[j + 1] = Nd4j.createUninitialized(x.dataType(), x.shape());
            Block block = block(j, tokenMajor);
            try (MemoryWorkspace scratch = BatchShards.scratch()) {
                in[j + 1].assign(block.forward(in[j], b1 - b0, mask(keep, 2 * j, b0, b1), mask(keep, 2 * j + 1, b0, b1)));
            }
            block.clear(); // its activations lived in the scratch memory, which the next block reuses
        }
        inputs.set(shard, Arrays.copyOf(in, depth));
        return in[depth];
    }

    /** Backward of examples {@code b0..b1} with recomputation: each block runs forward again from its kept input, then back. */
    private INDArray backRecomputing(INDArray dy, long b0, long b1, int shard, Map<String, INDArray> gradients, boolean tokenMajor) {
        INDArray[] in = inputs.get(shard);
        return throughScratch(dy, in.length, true, (j, d) -> {
            Block block = block(j, tokenMajor);
            block.forward(in[j], b1 - b0, mask(keepRan, 2 * j, b0, b1), mask(keepRan, 2 * j + 1, b0, b1));
            return block.backward(d, layerConf().viewsForPosition(gradients, j));
        });
    }

    /** Position {@code j} of the stack, over this layer's parameter views, for rows in the given order. */
    Block block(int j, boolean tokenMajor) {
        ScaleNetBlocks c = layerConf();
        return new Block(c.blockShape(), c.viewsForPosition(params, j), c.hasAdapters(j), c.hasGates(j), c.getAdapterScale(),
                tokenMajor);
    }

    /** Inference on a worker, one block at a time in scratch memory ({@link #throughScratch}). */
    private INDArray inferScoped(INDArray x, long examples, boolean tokenMajor) {
        return throughScratch(x, layerConf().depth(), false, (j, in) -> block(j, tokenMajor).infer(in, examples));
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

    /** Examples {@code b0..b1} of one branch's multipliers as a {@code [b1 - b0, 1]} column, or null for none. */
    private INDArray mask(float[][] keep, int branch, long b0, long b1) {
        if (keep == null || keep[branch] == null) return null;
        float[] m = Arrays.copyOfRange(keep[branch], (int) b0, (int) b1);
        return Nd4j.create(m, new long[] {m.length, 1}, 'c').castTo(dataType);
    }

    @Override
    protected INDArray backward(INDArray epsilon) {
        long batch = epsilon.size(0);
        long tokens = epsilon.size(1);
        long d = layerConf().getEmbedDim();
        INDArray dy = epsilon.dup('c').reshape('c', batch * tokens, d);
        int n = shardsRan;
        boolean tokenMajor = tokenMajorRan;
        boolean recomputed = inputs.get(0) != null;
        if (n == 1) {
            INDArray rows = stackOrder(dy, batch, tokens, tokenMajor);
            INDArray dx = recomputed ? backRecomputing(rows, 0, batch, 0, trainableGradientViews(), tokenMajor)
                    : backStack(rows, ran.get(0), trainableGradientViews());
            return exampleMajor(dx, batch, tokens, tokenMajor).reshape('c', batch, tokens, d);
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
            INDArray part = stackOrder(dy.get(rows, NDArrayIndex.all()), b1 - b0, tokens, tokenMajor);
            INDArray dxPart = recomputed ? backRecomputing(part, b0, b1, k, views.get(k), tokenMajor) : backStackScoped(part, ran.get(k), views.get(k));
            writeExampleMajor(dxPart, b1 - b0, tokens, tokenMajor, dx.get(rows, NDArrayIndex.all()));
        });
        for (int k = 1; k < n; k++) gradientsFlattened.addi(shardGradients.get(k - 1).buffer());
        return dx.reshape('c', batch, tokens, d);
    }

    private INDArray backStack(INDArray dy, List<Block> blocks, Map<String, INDArray> gradients) {
        for (int j = blocks.size() - 1; j >= 0; j--) {
            dy = blocks.get(j).backward(dy, layerConf().viewsForPosition(gradients, j));
        }
        return dy;
    }

    /** {@link #backStack} on a worker, one block at a time in scratch memory ({@link #throughScratch}). */
    private INDArray backStackScoped(INDArray dy, List<Block> blocks, Map<String, INDArray> gradients) {
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
        ran.forEach(blocks -> blocks.forEach(Block::clear));
        ran.clear();
        inputs.clear();
        keepRan = null;
    }
}
