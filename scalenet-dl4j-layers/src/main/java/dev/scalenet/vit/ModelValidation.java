package dev.scalenet.vit;

import dev.scalenet.Capped;
import dev.scalenet.layers.PatchEmbedding;
import dev.scalenet.layers.ScaleNetBlocks;
import dev.scalenet.layers.VitLayerConf;
import dev.scalenet.layers.VitPooling;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;

import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * The one check that a graph is a ViT of this library, run on every model whichever way it was loaded: a model zip
 * ({@link ModelZip}, before anything is allocated for it), a timm import and {@link VitModel}'s constructor (which
 * every loader, the builders' graphs and Spark's executors go through). A file can parse and still mean nothing: its
 * layer configurations were deserialized without their Builders' rules, and the layers may disagree with each other.
 *
 * <p>It runs each layer's Builder rules ({@link VitLayerConf#validate}), then the rules across layers (one width from
 * patch embedding to head, the pooling's prefix tokens are the patch embedding's), then compares the wiring, vertex by
 * vertex (kind, layer class, inputs, preprocessor, what DL4J adds around a layer), with the graph
 * {@link VisionTransformer} builds for the same configuration. Failures are {@link IllegalArgumentException}s naming
 * the vertex, the field, its value and what was expected; loaders add the file and entry.
 */
public final class ModelValidation {
    private ModelValidation() {
    }

    /** Checks a configuration; returns its architecture. Allocates nothing that the configuration sizes. */
    public static VitConfig check(ComputationGraphConfiguration conf) {
        PatchEmbedding embed = VisionTransformer.layer(conf, VisionTransformer.PATCH_EMBED, PatchEmbedding.class);
        ScaleNetBlocks blocks = VisionTransformer.layer(conf, VisionTransformer.BLOCKS, ScaleNetBlocks.class);
        VitPooling pool = VisionTransformer.layer(conf, VisionTransformer.POOL, VitPooling.class);
        OutputLayer head = VisionTransformer.layer(conf, VisionTransformer.HEAD, OutputLayer.class);
        own(VisionTransformer.PATCH_EMBED, embed);
        own(VisionTransformer.BLOCKS, blocks);
        own(VisionTransformer.POOL, pool);

        int width = embed.getEmbedDim();
        agree(VisionTransformer.BLOCKS, "embedDim", blocks.getEmbedDim(), width);
        agree(VisionTransformer.POOL, "embedDim", pool.getEmbedDim(), width);
        agree(VisionTransformer.HEAD, "nIn", head.getNIn(), width);
        // divided, not multiplied: nOut * width wraps round for an nOut near 2^63
        require(head.getNOut() >= 2 && head.getNOut() <= VitLayerConf.MAX_TENSOR_VALUES / width, VisionTransformer.HEAD,
                "nOut", head.getNOut(), "2 or more classes, at most " + VitLayerConf.MAX_TENSOR_VALUES / width
                        + " for width " + width);
        require(pool.getNumPrefixTokens() == embed.numPrefixTokens(), VisionTransformer.POOL, "numPrefixTokens",
                pool.getNumPrefixTokens(), embed.numPrefixTokens() + ", the prefix tokens of vertex '"
                        + VisionTransformer.PATCH_EMBED + "' (classToken " + embed.isClassToken() + ")");

        VitConfig config;
        try {
            config = VisionTransformer.configOf(conf);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the layers do not form a ViT configuration: " + e.getMessage(), e);
        }
        sameWiring(conf, expected(config, blocks));
        return config;
    }

    /** {@link #check(ComputationGraphConfiguration)}, and each layer's parameters are the ones its configuration describes. */
    public static VitConfig check(ComputationGraph graph) {
        VitConfig config = check(graph.getConfiguration());
        for (Map.Entry<String, GraphVertex> v : graph.getConfiguration().getVertices().entrySet()) {
            Layer layer = graph.getLayer(v.getKey());
            if (layer == null) continue; // the input
            long described = v.getValue().numParams(true);
            require(layer.numParams() == described, v.getKey(), "parameters", layer.numParams(),
                    described + ", as its configuration describes");
        }
        return config;
    }

    /** The graph {@link VisionTransformer} builds for this architecture and block stack. */
    private static ComputationGraphConfiguration expected(VitConfig config, ScaleNetBlocks blocks) {
        return VisionTransformer.builder().config(config).order(blocks.getOrder()).adapterRank(blocks.getAdapterRank())
                .untiedNorms(blocks.isUntiedNorms()).gates(blocks.isGates())
                .adaptersEverywhere(blocks.isAdaptersEverywhere()).insertedPositions(blocks.getInsertedPositions())
                .build().conf();
    }

