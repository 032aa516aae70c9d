package dev.scalenet.vit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.Capped;
import dev.scalenet.io.Checkpoint;
import dev.scalenet.io.Json;
import dev.scalenet.io.SafeTensors;
import dev.scalenet.io.SafeTensorsException;
import dev.scalenet.io.Tensor;
import dev.scalenet.layers.GlobalPool;
import dev.scalenet.layers.ScaleNetBlocks;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * timm {@code .safetensors} state dicts in and out of {@link VisionTransformer} graphs, with timm's key
 * names. Import infers the architecture from the tensors wherever it can and takes the rest (heads,
 * pooling where ambiguous) from timm constructor arguments; every tensor must be used and every parameter
 * filled. Export writes float32; importing and exporting a float32 file gives the same tensor bytes.
 *
 * <p>An expanded graph exports as the deeper timm model: position {@code j} is {@code blocks.j.*} holding
 * its source block's tensors (and its own norms if untied), plus {@code blocks.j.adapter.*} when it has
 * adapters, which a plain timm model does not have.
 */
public final class TimmCheckpoint {
    private static final Pattern BLOCK_KEY = Pattern.compile("blocks\\.(\\d+)\\.(.+)");

    private TimmCheckpoint() {}

    /** One timm tensor and the graph parameter that holds it. */
    private static final class Binding {
        final String timmName;
        final String vertex;
        final String param;
        final long[] timmShape;
        /** DL4J's dense weights are [in, out]; timm's are [out, in]. */
        final boolean transposed;

        Binding(String timmName, String vertex, String param, long[] timmShape, boolean transposed) {
            this.timmName = timmName;
            this.vertex = vertex;
            this.param = param;
            this.timmShape = timmShape;
            this.transposed = transposed;
        }
    }

    /** Every timm tensor of a ViT graph, in export order. */
    private static List<Binding> bindings(ComputationGraph graph) {
        return bindings(graph.getConfiguration());
    }

    /** Every timm tensor of a ViT graph configuration, in export order; allocates nothing the configuration sizes. */
    private static List<Binding> bindings(ComputationGraphConfiguration conf) {
        VitConfig c = VisionTransformer.configOf(conf);
        ScaleNetBlocks blocks = VisionTransformer.layer(conf, VisionTransformer.BLOCKS, ScaleNetBlocks.class);
        long d = c.embedDim();
        List<Binding> b = new ArrayList<>();
        if (c.classToken()) {
            b.add(new Binding("cls_token", VisionTransformer.PATCH_EMBED, "clsToken", new long[] {1, 1, d}, false));
        }
        b.add(new Binding("pos_embed", VisionTransformer.PATCH_EMBED, "posEmbed", new long[] {1, c.numTokens(), d}, false));
        b.add(new Binding("patch_embed.proj.weight", VisionTransformer.PATCH_EMBED, "proj.weight",
                new long[] {d, c.inChans(), c.patchSize(), c.patchSize()}, false));
        b.add(new Binding("patch_embed.proj.bias", VisionTransformer.PATCH_EMBED, "proj.bias", new long[] {d}, false));
        int[] order = blocks.getOrder();
        Map<String, long[]> blockTensors = blocks.blockShape().blockTensors();
        for (int j = 0; j < order.length; j++) {
            String use = ScaleNetBlocks.usePrefix(j);
            Map<String, long[]> own = blocks.adjustmentShapes(j);
            Map<String, long[]> position = new LinkedHashMap<>(blockTensors);
            own.forEach((key, shape) -> position.put(key.substring(use.length()), shape));
            for (Map.Entry<String, long[]> e : position.entrySet()) {
                String rel = e.getKey();
                String param = own.containsKey(use + rel) ? use + rel : ScaleNetBlocks.sourcePrefix(order[j]) + rel;
                b.add(new Binding("blocks." + j + "." + rel, VisionTransformer.BLOCKS, param, e.getValue(), false));
            }
        }
        String norm = c.fcNorm() ? "fc_norm" : "norm";
        String ourNorm = c.fcNorm() ? "fcNorm" : "norm";
        b.add(new Binding(norm + ".weight", VisionTransformer.POOL, ourNorm + ".weight", new long[] {d}, false));
        b.add(new Binding(norm + ".bias", VisionTransformer.POOL, ourNorm + ".bias", new long[] {d}, false));
        b.add(new Binding("head.weight", VisionTransformer.HEAD, "W", new long[] {c.numClasses(), d}, true));
        b.add(new Binding("head.bias", VisionTransformer.HEAD, "b", new long[] {c.numClasses()}, false));
        return b;
    }

