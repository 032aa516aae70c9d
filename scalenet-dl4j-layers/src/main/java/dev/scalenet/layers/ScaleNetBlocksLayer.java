package dev.scalenet.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.List;

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
                    c.getAdapterRank() > 0 && c.isInserted(j), c.getAdapterScale());
            x = block.forward(x, batch);
            if (training) ran.add(block);
        }
        return x.reshape('c', batch, tokens, c.getEmbedDim());
    }

    @Override
    protected INDArray backward(INDArray epsilon) {
        long batch = epsilon.size(0);
        long tokens = epsilon.size(1);
        INDArray dx = epsilon.dup('c').reshape('c', batch * tokens, layerConf().getEmbedDim());
        for (int j = ran.size() - 1; j >= 0; j--) {
            dx = ran.get(j).backward(dx, layerConf().viewsForPosition(gradientViews, j));
        }
        return dx.reshape('c', batch, tokens, layerConf().getEmbedDim());
    }

    @Override
    protected void clearForwardState() {
        ran.forEach(Block::clear);
        ran.clear();
    }
}