    private static void sameWiring(ComputationGraphConfiguration conf, ComputationGraphConfiguration expected) {
        require(expected.getNetworkInputs().equals(conf.getNetworkInputs()), "(graph)", "networkInputs",
                Capped.list(conf.getNetworkInputs()), expected.getNetworkInputs().toString());
        require(expected.getNetworkOutputs().equals(conf.getNetworkOutputs()), "(graph)", "networkOutputs",
                Capped.list(conf.getNetworkOutputs()), expected.getNetworkOutputs().toString());
        require(expected.getVertices().keySet().equals(conf.getVertices().keySet()), "(graph)", "vertices",
                Capped.list(new TreeSet<>(conf.getVertices().keySet())), new TreeSet<>(expected.getVertices().keySet())
                        + ", the vertices of a ViT");
        for (Map.Entry<String, GraphVertex> e : expected.getVertices().entrySet()) {
            String name = e.getKey();
            require(Objects.equals(expected.getVertexInputs().get(name), conf.getVertexInputs().get(name)), name,
                    "inputs", conf.getVertexInputs().get(name) == null ? null : Capped.list(conf.getVertexInputs().get(name)),
                    String.valueOf(expected.getVertexInputs().get(name)));
            GraphVertex want = e.getValue();
            GraphVertex have = conf.getVertices().get(name);
            require(want.getClass() == have.getClass(), name, "@class", have.getClass().getName(), want.getClass().getName());
            if (want instanceof LayerVertex) {
                LayerVertex w = (LayerVertex) want;
                LayerVertex h = (LayerVertex) have;
                require(h.getPreProcessor() == null, name, "preProcessor", h.getPreProcessor(), "none");
                org.deeplearning4j.nn.conf.layers.Layer wl = w.getLayerConf().getLayer();
                org.deeplearning4j.nn.conf.layers.Layer hl = h.getLayerConf().getLayer();
                require(wl.getClass() == hl.getClass(), name, "layer @class", hl.getClass().getName(), wl.getClass().getName());
                sameExtras(name, wl, hl);
                if (wl instanceof OutputLayer) {
                    // the head is a softmax over the logits (the identity in models written before 0.2, whose output()
                    // is the logits): another activation or loss gives other numbers, silently
                    OutputLayer wo = (OutputLayer) wl;
                    OutputLayer ho = (OutputLayer) hl;
                    require(ho.getActivationFn() instanceof org.nd4j.linalg.activations.impl.ActivationSoftmax
                                    || ho.getActivationFn() instanceof org.nd4j.linalg.activations.impl.ActivationIdentity,
                            name, "activationFn", ho.getActivationFn(), wo.getActivationFn() + " (or identity, in models written before 0.2)");
                    require(ho.getLossFn() != null && wo.getLossFn().getClass() == ho.getLossFn().getClass(), name, "lossFn",
                            ho.getLossFn(), wo.getLossFn().getClass().getName());
                }
            }
        }
    }

    /**
     * What DL4J adds around a layer's own computation: input dropout, weight noise, constraints applied after each
     * update, gradient normalization, and the head's bias. A graph of this library has them as {@link VisionTransformer}
     * builds them (none, and a bias); a file that changes them trains, or computes, otherwise than its architecture says
     * (a head without a bias has no parameter 'b' to read the logits with).
     */
    private static void sameExtras(String vertex, org.deeplearning4j.nn.conf.layers.Layer want,
                                   org.deeplearning4j.nn.conf.layers.Layer have) {
        same(vertex, "iDropout", want.getIDropout(), have.getIDropout());
        same(vertex, "constraints", orNone(want.getConstraints()), orNone(have.getConstraints()));
        if (want instanceof BaseLayer) {
            BaseLayer w = (BaseLayer) want;
            BaseLayer h = (BaseLayer) have;
            same(vertex, "weightNoise", w.getWeightNoise(), h.getWeightNoise());
            same(vertex, "gradientNormalization", orNone(w.getGradientNormalization()), orNone(h.getGradientNormalization()));
        }
        if (want instanceof BaseOutputLayer) {
            boolean bias = ((BaseOutputLayer) want).hasBias();
            require(((BaseOutputLayer) have).hasBias() == bias, vertex, "hasBias", ((BaseOutputLayer) have).hasBias(),
                    String.valueOf(bias));
        }
    }

    /** Null for DL4J's two spellings of "nothing" (an empty list, {@code GradientNormalization.None}). */
    private static Object orNone(Object value) {
        boolean none = value instanceof java.util.Collection<?> c && c.isEmpty() || value == GradientNormalization.None;
        return none ? null : value;
    }

    private static void same(String vertex, String field, Object want, Object have) {
        require(Objects.equals(want, have), vertex, field, shown(have), want == null ? "none" : shown(want));
    }

    /** A configuration object by its class (its toString lists every field); enums and null as they are. */
    private static String shown(Object value) {
        if (value == null || value instanceof Enum<?>) return String.valueOf(value);
        if (value instanceof java.util.Collection<?> c) {
            return Capped.list(c.stream().map(x -> x == null ? "null" : x.getClass().getSimpleName()).toList());
        }
        return value.getClass().getSimpleName();
    }

    private static void own(String vertex, VitLayerConf layer) {
        try {
            layer.validate();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where(vertex) + e.getMessage(), e);
        }
    }

    private static void agree(String vertex, String field, long value, int width) {
        require(value == width, vertex, field, value, width + ", the embedDim of vertex '" + VisionTransformer.PATCH_EMBED
                + "' (one width from patch embedding to head)");
    }

    private static void require(boolean ok, String vertex, String field, Object value, String expected) {
        if (!ok) throw new IllegalArgumentException(where(vertex) + field + " = " + value + ": expected " + expected);
    }

    private static String where(String vertex) {
        return vertex.startsWith("(") ? "" : "vertex '" + vertex + "': ";
    }
}