    /**
     * The architecture of a timm checkpoint. {@code timmArgs} (may be null) are timm constructor arguments,
     * or a JSON with a {@code constructor} member; they must agree with what the tensors say.
     */
    public static VitConfig inferConfig(Checkpoint ckpt, JsonNode timmArgs) throws SafeTensorsException {
        String file = String.valueOf(ckpt.source());
        ObjectNode inferred = new ObjectMapper().createObjectNode();
        // every size read here is positive, so each is at most the tensor's element count, which the reader bounds
        // by an int: the casts below are exact
        long[] proj = shapeOf(ckpt, "patch_embed.proj.weight", "[embed_dim, in_chans, patch, patch]", 0, 0, 0, 0);
        if (proj[2] != proj[3]) {
            throw new SafeTensorsException(file + ": tensor 'patch_embed.proj.weight' has a non-square kernel "
                    + Arrays.toString(proj) + "; expected [embed_dim, in_chans, patch, patch]");
        }
        int embedDim = (int) proj[0];
        int patch = (int) proj[2];
        inferred.put("embed_dim", embedDim);
        inferred.put("in_chans", (int) proj[1]);
        inferred.put("patch_size", patch);
        boolean classToken = ckpt.find("cls_token").isPresent();
        inferred.put("class_token", classToken);
        if (classToken) shapeOf(ckpt, "cls_token", "[1, 1, embed_dim]", 1, 1, embedDim);
        long tokens = shapeOf(ckpt, "pos_embed", "[1, tokens, embed_dim]", 1, 0, embedDim)[1];
        long patches = tokens - (classToken ? 1 : 0);
        long grid = Math.round(Math.sqrt(patches));
        if (patches <= 0 || grid * grid != patches) {
            throw new SafeTensorsException(file + ": tensor 'pos_embed' has " + tokens + " tokens; expected a square number of patches"
                    + (classToken ? " plus 1 class token" : ""));
        }
        inferred.put("img_size", (int) (grid * patch));
        inferred.put("num_classes", (int) shapeOf(ckpt, "head.weight", "[num_classes, embed_dim]", 0, embedDim)[0]);
        int depth = depth(ckpt);
        inferred.put("depth", depth);
        inferred.put("qkv_bias", ckpt.find("blocks.0.attn.qkv.bias").isPresent());
        long hidden = shapeOf(ckpt, "blocks.0.mlp.fc1.weight", "[mlp_hidden, embed_dim]", 0, embedDim)[0];
        inferred.put("mlp_ratio", (double) hidden / embedDim);
        boolean fcNorm = ckpt.find("fc_norm.weight").isPresent();
        inferred.put("fc_norm", fcNorm);

        JsonNode given = timmArgs == null ? new ObjectMapper().createObjectNode()
                : timmArgs.has("constructor") ? timmArgs.get("constructor") : timmArgs;
        if (!given.isObject()) {
            throw new SafeTensorsException(file + ": timm constructor arguments must be a JSON object, found " + given.getNodeType());
        }
        ObjectNode merged = inferred.deepCopy();
        for (String field : iterable(given.fieldNames())) {
            JsonNode g = given.get(field);
            JsonNode t = inferred.get(field);
            if (g.isNull()) continue; // timm's None: the default, which the tensors already decide
            if (t != null && !sameValue(g, t, field, embedDim)) {
                throw new SafeTensorsException(file + ": timm constructor argument " + field + " = " + g
                        + " but the tensors say " + t);
            }
            merged.set(field, g);
        }
        if (!merged.has("num_heads")) {
            throw new SafeTensorsException(file + ": num_heads cannot be inferred from the tensors; give it in the timm "
                    + "constructor JSON (\"num_heads\": ...) or the builder");
        }
        if (!merged.has("global_pool")) {
            if (!classToken) {
                merged.put("global_pool", GlobalPool.AVG.timmName());
            } else if (!fcNorm) {
                merged.put("global_pool", GlobalPool.TOKEN.timmName());
            } else {
                throw new SafeTensorsException(file + ": the checkpoint has a class token and fc_norm, so pooling is "
                        + "ambiguous; give \"global_pool\": \"token\" or \"avg\" in the timm constructor JSON");
            }
        }
        try {
            return VitConfig.fromTimmArgs(merged, VitConfig.builder());
        } catch (IllegalArgumentException e) {
            throw new SafeTensorsException(file + ": " + e.getMessage(), e);
        }
    }

