package dev.scalenet.expand;

import dev.scalenet.layers.BlockShape;
import dev.scalenet.layers.ScaleNetBlocks;
import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * ScaleNet's expansion: grow a pretrained ViT in depth by inserting blocks that share their parameter tensors
 * with base blocks, each with its own small adjustment parameters. The base graph is left untouched.
 */
public final class ScaleNet {
    private ScaleNet() {}

    /**
     * A new graph of depth {@code plan.depth()} whose source blocks, embeddings, norms and head are copies of
     * {@code base}'s. Adapter up-projections start at zero and untied norms as copies of their source's, so
     * the expanded model computes exactly the deeper model whose blocks copy the base blocks in order.
     */
    public static ExpandedModel expand(ComputationGraph base, ExpansionPlan plan) {
        VitConfig config = VisionTransformer.configOf(base);
        ScaleNetBlocks baseBlocks = VisionTransformer.blocksOf(base);
        for (int j = 0; j < baseBlocks.depth(); j++) {
            if (baseBlocks.isInserted(j)) {
                throw new IllegalArgumentException("the base model is already expanded (order "
                        + java.util.Arrays.toString(baseBlocks.getOrder()) + "); expand a plain model");
            }
        }
        int[] order = plan.resolveOrder(config.depth());
        ComputationGraph expanded = VisionTransformer.builder()
                .config(config)
                .order(order)
                .adapterRank(plan.adapterRank())
                .adapterScale(plan.adapterScale())
                .untiedNorms(plan.untiedNorms())
                .seed(plan.seed())
                .dataType(base.params().dataType())
                .build().init();
        for (Layer layer : base.getLayers()) {
            Layer target = expanded.getLayer(layer.getConfig().getLayerName());
            for (Map.Entry<String, INDArray> p : layer.paramTable().entrySet()) {
                target.getParam(p.getKey()).assign(p.getValue());
            }
        }
        if (plan.untiedNorms()) {
            Layer blocks = expanded.getLayer(VisionTransformer.BLOCKS);
            ScaleNetBlocks conf = VisionTransformer.blocksOf(expanded);
            BlockShape shape = conf.blockShape();
            for (int j = 0; j < order.length; j++) {
                if (!conf.isInserted(j)) continue;
                for (String norm : shape.normTensors().keySet()) {
                    blocks.getParam(ScaleNetBlocks.usePrefix(j) + norm)
                            .assign(blocks.getParam(ScaleNetBlocks.sourcePrefix(order[j]) + norm));
                }
            }
        }
        return new ExpandedModel(expanded, order, base.numParams());
    }
}
