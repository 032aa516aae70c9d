package dev.scalenet.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Runs the positions of a {@link ScaleNetBlocks} stack; see there. */
final class ScaleNetBlocksLayer extends ViewLayer<ScaleNetBlocks> {
    private final List<Block> ran = new ArrayList<>();

    ScaleNetBlocksLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    @Override
    protected INDArray forward(INDArray input, boolean training) {
        ScaleNetBlocks c = layerConf();
        long batch = input.size(0);
        long tokens = input.size(1);
        INDArray x = input.dup('c').reshape('c', batch * tokens, c.getEmbedDim());
        for (int j = 0; j < c.depth(); j++) {
            Block block = new Block(c.blockShape(), c.viewsForPosition(params, j),
                    c.hasAdapters(j), c.hasGates(j), c.getAdapterScale());
            double rate = training ? c.dropPathRate(j) : 0;
            x = block.forward(x, batch, rate > 0 ? keepMask(batch, rate, j, 0) : null,
                    rate > 0 ? keepMask(batch, rate, j, 1) : null);
            if (training) ran.add(block);
        }
        return x.reshape('c', batch, tokens, c.getEmbedDim());
    }

    /**
     * Stochastic depth's per-example multipliers for one branch: 0 with probability {@code rate}, else
     * 1/(1 - rate). A pure function of (seed, iteration, position, branch), so a resumed run drops the same paths.
     */
    private INDArray keepMask(long batch, double rate, int position, int branch) {
        long mix = conf().getSeed() * 0x9E3779B97F4A7C15L + getIterationCount();
        SplittableRandom random = new SplittableRandom(mix * 31 + position * 2L + branch);
        float[] keep = new float[(int) batch];
        for (int i = 0; i < keep.length; i++) {
            keep[i] = random.nextDouble() < rate ? 0f : (float) (1 / (1 - rate));
        }
        return Nd4j.create(keep, new long[] {batch, 1}, 'c').castTo(dataType);
    }

    @Override
    protected INDArray backward(INDArray epsilon) {
        long batch = epsilon.size(0);
        long tokens = epsilon.size(1);
        INDArray dx = epsilon.dup('c').reshape('c', batch * tokens, layerConf().getEmbedDim());
        for (int j = ran.size() - 1; j >= 0; j--) {
            dx = ran.get(j).backward(dx, layerConf().viewsForPosition(trainableGradientViews(), j));
        }
        return dx.reshape('c', batch, tokens, layerConf().getEmbedDim());
    }

    @Override
    protected void clearForwardState() {
        ran.forEach(Block::clear);
        ran.clear();
    }
}
