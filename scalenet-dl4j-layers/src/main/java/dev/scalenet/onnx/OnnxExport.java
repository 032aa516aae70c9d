package dev.scalenet.onnx;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.Version;
import dev.scalenet.io.AtomicFiles;
import dev.scalenet.io.Tensor;
import dev.scalenet.layers.GlobalPool;
import dev.scalenet.layers.PatchEmbedding;
import dev.scalenet.layers.ScaleNetBlocks;
import dev.scalenet.layers.VitPooling;
import dev.scalenet.vit.Features;
import dev.scalenet.vit.TimmCheckpoint;
import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import dev.scalenet.vit.VitModel;
import onnx.Onnx;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;

import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.scalenet.onnx.OnnxGraph.attr;
import static dev.scalenet.onnx.OnnxGraph.in;

/**
 * A ViT graph ({@link VisionTransformer}, plain or grown) as an ONNX model that ONNX Runtime, TensorRT, OpenVINO or
 * onnxruntime-web can serve. Input {@value #PIXELS} {@code [batch, C, H, W]} float32 (preprocessed as the model's
 * {@code pretrained_cfg} says), output {@value #LOGITS} {@code [batch, classes]}, and on request {@value #PRE_LOGITS}
 * {@code [batch, dim]} and {@value #FORWARD_FEATURES} {@code [batch, tokens, dim]} ({@link Features}); the batch
 * dimension is symbolic.
 *
 * <p>The graph is timm's forward pass in opset {@value #OPSET} operators: LayerNormalization with the model's
 * epsilon, the exact GELU through {@code Erf}, attention as MatMul/Softmax. Tensors keep timm's names and layouts (a
 * reader can match them to the {@code .safetensors} export); a block that several positions share is stored once, under
 * the names of its first position, and every position reads that one copy, so a grown model's file is its base's
 * plus its adjustment parameters plus the graph. The model's metadata JSON ({@link VitModel#metadata()}) rides along
 * as the metadata property {@value #METADATA}.
 */
public final class OnnxExport {
    /** The operator set the graph is written in: the first with LayerNormalization. */
    public static final int OPSET = 17;
    /** The IR version that goes with opset 17 (ONNX 1.12). */
    static final long IR_VERSION = 8;
    public static final String PIXELS = VisionTransformer.INPUT;
    public static final String LOGITS = "logits";
    public static final String PRE_LOGITS = "preLogits";
    public static final String FORWARD_FEATURES = "forwardFeatures";
    /** The metadata property holding {@link VitModel#metadata()}: class names and preprocessing for a server. */
    public static final String METADATA = "scalenet";

    private final OnnxGraph g = new OnnxGraph("scalenet-vit");
    private final Map<String, String> firstNames;
    private final Map<String, String> transposed = new HashMap<>();
    private final VitConfig config;
    private final ScaleNetBlocks blocks;
    private final VitPooling pool;

    private OnnxExport(ComputationGraph graph) {
        requireKnownLayers(graph);
        config = VisionTransformer.configOf(graph);
        blocks = VisionTransformer.blocksOf(graph);
        pool = (VitPooling) graph.getLayer(VisionTransformer.POOL).conf().getLayer();
        firstNames = TimmCheckpoint.firstNames(graph);
        for (Tensor t : TimmCheckpoint.tensors(graph).values()) {
            if (firstNames.get(t.name()).equals(t.name())) g.initializer(t); // a shared tensor once
        }
    }

    /** The ONNX name of an output kind. */
    public static String outputName(Features.Kind kind) {
        return switch (kind) {
            case LOGITS -> LOGITS;
            case PRE_LOGITS -> PRE_LOGITS;
            case TOKENS -> FORWARD_FEATURES;
        };
    }

    /** Writes {@code model} as ONNX to {@code file} (atomically), with {@code logits} and the {@code extra} outputs. */
    public static void write(VitModel model, Path file, Set<Features.Kind> extra) throws IOException {
        byte[] bytes = model(model.graph(), extra, model.metadata()).toByteArray();
        AtomicFiles.writeBytes(file, bytes);
    }

