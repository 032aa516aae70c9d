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
     * the expanded model computes exactly the deeper model whose blocks copy the base blocks in order; with a
     * function-preserving plan the inserted blocks' gates start at zero and it computes the base model itself.
     * With untied blocks every position gets its own source block, a copy of the base block it grows from.
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
        // the source block each position runs: shared growth re-uses the base block, untied growth its own copy
        int[] stack = plan.untiedBlocks() ? java.util.stream.IntStream.range(0, order.length).toArray() : order;
        ComputationGraph expanded = VisionTransformer.builder()
                .config(plan.untiedBlocks() ? config.withDepth(order.length) : config)
                .order(stack)
                // shared growth: the stack's order says which positions are inserted; untied growth must say it
                .insertedPositions(plan.untiedBlocks() ? ScaleNetBlocks.repeatedPositions(order) : null)
                .adapterRank(plan.adapterRank())
                .adapterScale(plan.adapterScale())
                .adaptersEverywhere(plan.adapterPositions() == ExpansionPlan.AdapterPositions.ALL)
                .gates(plan.functionPreserving())
                .untiedNorms(plan.untiedNorms())
                .seed(plan.seed())
                .dataType(base.params().dataType())
                .build().init();
        for (Layer layer : base.getLayers()) {
            if (layer.getConfig().getLayerName().equals(VisionTransformer.BLOCKS)) continue;
            Layer target = expanded.getLayer(layer.getConfig().getLayerName());
            for (Map.Entry<String, INDArray> p : layer.paramTable().entrySet()) {
                target.getParam(p.getKey()).assign(p.getValue());
            }
        }
        Layer from = base.getLayer(VisionTransformer.BLOCKS);
        Layer blocks = expanded.getLayer(VisionTransformer.BLOCKS);
        ScaleNetBlocks conf = VisionTransformer.blocksOf(expanded);
        BlockShape shape = conf.blockShape();
        for (int j = 0; j < order.length; j++) {
            String source = ScaleNetBlocks.sourcePrefix(order[j]);
            for (String tensor : shape.blockTensors().keySet()) {
                blocks.getParam(ScaleNetBlocks.sourcePrefix(stack[j]) + tensor).assign(from.getParam(source + tensor));
            }
            if (plan.untiedNorms() && conf.isInserted(j)) {
                for (String norm : shape.normTensors().keySet()) {
                    blocks.getParam(ScaleNetBlocks.usePrefix(j) + norm).assign(from.getParam(source + norm));
                }
            }
        }
        return new ExpandedModel(expanded, order, base.numParams());
    }
}
