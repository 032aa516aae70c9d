package dev.scalenet.vit;

import dev.scalenet.layers.VitPooling;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.params.DefaultParamInitializer;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a ViT graph ({@link VisionTransformer}, plain or expanded) computes before its classifier, for downstream
 * heads (a linear probe, k-NN, a detector), in one inference pass:
 * <ul>
 *   <li>{@link #tokens()}: timm's {@code forward_features(x)}, the tokens after the last block and the final norm,
 *       {@code [batch, tokens, dim]} (class token first, if the model has one);</li>
 *   <li>{@link #preLogits()}: timm's {@code forward_head(x, pre_logits=True)}, the pooled (and {@code fc_norm}ed)
 *       features the head reads, {@code [batch, dim]};</li>
 *   <li>{@link #logits()}: the head's logits, {@code [batch, classes]}, before the softmax with which the graph's
 *       {@code output()} gives class probabilities.</li>
 * </ul>
 * They agree: {@code preLogits . W + b = logits} for the head's weights, and pooling {@code tokens} gives
 * {@code preLogits}.
 */
public record Features(INDArray tokens, INDArray preLogits, INDArray logits) {
    /** timm's LayerNorm epsilon, as in the graph's layers. */
    private static final double LAYER_NORM_EPS = 1e-6;

    /** Which output a caller wants; the names are those of the plugin's {@code features} goal. */
    public enum Kind {
        /** {@link Features#tokens()}. */
        TOKENS,
        /** {@link Features#preLogits()}. */
        PRE_LOGITS,
        /** {@link Features#logits()}. */
        LOGITS;

        /** {@code tokens}, {@code preLogits} or {@code logits} (any case, {@code pre_logits} too). */
        public static Kind parse(String text) {
            String t = text == null ? "" : text.replace("_", "").toLowerCase(Locale.ROOT);
            for (Kind k : values()) {
                if (k.name().replace("_", "").toLowerCase(Locale.ROOT).equals(t)) return k;
            }
            throw new dev.scalenet.InvalidSettingException("features", text, "tokens, preLogits or logits");
        }

        @Override
        public String toString() {
            return this == PRE_LOGITS ? "preLogits" : name().toLowerCase(Locale.ROOT);
        }
    }

    /** The output of this kind. */
    public INDArray get(Kind kind) {
        return switch (kind) {
            case TOKENS -> tokens;
            case PRE_LOGITS -> preLogits;
            case LOGITS -> logits;
        };
    }

    /**
     * One inference pass of {@code graph} on preprocessed {@code pixels} {@code [batch, C, H, W]}, reading the block
     * stack's and the pooling's activations ({@link VisionTransformer#BLOCKS}, {@link VisionTransformer#POOL}).
     */
    public static Features of(ComputationGraph graph, INDArray pixels) {
        VitPooling pool = (VitPooling) graph.getLayer(VisionTransformer.POOL).conf().getLayer();
        VisionTransformer.configOf(graph); // fails naming the vertices if this is not a ViT graph
        try (MemoryWorkspace ignored = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            Map<String, INDArray> a = graph.feedForward(pixels, false);
            INDArray blocks = a.get(VisionTransformer.BLOCKS).dup();
            // with fc_norm the one LayerNorm follows the pooling, and timm's forward_features has no norm
            INDArray tokens = pool.isFcNorm() ? blocks : layerNorm(blocks,
                    graph.getLayer(VisionTransformer.POOL).getParam(pool.normName() + ".weight"),
                    graph.getLayer(VisionTransformer.POOL).getParam(pool.normName() + ".bias"));
            INDArray preLogits = a.get(VisionTransformer.POOL).dup();
            return new Features(tokens, preLogits, head(graph, preLogits));
        }
    }

    /**
     * timm's logits for preprocessed {@code pixels}: the graph's inference pass up to {@link VisionTransformer#POOL},
     * then the head's {@code preLogits . W + b}. The graph's {@code output()} is their softmax.
     */
    public static INDArray logits(ComputationGraph graph, INDArray pixels) {
        try (MemoryWorkspace ignored = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            INDArray preLogits = graph.output(List.of(VisionTransformer.POOL), false, new INDArray[] {pixels}, null)[0];
            return head(graph, preLogits);
        }
    }

    /** The head's pre-activation for its input {@code preLogits}, {@code [batch, classes]}. */
    private static INDArray head(ComputationGraph graph, INDArray preLogits) {
        org.deeplearning4j.nn.api.Layer head = graph.getLayer(VisionTransformer.HEAD);
        INDArray w = head.getParam(DefaultParamInitializer.WEIGHT_KEY);
        return preLogits.castTo(w.dataType()).mmul(w).addiRowVector(head.getParam(DefaultParamInitializer.BIAS_KEY));
    }

    /** LayerNorm over the last axis of {@code [batch, tokens, dim]}, epsilon 1e-6. */
    static INDArray layerNorm(INDArray x, INDArray weight, INDArray bias) {
        INDArray mean = x.mean(true, 2);
        INDArray centred = x.sub(mean);
        INDArray std = Nd4j.math().sqrt(centred.mul(centred).mean(true, 2).addi(LAYER_NORM_EPS));
        long dim = x.size(2);
        return centred.divi(std).muli(weight.reshape(1, 1, dim)).addi(bias.reshape(1, 1, dim));
    }
}