    /**
     * The ONNX model of {@code graph}: outputs {@code logits} and the {@code extra} ones; {@code metadata} (may be
     * null) goes into the metadata property {@value #METADATA}.
     *
     * @throws UnsupportedLayerException if the graph has a vertex that is not one of the ViT's layers as this library
     *     builds them
     */
    public static Onnx.ModelProto model(ComputationGraph graph, Set<Features.Kind> extra, ObjectNode metadata) {
        OnnxExport e = new OnnxExport(graph);
        Set<Features.Kind> outputs = EnumSet.of(Features.Kind.LOGITS);
        outputs.addAll(extra);
        e.forward(outputs);
        Onnx.ModelProto.Builder m = Onnx.ModelProto.newBuilder().setIrVersion(IR_VERSION)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setProducerName("scalenet").setProducerVersion(Version.library())
                .setDocString("ScaleNet ViT: " + e.config + ", block order " + java.util.Arrays.toString(e.blocks.getOrder()))
                .setGraph(e.g.proto());
        if (metadata != null) {
            m.addMetadataProps(Onnx.StringStringEntryProto.newBuilder().setKey(METADATA).setValue(metadata.toString()));
        }
        return m.build();
    }

    private static final Map<String, Class<?>> LAYERS = Map.of(
            VisionTransformer.PATCH_EMBED, PatchEmbedding.class, VisionTransformer.BLOCKS, ScaleNetBlocks.class,
            VisionTransformer.POOL, VitPooling.class, VisionTransformer.HEAD, OutputLayer.class);
    private static final Map<String, String> INPUT_OF = Map.of(
            VisionTransformer.PATCH_EMBED, VisionTransformer.INPUT, VisionTransformer.BLOCKS, VisionTransformer.PATCH_EMBED,
            VisionTransformer.POOL, VisionTransformer.BLOCKS, VisionTransformer.HEAD, VisionTransformer.POOL);

    /** The graph must be exactly the ViT chain pixels -> patchEmbed -> blocks -> pool -> head (identity activation). */
    private static void requireKnownLayers(ComputationGraph graph) {
        for (Map.Entry<String, GraphVertex> v : graph.getConfiguration().getVertices().entrySet()) {
            String name = v.getKey();
            Object layer = v.getValue() instanceof LayerVertex lv ? lv.getLayerConf().getLayer() : v.getValue();
            Class<?> known = LAYERS.get(name);
            if (known == null || !known.isInstance(layer)) {
                throw new UnsupportedLayerException(name, "it is a " + layer.getClass().getSimpleName()
                        + ", which the exporter does not know; it writes the ViT's " + LAYERS.keySet().stream()
                        .map(k -> k + " (" + LAYERS.get(k).getSimpleName() + ")").sorted().toList());
            }
            List<String> inputs = graph.getConfiguration().getVertexInputs().get(name);
            if (!List.of(INPUT_OF.get(name)).equals(inputs)) {
                throw new UnsupportedLayerException(name, "its inputs are " + inputs + ", the exporter writes the ViT "
                        + "chain in which it reads " + INPUT_OF.get(name));
            }
        }
        if (!graph.getConfiguration().getNetworkInputs().equals(List.of(VisionTransformer.INPUT))) {
            throw new UnsupportedLayerException(VisionTransformer.INPUT, "the graph's inputs are "
                    + graph.getConfiguration().getNetworkInputs() + ", the exporter writes one input " + VisionTransformer.INPUT);
        }
        OutputLayer head = (OutputLayer) graph.getLayer(VisionTransformer.HEAD).conf().getLayer();
        // the file's output is the head's pre-activation, timm's logits (Features.logits): the same for an identity
        // head and for a softmax one, whose probabilities a server gets from the logits
        boolean linear = head.getActivationFn() instanceof ActivationIdentity || head.getActivationFn() instanceof ActivationSoftmax;
        if (!linear || !head.hasBias()) {
            throw new UnsupportedLayerException(VisionTransformer.HEAD, "activation " + head.getActivationFn() + (head.hasBias()
                    ? "" : " without bias") + "; the exporter writes a linear head with bias and identity or softmax activation");
        }
    }

    private void forward(Set<Features.Kind> outputs) {
        long d = config.embedDim();
        g.input(PIXELS, config.inChans(), config.imgSize(), config.imgSize());
        String x = patchEmbed();
        for (int j = 0; j < blocks.depth(); j++) x = block(j, x);
        String norm = config.fcNorm() ? "fc_norm" : "norm";
        String preLogits;
        if (config.fcNorm()) {
            // timm: forward_features ends with the last block; fc_norm follows the pooling
            if (outputs.contains(Features.Kind.TOKENS)) g.node("Identity", FORWARD_FEATURES, in(x));
            preLogits = layerNorm(PRE_LOGITS, pooled("pool", x), norm);
        } else {
            preLogits = pooled(PRE_LOGITS, layerNorm(FORWARD_FEATURES, x, norm));
        }
        g.node("Gemm", LOGITS, in(preLogits, ref("head.weight"), ref("head.bias")), attr("transB", 1L));
        g.output(LOGITS, config.numClasses());
        if (outputs.contains(Features.Kind.PRE_LOGITS)) g.output(PRE_LOGITS, d);
        if (outputs.contains(Features.Kind.TOKENS)) g.output(FORWARD_FEATURES, config.numTokens(), d);
    }

