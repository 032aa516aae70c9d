package dev.scalenet.vit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.io.Json;
import dev.scalenet.layers.BlockShape;
import dev.scalenet.layers.GlobalPool;
import dev.scalenet.layers.ScaleNetBlocks;
import dev.scalenet.layers.VitLayerConf;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The architecture of a Vision Transformer, named and defaulted like the arguments of timm's
 * {@code VisionTransformer} constructor. Immutable; build with {@link #builder()} or read timm's
 * constructor arguments with {@link #fromTimmArgs(JsonNode, Builder)}.
 *
 * <p>Only the options this port implements exist: LayerNorm eps 1e-6, exact GELU, pre-norm blocks,
 * no layer scale, no register tokens. Anything else in a timm argument object is rejected by name
 * rather than silently ignored.
 */
public final class VitConfig {

    /** LayerNorm epsilon of timm's ViT ({@code partial(nn.LayerNorm, eps=1e-6)}). */
    public static final double LAYER_NORM_EPS = 1e-6;

    /**
     * The most parameters a configuration may have, in all and so in any one tensor: a Java array's bound, as for a
     * layer's tensors ({@link VitLayerConf#MAX_TENSOR_VALUES}), since DL4J keeps all of a graph's parameters in one
     * flattened vector. 2^31 float32 values are 8 GiB: a ViT-G (1.8 B parameters) fits.
     */
    public static final long MAX_PARAMETERS = VitLayerConf.MAX_TENSOR_VALUES;

    private final int imgSize;
    private final int patchSize;
    private final int inChans;
    private final int numClasses;
    private final int embedDim;
    private final int depth;
    private final int numHeads;
    private final double mlpRatio;
    private final boolean qkvBias;
    private final boolean classToken;
    private final GlobalPool globalPool;
    private final boolean fcNorm;

    private VitConfig(Builder b) {
        this.imgSize = b.imgSize;
        this.patchSize = b.patchSize;
        this.inChans = b.inChans;
        this.numClasses = b.numClasses;
        this.embedDim = b.embedDim;
        this.depth = b.depth;
        this.numHeads = b.numHeads;
        this.mlpRatio = b.mlpRatio;
        this.qkvBias = b.qkvBias;
        this.classToken = b.classToken;
        this.globalPool = b.globalPool;
        // timm: use_fc_norm = global_pool in ('avg', 'avgmax', 'max') if fc_norm is None else fc_norm
        this.fcNorm = b.fcNorm != null ? b.fcNorm : b.globalPool == GlobalPool.AVG;
        validate();
    }

    private void validate() {
        require(imgSize > 0, "img_size", imgSize, "a positive number of pixels");
        require(patchSize > 0, "patch_size", patchSize, "a positive number of pixels");
        require(imgSize % patchSize == 0, "img_size", imgSize, "a multiple of patch_size " + patchSize);
        require(inChans > 0, "in_chans", inChans, "at least 1");
        // DL4J refuses a softmax head of one class (its output is always 1), naming no file
        require(numClasses >= 2, "num_classes", numClasses, "at least 2 (the head is a softmax over the classes)");
        require(embedDim > 0, "embed_dim", embedDim, "positive");
        require(depth > 0 && depth <= ScaleNetBlocks.MAX_DEPTH, "depth", depth, "1 to " + ScaleNetBlocks.MAX_DEPTH);
        require(numHeads > 0, "num_heads", numHeads, "positive");
        require(embedDim % numHeads == 0, "num_heads", numHeads, "a divisor of embed_dim " + embedDim);
        // 1e400 in JSON reads as Infinity, and (int) of an infinite width is Integer.MAX_VALUE
        require(Double.isFinite(mlpRatio) && mlpRatio > 0 && mlpHiddenDim() > 0, "mlp_ratio", mlpRatio,
                "a finite number with int(embed_dim * mlp_ratio) at least 1");
        require(classToken || globalPool != GlobalPool.TOKEN, "global_pool", "token",
                "'avg' when class_token is false (there is no class token to take)");
        requireSizes();
    }

    /** Each tensor, then all of them, within {@link #MAX_PARAMETERS}; before anything that size is allocated. */
    private void requireSizes() {
        long d = embedDim;
        long grid = imgSize / patchSize;
        long tokens = grid * grid + (classToken ? 1 : 0); // in long: the int numTokens() overflows past 46340 patches a side
        requireValues("embed_dim", embedDim, "blocks.<j>.attn.qkv.weight", 3 * d, d);
        requireValues("mlp_ratio", mlpRatio, "blocks.<j>.mlp.fc1.weight", mlpHiddenDim(), d);
        requireValues("num_classes", numClasses, "head.weight", numClasses, d);
        requireValues("img_size / patch_size", imgSize + " / " + patchSize, "pos_embed", 1, tokens, d);
        requireValues("in_chans, patch_size", inChans + ", " + patchSize, "patch_embed.proj.weight", d, inChans, patchSize,
                patchSize);
        // no overflow: each tensor is within bounds now, and there are at most MAX_DEPTH blocks
        long perBlock = blockParams();
        long outside = outsideParams(tokens);
        long total = depth * perBlock + outside;
        require(total <= MAX_PARAMETERS, "parameters", total + " (" + depth + " blocks of " + perBlock + " each, "
                + outside + " outside them)", "at most " + MAX_PARAMETERS + " in all");
    }

    private static void requireValues(String field, Object value, String tensor, long... shape) {
        long n = 1;
        for (long size : shape) n = times(n, size);
        require(n <= MAX_PARAMETERS, field, value, "a value whose " + tensor + " " + java.util.Arrays.toString(shape)
                + " holds at most " + MAX_PARAMETERS + " values");
    }

    /** One block's parameters, as {@link BlockShape} lists its tensors; each is already within bounds. */
    private long blockParams() {
        long n = 0;
        for (long[] shape : new BlockShape(embedDim, numHeads, mlpHiddenDim(), qkvBias).blockTensors().values()) {
            long values = 1;
            for (long size : shape) values *= size;
            n += values;
        }
        return n;
    }

    /** Patch embedding (class token, position embedding, projection), the final norm and the head. */
    private long outsideParams(long tokens) {
        long d = embedDim;
        return (classToken ? d : 0) + tokens * d + d * inChans * patchSize * patchSize + d + 2 * d + numClasses * d
                + numClasses;
    }

    /** {@code a * b} for non-negative values, or {@link Long#MAX_VALUE} if that overflows. */
    private static long times(long a, long b) {
        return a != 0 && b > Long.MAX_VALUE / a ? Long.MAX_VALUE : a * b;
    }

    private static void require(boolean ok, String field, Object value, String expected) {
        if (!ok) {
            throw new IllegalArgumentException("ViT config: " + field + " = " + value + ", expected " + expected);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this configuration, to derive a variant (e.g. a deeper one). */
    public Builder toBuilder() {
        return new Builder().imgSize(imgSize).patchSize(patchSize).inChans(inChans).numClasses(numClasses)
                .embedDim(embedDim).depth(depth).numHeads(numHeads).mlpRatio(mlpRatio).qkvBias(qkvBias)
                .classToken(classToken).globalPool(globalPool).fcNorm(fcNorm);
    }

    /** timm {@code deit_tiny_patch16_224}: 192 wide, 12 blocks, 3 heads. */
    public static VitConfig deitTinyPatch16() {
        return builder().embedDim(192).depth(12).numHeads(3).build();
    }

    /** timm {@code deit_small_patch16_224}: 384 wide, 12 blocks, 6 heads. */
    public static VitConfig deitSmallPatch16() {
        return builder().embedDim(384).depth(12).numHeads(6).build();
    }

    /** timm {@code deit_base_patch16_224}: 768 wide, 12 blocks, 12 heads. */
    public static VitConfig deitBasePatch16() {
        return builder().embedDim(768).depth(12).numHeads(12).build();
    }

    /** A preset by its timm model name, e.g. {@code deit_tiny_patch16_224}. */
    public static VitConfig preset(String name) {
        switch (name) {
            case "deit_tiny_patch16_224": return deitTinyPatch16();
            case "deit_small_patch16_224": return deitSmallPatch16();
            case "deit_base_patch16_224": return deitBasePatch16();
            default: throw new dev.scalenet.InvalidSettingException("preset", name,
                    "one of deit_tiny_patch16_224, deit_small_patch16_224, deit_base_patch16_224");
        }
    }

    private static final Set<String> TIMM_ARGS = Set.of("img_size", "patch_size", "in_chans", "num_classes",
            "embed_dim", "depth", "num_heads", "mlp_ratio", "qkv_bias", "class_token", "global_pool", "fc_norm");

    /**
     * Reads a timm constructor-argument object (the {@code constructor} object of a fixture JSON, or the
     * whole JSON if it has no such member) on top of {@code defaults}. Unknown arguments are an error.
     */
    public static VitConfig fromTimmArgs(JsonNode args, Builder defaults) {
        JsonNode node = args.has("constructor") ? args.get("constructor") : args;
        if (!node.isObject()) {
            throw new IllegalArgumentException("timm constructor arguments: expected a JSON object, found " + node.getNodeType());
        }
        Builder b = defaults;
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            JsonNode v = e.getValue();
            if (!TIMM_ARGS.contains(key)) {
                throw new IllegalArgumentException("timm constructor argument '" + key
                        + "' is not supported by this port; supported: " + String.join(", ", new java.util.TreeSet<>(TIMM_ARGS)));
            }
            switch (key) {
                case "img_size": b.imgSize(intArg(key, v)); break;
                case "patch_size": b.patchSize(intArg(key, v)); break;
                case "in_chans": b.inChans(intArg(key, v)); break;
                case "num_classes": b.numClasses(intArg(key, v)); break;
                case "embed_dim": b.embedDim(intArg(key, v)); break;
                case "depth": b.depth(intArg(key, v)); break;
                case "num_heads": b.numHeads(intArg(key, v)); break;
                case "mlp_ratio":
                    if (!v.isNumber()) throw badArg(key, v, "a number");
                    b.mlpRatio(v.doubleValue());
                    break;
                case "qkv_bias": b.qkvBias(boolArg(key, v)); break;
                case "class_token": b.classToken(boolArg(key, v)); break;
                case "global_pool":
                    if (!v.isTextual()) throw badArg(key, v, "'token' or 'avg'");
                    b.globalPool(GlobalPool.parse(v.textValue(), key));
                    break;
                case "fc_norm": b.fcNorm(v.isNull() ? null : boolArg(key, v)); break;
                default: throw new AssertionError(key);
            }
        }
        return b.build();
    }

    /** Reads a JSON file of timm constructor arguments; the error names the file. */
    public static VitConfig fromTimmJson(Path file) throws IOException {
        JsonNode node = Json.read(file);
        try {
            return fromTimmArgs(node, builder());
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    private static int intArg(String key, JsonNode v) {
        if (!v.canConvertToExactIntegral() || !v.canConvertToInt()) throw badArg(key, v, "an integer");
        return v.intValue();
    }

    private static boolean boolArg(String key, JsonNode v) {
        if (!v.isBoolean()) throw badArg(key, v, "true or false");
        return v.booleanValue();
    }

    private static IllegalArgumentException badArg(String key, JsonNode v, String expected) {
        return new IllegalArgumentException("timm constructor argument " + key + " = " + v + ", expected " + expected);
    }

    /** The constructor arguments as timm names them, every one explicit. */
    public ObjectNode toTimmArgs() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("img_size", imgSize);
        n.put("patch_size", patchSize);
        n.put("in_chans", inChans);
        n.put("num_classes", numClasses);
        n.put("embed_dim", embedDim);
        n.put("depth", depth);
        n.put("num_heads", numHeads);
        n.put("mlp_ratio", mlpRatio);
        n.put("qkv_bias", qkvBias);
        n.put("class_token", classToken);
        n.put("global_pool", globalPool.timmName());
        n.put("fc_norm", fcNorm);
        return n;
    }

    public int imgSize() { return imgSize; }
    public int patchSize() { return patchSize; }
    public int inChans() { return inChans; }
    public int numClasses() { return numClasses; }
    public int embedDim() { return embedDim; }
    public int depth() { return depth; }
    public int numHeads() { return numHeads; }
    public double mlpRatio() { return mlpRatio; }
    public boolean qkvBias() { return qkvBias; }
    public boolean classToken() { return classToken; }
    public GlobalPool globalPool() { return globalPool; }
    /** Whether a LayerNorm follows pooling ({@code fc_norm}); if so there is no norm before pooling. */
    public boolean fcNorm() { return fcNorm; }

    /** Patches along one side. */
    public int gridSize() { return imgSize / patchSize; }
    public int numPatches() { return gridSize() * gridSize(); }
    /** Tokens entering the blocks: the patches, plus the class token if any. */
    public int numTokens() { return numPatches() + (classToken ? 1 : 0); }
    /** timm: {@code int(embed_dim * mlp_ratio)}. */
    public int mlpHiddenDim() { return (int) (embedDim * mlpRatio); }
    /** Parameters of the model as timm counts them (this depth, no adapters); e.g. 86567656 for ViT-Base/16. */
    public long numParams() { return depth * blockParams() + outsideParams(numTokens()); }

    /** Same architecture at another depth. */
    public VitConfig withDepth(int newDepth) {
        return toBuilder().depth(newDepth).build();
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof VitConfig)) return false;
        VitConfig c = (VitConfig) o;
        return imgSize == c.imgSize && patchSize == c.patchSize && inChans == c.inChans && numClasses == c.numClasses
                && embedDim == c.embedDim && depth == c.depth && numHeads == c.numHeads
                && Double.compare(mlpRatio, c.mlpRatio) == 0 && qkvBias == c.qkvBias && classToken == c.classToken
                && globalPool == c.globalPool && fcNorm == c.fcNorm;
    }

    @Override
    public int hashCode() {
        return Objects.hash(imgSize, patchSize, inChans, numClasses, embedDim, depth, numHeads, mlpRatio, qkvBias,
                classToken, globalPool, fcNorm);
    }

    @Override
    public String toString() {
        Map<String, Object> m = new LinkedHashMap<>();
        toTimmArgs().fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue()));
        return "VitConfig" + m;
    }

    /** Defaults are timm's: 224 px, patch 16, 3 channels, 1000 classes, ViT-Base width and depth. */
    public static final class Builder {
        private int imgSize = 224;
        private int patchSize = 16;
        private int inChans = 3;
        private int numClasses = 1000;
        private int embedDim = 768;
        private int depth = 12;
        private int numHeads = 12;
        private double mlpRatio = 4.0;
        private boolean qkvBias = true;
        private boolean classToken = true;
        private GlobalPool globalPool = GlobalPool.TOKEN;
        private Boolean fcNorm = null;

        private Builder() {}

        public Builder imgSize(int v) { imgSize = v; return this; }
        public Builder patchSize(int v) { patchSize = v; return this; }
        public Builder inChans(int v) { inChans = v; return this; }
        public Builder numClasses(int v) { numClasses = v; return this; }
        public Builder embedDim(int v) { embedDim = v; return this; }
        public Builder depth(int v) { depth = v; return this; }
        public Builder numHeads(int v) { numHeads = v; return this; }
        public Builder mlpRatio(double v) { mlpRatio = v; return this; }
        public Builder qkvBias(boolean v) { qkvBias = v; return this; }
        public Builder classToken(boolean v) { classToken = v; return this; }
        public Builder globalPool(GlobalPool v) { globalPool = Objects.requireNonNull(v); return this; }
        /** {@code null} means timm's default: true exactly when pooling is {@code avg}. */
        public Builder fcNorm(Boolean v) { fcNorm = v; return this; }

        public VitConfig build() { return new VitConfig(this); }
    }
}
