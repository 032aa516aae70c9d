package dev.scalenet.engine;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;
import java.util.Map;

/**
 * The CPU engine: fp32 on the CPU backend, products by direct BLAS, every other step a Java kernel ({@link Engine}).
 * The stack runs token-major for sequences short enough for {@link HostAttention}, else example-major
 * ({@link CpuBlock}).
 */
final class CpuEngine extends Engine {
    @Override
    public String name() {
        return "cpu";
    }

    /** Whether sequences of {@code tokens} run lane attention, token-major. */
    private static boolean laneAttention(long tokens) {
        return tokens <= EngineSettings.current().laneAttentionMaxTokens();
    }

    @Override
    public INDArray toStackOrder(INDArray rows, long examples, long tokens) {
        return laneAttention(tokens) ? TokenOrder.tokenMajor(rows, examples, tokens) : rows;
    }

    @Override
    public void toExampleMajorInto(INDArray stackRows, long examples, long tokens, INDArray into) {
        if (laneAttention(tokens)) TokenOrder.exampleMajorInto(stackRows, examples, tokens, into);
        else into.assign(stackRows);
    }

    @Override
    public INDArray toExampleMajor(INDArray stackRows, long examples, long tokens) {
        return laneAttention(tokens) ? super.toExampleMajor(stackRows, examples, tokens) : stackRows;
    }

    @Override
    public BlockPass block(BlockDims dims, Map<String, INDArray> params, boolean adapters, boolean gates, double adapterScale, long tokens) {
        return new CpuBlock(dims, params, adapters, gates, adapterScale, laneAttention(tokens));
    }

    @Override
    public boolean infersResident(BlockDims dims, long tokens, long rowsPerShard) {
        long widest = Math.max(3L * dims.embedDim(), dims.mlpHiddenDim());
        return EngineSettings.current().residentInference() && laneAttention(tokens) && Work.fits(rowsPerShard, widest);
    }

    /**
     * A shard's rows held in Java through the whole stack: read once, run by {@link CpuBlock#inferResident} block after
     * block, token-major and feature-major in between, written once.
     */
    @Override
    public void inferResident(List<BlockPass> blocks, INDArray x, long examples, long tokens, INDArray into) {
        int b = Math.toIntExact(examples);
        int t = Math.toIntExact(tokens);
        int d = Math.toIntExact(x.size(2));
        try (Work.Frame work = Work.frame()) {
            float[] rows = HostFloats.read(x, work);
            float[][] a = work.features(d, b * t);
            float[][] next = work.features(d, b * t);
            HostFeatureMajor.fromExampleMajor(rows, b, t, d, a);
            for (BlockPass block : blocks) {
                ((CpuBlock) block).inferResident(a, b, t, next);
                float[][] swap = a;
                a = next;
                next = swap;
            }
            HostFeatureMajor.toExampleMajor(a, b, t, d, rows);
            HostFloats.writeInto(rows, into);
        }
    }

    @Override
    public Normed layerNorm(INDArray x, INDArray gamma, INDArray beta, double eps, boolean training) {
        return HostLayerNorm.apply(x, gamma, beta, eps, training);
    }

    /** The class token and its norm in Java: where ND4J makes a view, a strided copy and the norm's arrays. */
    @Override
    public INDArray firstTokenNormed(INDArray x, INDArray gamma, INDArray beta, double eps) {
        int b = Math.toIntExact(x.size(0));
        int d = Math.toIntExact(x.size(2));
        float[] first = HostFloats.readRuns(x, Math.toIntExact(x.size(1)) * d, d, new float[b * d]);
        HostLayerNorm.forward(first, b, HostFloats.copy(gamma), HostFloats.copy(beta), (float) eps, first, null, null);
        return HostFloats.write(first, b, d);
    }

    @Override
    public INDArray patchRows(INDArray images, int chans, int grid, int patch) {
        return new HostPatches(chans, grid, patch).unfold(images);
    }

    @Override
    public INDArray patchImages(INDArray rows, long batch, int chans, int grid, int patch) {
        return new HostPatches(chans, grid, patch).fold(rows, batch);
    }

    @Override
    public INDArray times(INDArray a, INDArray w) {
        return HostBlas.times(a, w, false, true);
    }

    @Override
    public INDArray linearBackward(INDArray dy, INDArray x, INDArray w, INDArray dW, INDArray dB) {
        return CpuOps.linearBackward(dy, x, w, dW, dB);
    }

    @Override
    public INDArray tokens(INDArray projected, INDArray bias, INDArray cls, INDArray pos, long batch, INDArray into) {
        return HostPatches.tokens(projected, bias, cls, pos, batch, into);
    }

    @Override
    public INDArray tokensBackward(INDArray dTokens, int prefix, INDArray dBias, INDArray dCls, INDArray dPos) {
        return HostPatches.tokensBackward(dTokens, prefix, dBias, dCls, dPos);
    }

    /**
     * In Java, row by row in double precision, where ND4J takes a dozen operations on a {@code [batch, classes]} array
     * (2.4% of the micro model's training step, on the thread the shards wait for); labels other than fp32 of the logits'
     * shape, or a mask other than one per row, go to the reference.
     */
    @Override
    public INDArray crossEntropy(INDArray labels, double smoothing, INDArray logits, INDArray mask, boolean scores) {
        if (labels.dataType() != DataType.FLOAT || logits.rank() != 2 || !labels.equalShapes(logits)
                || (mask != null && mask.length() != logits.size(0))) {
            return Engine.reference().crossEntropy(labels, smoothing, logits, mask, scores);
        }
        int n = Math.toIntExact(logits.size(0));
        int k = Math.toIntExact(logits.size(1));
        float[] z = HostFloats.copy(logits);
        float[] y = HostFloats.copy(labels);
        float[] m = mask == null ? null : HostFloats.copy(mask.castTo(DataType.FLOAT));
        float[] out = new float[scores ? n : n * k];
        for (int r = 0; r < n; r++) {
            int at = r * k;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < k; j++) max = Math.max(max, z[at + j]);
            double sumExp = 0;
            for (int j = 0; j < k; j++) sumExp += Math.exp(z[at + j] - max);
            double logSum = Math.log(sumExp);
            double weight = m == null ? 1 : m[r];
            double score = 0;
            double targetSum = 0;
            for (int j = 0; j < k; j++) {
                double t = smoothing == 0 ? y[at + j] : y[at + j] * (1 - smoothing) + smoothing / k;
                score -= t * (z[at + j] - max - logSum);
                targetSum += t;
            }
            if (scores) {
                out[r] = (float) (score * weight);
                continue;
            }
            for (int j = 0; j < k; j++) {
                double t = smoothing == 0 ? y[at + j] : y[at + j] * (1 - smoothing) + smoothing / k;
                out[at + j] = (float) ((Math.exp(z[at + j] - max - logSum) * targetSum - t) * weight);
            }
        }
        return scores ? HostFloats.write(out, n, 1) : HostFloats.write(out, logits.shape());
    }
}