    /** timm's PatchEmbed, class token and position embedding: {@code [batch, tokens, dim]}. */
    private String patchEmbed() {
        long p = config.patchSize();
        String conv = g.node("Conv", "patch_embed.proj", in(PIXELS, ref("patch_embed.proj.weight"), ref("patch_embed.proj.bias")),
                attr("kernel_shape", p, p), attr("strides", p, p));
        String flat = g.node("Reshape", "patch_embed.flatten", in(conv, g.ints("shape.flatten", 0, config.embedDim(), -1)));
        String patches = g.node("Transpose", "patch_embed.tokens", in(flat), attr("perm", 0L, 2L, 1L));
        String tokens = patches;
        if (config.classToken()) {
            // the class token, broadcast to [batch, 1, dim]: the batch size is known only at run time
            String shape = g.node("Shape", "patch_embed.shape", in(patches));
            String batch = g.node("Slice", "batch.size", in(shape, g.ints("at.0", 0), g.ints("at.1", 1)));
            String clsShape = g.node("Concat", "cls_token.shape", in(batch, g.ints("shape.cls", 1, config.embedDim())), attr("axis", 0L));
            String cls = g.node("Expand", "cls_token.batch", in(ref("cls_token"), clsShape));
            tokens = g.node("Concat", "tokens", in(cls, patches), attr("axis", 1L));
        }
        return g.node("Add", "pos_drop", in(tokens, ref("pos_embed")));
    }

    /** Position {@code j} of the stack, as {@code Block} computes it (adapters, gates, untied norms where it has them). */
    private String block(int j, String x) {
        String p = "blocks." + j + ".";
        String h1 = layerNorm(p + "norm1", x, p + "norm1");
        String x1 = endBranch(j, "attn", "ls1", x, attention(p, h1), h1);
        String h2 = layerNorm(p + "norm2", x1, p + "norm2");
        String fc1 = linear(p + "mlp.fc1", h2);
        String fc2 = linear(p + "mlp.fc2", gelu(p + "mlp.act", fc1));
        return endBranch(j, "mlp", "ls2", x1, fc2, h2);
    }

    /** timm's Attention: {@code proj(softmax(q kᵀ · headDim^-½) v)}, heads split from the fused qkv projection. */
    private String attention(String p, String h) {
        int heads = blocks.getNumHeads();
        long headDim = config.embedDim() / heads;
        String qkv = linear(p + "attn.qkv", h);
        String split = g.node("Reshape", p + "attn.qkv.heads", in(qkv, shared("shape.qkv", () -> g.ints("shape.qkv", 0, 0, 3, heads, headDim))));
        String qkvFirst = g.node("Transpose", p + "attn.qkv.split", in(split), attr("perm", 2L, 0L, 3L, 1L, 4L)); // [3, B, H, T, hd]
        String q = g.node("Gather", p + "attn.q", in(qkvFirst, shared("index.0", () -> g.index("index.0", 0))), attr("axis", 0L));
        String k = g.node("Gather", p + "attn.k", in(qkvFirst, shared("index.1", () -> g.index("index.1", 1))), attr("axis", 0L));
        String v = g.node("Gather", p + "attn.v", in(qkvFirst, shared("index.2", () -> g.index("index.2", 2))), attr("axis", 0L));
        String kT = g.node("Transpose", p + "attn.k.T", in(k), attr("perm", 0L, 1L, 3L, 2L));
        String scores = g.node("MatMul", p + "attn.scores", in(q, kT));
        String scaled = g.node("Mul", p + "attn.scaled", in(scores, shared("attn.scale", () -> g.scalar("attn.scale", (float) Math.pow(headDim, -0.5)))));
        String probs = g.node("Softmax", p + "attn.softmax", in(scaled), attr("axis", -1L));
        String ctx = g.node("MatMul", p + "attn.context", in(probs, v));
        String merged = g.node("Transpose", p + "attn.context.T", in(ctx), attr("perm", 0L, 2L, 1L, 3L));
        String tokens = g.node("Reshape", p + "attn.context.tokens", in(merged, shared("shape.tokens", () -> g.ints("shape.tokens", 0, 0, config.embedDim()))));
        return linear(p + "attn.proj", tokens);
    }