    private static boolean sameValue(JsonNode given, JsonNode inferred, String field, int embedDim) {
        if (field.equals("mlp_ratio")) {
            // timm sizes the MLP as int(embed_dim * mlp_ratio): compare the hidden width each implies
            return given.isNumber() && (int) (embedDim * given.doubleValue()) == (int) Math.round(embedDim * inferred.doubleValue());
        }
        if (given.isNumber() && inferred.isNumber()) return given.asDouble() == inferred.asDouble();
        return given.equals(inferred);
    }

    private static int depth(Checkpoint ckpt) throws SafeTensorsException {
        Set<Integer> indices = new TreeSet<>();
        for (String name : ckpt.names()) {
            Matcher m = BLOCK_KEY.matcher(name);
            if (!m.matches()) continue;
            String index = m.group(1);
            // judged on the digits first: they may not fit an int
            if (index.length() > 4 || Integer.parseInt(index) >= ScaleNetBlocks.MAX_DEPTH) {
                throw new SafeTensorsException(ckpt.source() + ": tensor '" + name + "' has block index " + index
                        + ": expected 0.." + (ScaleNetBlocks.MAX_DEPTH - 1) + " (a stack has at most "
                        + ScaleNetBlocks.MAX_DEPTH + " blocks)");
            }
            indices.add(Integer.parseInt(index));
        }
        int depth = indices.size();
        if (depth == 0 || !indices.contains(depth - 1)) {
            throw new SafeTensorsException(ckpt.source() + ": blocks must be numbered 0..depth-1 without gaps, found " + Capped.list(indices));
        }
        return depth;
    }

    /**
     * The shape of a tensor the architecture is read from: {@code layout}'s rank, every size positive (an empty tensor
     * could claim any size), and equal to {@code expected} where that is not 0.
     */
    private static long[] shapeOf(Checkpoint ckpt, String name, String layout, long... expected) throws SafeTensorsException {
        Tensor t = ckpt.find(name).orElseThrow(() -> new SafeTensorsException(ckpt.source()
                + ": tensor '" + name + "' is missing; it is needed to infer the ViT architecture"));
        long[] shape = t.shape();
        boolean ok = shape.length == expected.length;
        for (int i = 0; ok && i < shape.length; i++) {
            ok = shape[i] > 0 && (expected[i] == 0 || shape[i] == expected[i]);
        }
        if (!ok) {
            long width = expected[expected.length - 1]; // the last size, when known, is the width
            throw new SafeTensorsException(ckpt.source() + ": tensor '" + name + "' has shape " + Arrays.toString(shape)
                    + ", expected " + layout + (width > 0 ? " with embed_dim " + width
                    + " (the width of patch_embed.proj.weight)" : "") + ", every size positive");
        }
        return shape;
    }

    private static <T> Iterable<T> iterable(java.util.Iterator<T> it) {
        return () -> it;
    }

    /** Reads a timm checkpoint into a new graph; {@code constructorJson} may be null. */
    public static ComputationGraph load(Path file, Path constructorJson) throws IOException {
        Checkpoint ckpt = SafeTensors.read(file);
        JsonNode args = constructorJson == null ? null : Json.read(constructorJson);
        VitConfig config = inferConfig(ckpt, args);
        return build(VisionTransformer.builder().config(config).build().conf(), ckpt);
    }

    /**
     * A graph of {@code conf} holding the tensors of {@code ckpt}. The tensors are checked against the configuration
     * first, as {@link #fill} does, so a checkpoint that does not match gets no graph allocated for it: the
     * configuration was inferred from a few of its tensors, and the rest (e.g. the number of blocks) may claim sizes
     * that no tensor holds.
     */
    static ComputationGraph build(ComputationGraphConfiguration conf, Checkpoint ckpt) throws SafeTensorsException {
        List<Binding> bindings = bindings(conf);
        requireMatch(conf, bindings, ckpt);
        ComputationGraph graph = new ComputationGraph(conf);
        graph.init();
        copy(graph, bindings, ckpt); // checked above: not again
        return graph;
    }

