package dev.scalenet.vit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.data.ClassNames;
import dev.scalenet.data.DataConfig;
import dev.scalenet.io.AtomicFiles;
import dev.scalenet.io.Checkpoint;
import dev.scalenet.io.Json;
import dev.scalenet.io.SafeTensors;
import dev.scalenet.layers.ScaleNetBlocks;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * A ViT graph together with what it takes to use it: its preprocessing ({@link DataConfig}, timm's
 * {@code pretrained_cfg}) and its class names. Two file forms:
 * <ul>
 *   <li>a DL4J {@code ModelSerializer} zip, loadable by plain DL4J code with this library on the class path,
 *       carrying the metadata as the extra JSON entry {@value #METADATA}; read without Java deserialization and
 *       with bounded sizes ({@link ModelZip});</li>
 *   <li>a timm {@code .safetensors} state dict with a JSON beside it (same name, {@code .json}) holding
 *       {@code constructor} (timm's arguments), {@code pretrained_cfg} and {@code label_names}.</li>
 * </ul>
 */
public final class VitModel {
    /** The zip entry of the metadata (JSON) in a saved model. */
    public static final String METADATA = ModelZip.METADATA;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final ComputationGraph graph;
    private final DataConfig dataConfig;
    private final List<String> classNames;

    /**
     * @param dataConfig null for the default of the model's input: ImageNet mean/std for 3 channels, else 0.5/0.5
     * @param classNames null for "0".."K-1"
     */
    public VitModel(ComputationGraph graph, DataConfig dataConfig, List<String> classNames) {
        this.graph = Objects.requireNonNull(graph, "graph");
        VitConfig c = ModelValidation.check(graph);
        this.dataConfig = dataConfig != null ? dataConfig : defaultDataConfig(c);
        if (this.dataConfig.channels() != c.inChans() || this.dataConfig.height() != c.imgSize() || this.dataConfig.width() != c.imgSize()) {
            throw new IllegalArgumentException("pretrained_cfg input_size [" + this.dataConfig.channels() + ", "
                    + this.dataConfig.height() + ", " + this.dataConfig.width() + "] does not match the model's input ["
                    + c.inChans() + ", " + c.imgSize() + ", " + c.imgSize() + "]");
        }
        List<String> names = classNames != null ? classNames : numbered(c.numClasses());
        if (names.size() != c.numClasses()) {
            throw new IllegalArgumentException("label_names has " + names.size() + " names but the model's head has "
                    + c.numClasses() + " classes");
        }
        ClassNames.check(names, i -> "label_names[" + i + "]"); // the rule of a dataset's classes.txt too
        this.classNames = Collections.unmodifiableList(new ArrayList<>(names));
    }

    public ComputationGraph graph() { return graph; }
    public VitConfig config() { return VisionTransformer.configOf(graph); }
    public DataConfig dataConfig() { return dataConfig; }
    public List<String> classNames() { return classNames; }

    /** The same metadata on another graph (e.g. an expansion of this one). */
    public VitModel withGraph(ComputationGraph other) {
        return new VitModel(other, dataConfig, classNames);
    }

    private static DataConfig defaultDataConfig(VitConfig c) {
        if (c.inChans() == 3) return DataConfig.imagenet(c.imgSize()).withCropPct(DataConfig.DEFAULT_CROP_PCT);
        double[] half = new double[c.inChans()];
        Arrays.fill(half, 0.5);
        return DataConfig.of(c.inChans(), c.imgSize(), c.imgSize(), half, half);
    }

    private static List<String> numbered(int k) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < k; i++) names.add(String.valueOf(i));
        return names;
    }

    /**
     * Reads a model zip or a timm {@code .safetensors} (told apart by their first bytes). For safetensors,
     * {@code sidecarJson} (null: {@code <name>.json} beside the file, if present) supplies timm's constructor
     * arguments, {@code pretrained_cfg} and {@code label_names}.
     */
    public static VitModel load(Path file, Path sidecarJson) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(file.toAbsolutePath() + ": model file not found (expected a DL4J model zip or a timm .safetensors)");
        }
        if (Files.size(file) < 4) throw new IOException(file.toAbsolutePath() + ": too short to be a model file");
        if (isModelZip(file)) return loadZip(file);
        Path sidecar = sidecarJson != null ? sidecarJson : sibling(file, ".json");
        JsonNode meta = null;
        if (sidecarJson != null || Files.isRegularFile(sidecar)) {
            meta = Json.read(sidecar);
        }
        Checkpoint ckpt = SafeTensors.read(file);
        // the sidecar is either our metadata (constructor + pretrained_cfg + label_names) or bare timm arguments
        JsonNode timmArgs = meta == null ? null : meta.has("constructor") ? meta.get("constructor")
                : meta.has("pretrained_cfg") || meta.has("label_names") ? null : meta;
        VitConfig config = TimmCheckpoint.inferConfig(ckpt, timmArgs);
        VisionTransformer.Builder builder = VisionTransformer.builder().config(config);
        JsonNode stack = meta == null ? null : meta.get("scalenet");
        if (stack != null && stack.has("order")) {
            // an exported expansion: rebuild the shared stack, then fill() checks every copy of a shared tensor agrees
            StackSidecar.apply(sidecar, stack, ckpt, config, builder);
        }
        ComputationGraphConfiguration conf;
        try {
            conf = builder.build().conf();
        } catch (IllegalArgumentException e) {
            throw new IOException(sidecar.toAbsolutePath() + ": " + e.getMessage(), e);
        }
        ComputationGraph graph = TimmCheckpoint.build(conf, ckpt);
        try {
            return fromMetadata(graph, meta);
        } catch (IllegalArgumentException e) {
            throw new IOException(sidecar.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    /** Whether {@code file} is a zip (a saved model) rather than safetensors, by its first bytes. */
    public static boolean isModelZip(Path file) throws IOException {
        byte[] head = new byte[4];
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(head, 0, 4) == 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
        }
    }

    /**
     * A freshly initialised model (timm's initialisation, seeded) from metadata as {@link #metadata()} writes it:
     * {@code constructor} (required), {@code pretrained_cfg} and {@code label_names} (optional).
     */
    public static VitModel create(JsonNode metadata, long seed) {
        if (metadata == null || !metadata.has("constructor")) {
            throw new IllegalArgumentException("model metadata needs a \"constructor\" object of timm ViT arguments");
        }
        VitConfig config = VitConfig.fromTimmArgs(metadata.get("constructor"), VitConfig.builder());
        return fromMetadata(VisionTransformer.builder().config(config).seed(seed).build().init(), metadata);
    }

    private static VitModel loadZip(Path file) throws ModelZipException {
        ModelZip.Contents zip = ModelZip.read(file); // checked its graph with ModelValidation
        try {
            return fromMetadata(zip.graph(), zip.metadata());
        } catch (RuntimeException e) {
            // DataConfig and the constructor check the metadata's fields with IllegalArgumentException; a field of
            // the wrong JSON type may surface as another runtime exception
            throw new ModelZipException(file.toAbsolutePath() + " (entry " + zip.metadataEntry() + "): " + e.getMessage(), e);
        }
    }

    private static VitModel fromMetadata(ComputationGraph graph, JsonNode meta) {
        if (meta == null) return new VitModel(graph, null, null);
        DataConfig data = meta.has("pretrained_cfg") ? DataConfig.fromJson(meta.get("pretrained_cfg")) : null;
        return new VitModel(graph, data, meta.has("label_names") ? labelNames(meta.get("label_names")) : null);
    }

    /** {@code label_names} as strings; the constructor checks how many there are and that they are distinct names. */
    private static List<String> labelNames(JsonNode node) {
        if (!node.isArray()) {
            throw new IllegalArgumentException("label_names = " + shown(node) + ": expected an array of class names, one per class");
        }
        List<String> names = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            JsonNode n = node.get(i);
            if (!n.isTextual()) {
                throw new IllegalArgumentException("label_names[" + i + "] = " + shown(n) + ": expected a string (a class name)");
            }
            names.add(n.textValue());
        }
        return names;
    }

    /** A JSON value for a message: short ones as they are, strings and containers by their kind (they may be long). */
    private static String shown(JsonNode n) {
        if (n.isObject()) return "an object";
        if (n.isArray()) return "an array";
        if (n.isTextual()) return "a string";
        return n.toString();
    }

    /** The metadata JSON: timm constructor arguments, pretrained_cfg, label_names, and the ScaleNet stack. */
    public ObjectNode metadata() {
        ObjectNode o = JSON.createObjectNode();
        VitConfig c = config();
        ScaleNetBlocks blocks = VisionTransformer.blocksOf(graph);
        ObjectNode constructor = c.toTimmArgs();
        constructor.put("depth", blocks.depth()); // the deep model's depth, as timm would build it
        o.set("constructor", constructor);
        o.set("pretrained_cfg", dataConfig.toJson());
        ArrayNode names = o.putArray("label_names");
        classNames.forEach(names::add);
        ObjectNode scalenet = o.putObject("scalenet");
        scalenet.put("base_depth", c.depth());
        ArrayNode order = scalenet.putArray("order");
        for (int s : blocks.getOrder()) order.add(s);
        scalenet.put("adapter_rank", blocks.getAdapterRank());
        scalenet.put("adapter_scale", blocks.getAdapterScale());
        scalenet.put("untied_norms", blocks.isUntiedNorms());
        scalenet.put("gates", blocks.isGates());
        scalenet.put("adapters_everywhere", blocks.isAdaptersEverywhere());
        if (blocks.getInsertedPositions() != null) {
            ArrayNode inserted = scalenet.putArray("inserted_positions");
            for (int j : blocks.getInsertedPositions()) inserted.add(j);
        }
        return o;
    }

    /**
     * Writes a model zip (no optimizer state) through the project's atomic writer: DL4J's {@code ModelSerializer}
     * entries, so plain DL4J restores the graph, and the metadata as the JSON entry {@value #METADATA}.
     */
    public void save(Path zip) throws IOException {
        ModelZip.write(zip, graph, metadata());
    }

    /**
     * Writes timm's form: the state dict ({@link TimmCheckpoint#save}) and {@code <name>.json} beside it with
     * the metadata. Position {@code j} of an expanded stack is {@code blocks.j.*}; its adapters, which plain timm
     * does not have, are {@code blocks.j.adapter.*}.
     */
    public void exportTimm(Path safetensors) throws IOException {
        TimmCheckpoint.save(graph, safetensors);
        AtomicFiles.writeString(sibling(safetensors, ".json"), JSON.writeValueAsString(metadata()) + "\n");
    }

    /** timm's logits, {@code [batch, classes]}; the graph's {@code output()} is their softmax. */
    public org.nd4j.linalg.api.ndarray.INDArray logits(org.nd4j.linalg.api.ndarray.INDArray pixels) {
        return Features.logits(graph, pixels);
    }

    /** timm's {@code forward_features(x)}: tokens after the last block and the final norm, {@code [batch, tokens, dim]}. */
    public org.nd4j.linalg.api.ndarray.INDArray forwardFeatures(org.nd4j.linalg.api.ndarray.INDArray pixels) {
        return Features.of(graph, pixels).tokens();
    }

    /** timm's {@code forward_head(x, pre_logits=True)}: the pooled features the head reads, {@code [batch, dim]}. */
    public org.nd4j.linalg.api.ndarray.INDArray preLogits(org.nd4j.linalg.api.ndarray.INDArray pixels) {
        return Features.of(graph, pixels).preLogits();
    }

    /** Tokens, pre-logits and logits of one inference pass ({@link Features}). */
    public Features features(org.nd4j.linalg.api.ndarray.INDArray pixels) {
        return Features.of(graph, pixels);
    }

    /** {@code dir/stem.safetensors} -> {@code dir/stem<suffix>}. */
    public static Path sibling(Path file, String suffix) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return file.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + suffix);
    }
}