    /**
     * {@code x + γ ⊙ (y + s · adapter(h))}: the end of branch {@code attn} or {@code mlp} of position {@code j}, with
     * its adapter on the branch's normed input {@code h} and its LayerScale gate where the position has them.
     */
    private String endBranch(int j, String branch, String gate, String x, String y, String h) {
        String p = "blocks." + j + ".";
        String sum = y;
        if (blocks.hasAdapters(j)) {
            String a = p + "adapter." + branch;
            String down = g.node("Relu", a + ".relu", in(linear(a + ".down", h)));
            String up = linear(a + ".up", down);
            if (blocks.getAdapterScale() != 1.0) {
                up = g.node("Mul", a + ".scaled", in(up, shared("adapter.scale", () -> g.scalar("adapter.scale", (float) blocks.getAdapterScale()))));
            }
            sum = g.node("Add", a + ".sum", in(y, up));
        }
        if (blocks.hasGates(j)) sum = g.node("Mul", p + gate, in(sum, ref(p + gate + ".gamma")));
        return g.node("Add", p + branch + ".residual", in(x, sum));
    }

    /** timm's exact GELU, {@code x · ½ (1 + erf(x / √2))}: opset 17 has no Gelu operator. */
    private String gelu(String name, String x) {
        String scaled = g.node("Mul", name + ".scaled", in(x, shared("gelu.rsqrt2", () -> g.scalar("gelu.rsqrt2", (float) (1 / Math.sqrt(2))))));
        String erf = g.node("Erf", name + ".erf", in(scaled));
        String cdf = g.node("Add", name + ".plus1", in(erf, shared("one", () -> g.scalar("one", 1f))));
        String half = g.node("Mul", name + ".half", in(x, shared("half", () -> g.scalar("half", 0.5f))));
        return g.node("Mul", name, in(half, cdf));
    }

    /** A timm Linear: {@code x Wᵀ + b}; each shared weight is transposed once, by one node every position reads. */
    private String linear(String timmPrefix, String x) {
        String weight = ref(timmPrefix + ".weight");
        String t = transposed.computeIfAbsent(weight, w -> g.node("Transpose", w + ".T", in(w), attr("perm", 1L, 0L)));
        String product = g.node("MatMul", timmPrefix + ".matmul", in(x, t));
        String bias = firstNames.get(timmPrefix + ".bias");
        return bias == null ? product : g.node("Add", timmPrefix, in(product, bias));
    }

    private String layerNorm(String output, String x, String timmPrefix) {
        return g.node("LayerNormalization", output, in(x, ref(timmPrefix + ".weight"), ref(timmPrefix + ".bias")),
                attr("axis", -1L), attr("epsilon", (float) VitConfig.LAYER_NORM_EPS));
    }

    /** timm's global_pool over {@code [batch, tokens, dim]}: the class token, or the mean of the patch tokens. */
    private String pooled(String output, String tokens) {
        if (pool.getGlobalPool() == GlobalPool.TOKEN) {
            return g.node("Gather", output, in(tokens, shared("index.0", () -> g.index("index.0", 0))), attr("axis", 1L));
        }
        int prefix = pool.getNumPrefixTokens();
        String patches = prefix == 0 ? tokens : g.node("Slice", "pool.patches", in(tokens, g.ints("pool.start", prefix),
                g.ints("pool.end", Long.MAX_VALUE), g.ints("pool.axis", 1)));
        return g.node("ReduceMean", output, in(patches), attr("axes", new long[] {1}), attr("keepdims", 0L));
    }

    private final Map<String, String> constants = new HashMap<>();

    /** A constant made once and read by every position. */
    private String shared(String name, java.util.function.Supplier<String> make) {
        return constants.computeIfAbsent(name, k -> make.get());
    }

    /** The initializer holding timm tensor {@code timmName} (its first position's name if shared). */
    private String ref(String timmName) {
        String name = firstNames.get(timmName);
        if (name == null) throw new IllegalStateException("the graph has no tensor '" + timmName + "'");
        return name;
    }
}