    /**
     * Copies every tensor of {@code ckpt} into {@code graph}. Fails, naming the file, on missing, unexpected or
     * misshapen tensors (all listed at once), or on two copies of a shared block that differ.
     */
    public static void fill(ComputationGraph graph, Checkpoint ckpt) throws SafeTensorsException {
        List<Binding> bindings = bindings(graph);
        requireMatch(graph.getConfiguration(), bindings, ckpt);
        copy(graph, bindings, ckpt);
    }

    /** Copies the tensors of {@code bindings}, already matched against {@code ckpt}, into {@code graph}. */
    private static void copy(ComputationGraph graph, List<Binding> bindings, Checkpoint ckpt) throws SafeTensorsException {
        Map<String, String> filledBy = new TreeMap<>();
        for (Binding b : bindings) {
            INDArray target = graph.getLayer(b.vertex).getParam(b.param);
            INDArray value = toArray(ckpt.require(b.timmName), b, target.dataType());
            String key = b.vertex + "/" + b.param;
            String first = filledBy.putIfAbsent(key, b.timmName);
            if (first != null) {
                if (!value.equals(target)) {
                    throw new SafeTensorsException(ckpt.source() + ": tensors '" + first + "' and '" + b.timmName
                            + "' should be equal (both are the shared parameter " + key + ") but differ");
                }
                continue;
            }
            target.assign(value);
        }
    }

    /** Fails, naming the file, unless {@code ckpt} holds exactly the tensors of {@code bindings}, in their shapes. */
    private static void requireMatch(ComputationGraphConfiguration conf, List<Binding> bindings, Checkpoint ckpt)
            throws SafeTensorsException {
        Map<String, Binding> expected = new LinkedHashMap<>();
        bindings.forEach(b -> expected.put(b.timmName, b));
        List<String> problems = new ArrayList<>();
        for (Binding b : bindings) {
            Tensor t = ckpt.find(b.timmName).orElse(null);
            if (t == null) {
                problems.add("missing tensor '" + b.timmName + "' (expected shape " + Arrays.toString(b.timmShape) + ")");
            } else if (!Arrays.equals(t.shape(), b.timmShape)) {
                problems.add("tensor '" + b.timmName + "' has shape " + Arrays.toString(t.shape()) + ", expected "
                        + Arrays.toString(b.timmShape));
            }
        }
        for (String name : new TreeSet<>(ckpt.names())) {
            if (!expected.containsKey(name)) {
                problems.add("unexpected tensor '" + name + "' " + Arrays.toString(ckpt.require(name).shape())
                        + " (no parameter of this architecture takes it)");
            }
        }
        if (!problems.isEmpty()) {
            throw new SafeTensorsException(ckpt.source() + " does not match " + VisionTransformer.configOf(conf)
                    + " (" + problems.size() + " problems):" + Capped.lines(problems));
        }
    }

    private static INDArray toArray(Tensor t, Binding b, DataType dataType) {
        INDArray a = Nd4j.create(t.values(), t.shape(), 'c').castTo(dataType);
        return b.transposed ? a.transpose() : a;
    }

    /** The graph's tensors under timm's names, float32, in timm's order. */
    public static Map<String, Tensor> tensors(ComputationGraph graph) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Binding b : bindings(graph)) {
            INDArray p = graph.getLayer(b.vertex).getParam(b.param);
            INDArray timm = (b.transposed ? p.transpose() : p).castTo(DataType.FLOAT).dup('c').reshape('c', b.timmShape);
            out.put(b.timmName, new Tensor(b.timmName, b.timmShape, timm.data().asFloat(), dev.scalenet.io.DType.F32));
        }
        return out;
    }

    /**
     * Every timm name of {@link #tensors} mapped to the first timm name bound to the same graph parameter: the
     * positions that share a block map its tensors to the first position's names, every other name maps to itself.
     * Lets a writer store a shared tensor once.
     */
    public static Map<String, String> firstNames(ComputationGraph graph) {
        Map<String, String> firstByParam = new LinkedHashMap<>();
        Map<String, String> out = new LinkedHashMap<>();
        for (Binding b : bindings(graph)) {
            out.put(b.timmName, firstByParam.computeIfAbsent(b.vertex + "/" + b.param, k -> b.timmName));
        }
        return out;
    }

    /** Writes the graph as a timm state dict (atomically: temp file, then move). */
    public static void save(ComputationGraph graph, Path file) throws IOException {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        metadata.put("source", "scalenet");
        SafeTensors.write(file, tensors(graph), metadata, dev.scalenet.io.DType.F32);
    }
}
