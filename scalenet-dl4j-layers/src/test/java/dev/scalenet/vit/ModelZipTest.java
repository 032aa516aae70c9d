package dev.scalenet.vit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.data.DataConfig;
import dev.scalenet.layers.ScaleNetBlocks;
import dev.scalenet.layers.VitLayerConf;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model zip is untrusted input (it arrives by Maven coordinates): it is read without Java deserialization, with
 * bounded sizes, and every bad one fails with a {@link ModelZipException} naming the file, the entry and what was
 * expected.
 */
class ModelZipTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> LABELS = List.of("a", "b", "c", "d", "e", "f", "g", "h", "i", "j");
    private static VitModel model;

    @TempDir
    Path dir;

    @BeforeAll
    static void micro() throws IOException {
        TimmFixtures.Model micro = TimmFixtures.models().stream()
                .filter(m -> m.name.equals("vit-micro-p7-d4")).findFirst().orElseThrow();
        model = new VitModel(VitModel.load(micro.weights(), micro.constructorJson()).graph(), DataConfig.fashionMnist(),
                LABELS);
    }

    @Test
    @DisplayName("save writes exactly configuration.json, coefficients.bin and scalenet.json, with a normal file's mode,"
            + " and the same bytes for the same model")
    void layout() throws Exception {
        Path zip = dir.resolve("m.zip");
        model.save(zip);
        assertEquals(List.of(ModelZip.CONFIGURATION, ModelZip.COEFFICIENTS, ModelZip.METADATA),
                List.copyOf(entries(zip).keySet()));
        Path plain = Files.createFile(dir.resolve("plain"));
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(zip));
        VitModel back = VitModel.load(zip, null);
        assertEquals(model.graph().params(), back.graph().params());
        assertEquals(LABELS, back.classNames());
        Path again = dir.resolve("again.zip");
        Thread.sleep(2100); // past the 2-second resolution of zip timestamps
        back.save(again);
        assertArrayEquals(Files.readAllBytes(zip), Files.readAllBytes(again), "the same model gives the same bytes");
    }

    @Test
    @DisplayName("a version 0.1 zip (metadata as a serialized String) still loads, decoded by hand")
    void legacyMetadata() throws Exception {
        Path zip = dir.resolve("old.zip");
        ModelSerializer.writeModel(model.graph(), zip.toFile(), false);
        // exactly what version 0.1's save did; DL4J stores it as objects/<key>
        ModelSerializer.addObjectToFile(zip.toFile(), "scalenet-metadata", model.metadata().toString());
        VitModel back = VitModel.load(zip, null);
        assertEquals(LABELS, back.classNames());
        assertEquals(DataConfig.fashionMnist(), back.dataConfig());
    }

    @Test
    @Timeout(20)
    @DisplayName("a nested-HashSet payload in the old metadata entry is rejected at once, never deserialized")
    void deserializationBomb() throws Exception {
        Map<String, byte[]> entries = entries(saved());
        entries.remove(ModelZip.METADATA);
        entries.put(ModelZip.LEGACY_METADATA, serialized(nestedSets(100)));
        String message = rejected(entries);
        assertTrue(message.contains("entry " + ModelZip.LEGACY_METADATA) && message.contains("re-export"), message);
    }

    @Test
    @DisplayName("an entry that inflates past its bound stops there, whether or not the zip declares its real size")
    void zipBomb() throws Exception {
        Map<String, byte[]> entries = entries(saved());
        entries.put(ModelZip.METADATA, new byte[64 << 20]); // 64 MiB of zeros deflate to about 64 KB
        Path honest = zip("honest.zip", entries);
        String declared = assertThrows(ModelZipException.class, () -> VitModel.load(honest, null)).getMessage();
        assertTrue(declared.contains("honest.zip (entry scalenet.json): declares 67108864 bytes uncompressed: expected"
                + " at most " + ModelZip.MAX_METADATA_BYTES), declared);
        Path lying = declareSize(zip("lying.zip", entries), ModelZip.METADATA, 100);
        String inflated = assertThrows(ModelZipException.class, () -> VitModel.load(lying, null)).getMessage();
        assertTrue(inflated.contains("lying.zip (entry scalenet.json): inflates to more than "
                + ModelZip.MAX_METADATA_BYTES + " bytes"), inflated);
    }

    @Test
    @Timeout(20)
    @DisplayName("coefficients whose header claims a huge array are rejected before anything that size is allocated")
    void hugeArrayClaims() throws Exception {
        long params = model.graph().numParams();
        Map<String, byte[]> entries = entries(saved());
        entries.put(ModelZip.COEFFICIENTS, coefficients(new long[] {2, 1L << 40, 1L << 40, 1L << 40, 1, 0, 1, 99}, 1L << 40));
        String shape = rejected(entries);
        assertTrue(shape.contains("entry coefficients.bin") && shape.contains("the shape's size overflows"), shape);
        entries.put(ModelZip.COEFFICIENTS, coefficients(new long[] {2, 1, params, params, 1, 0, 1, 99}, Long.MAX_VALUE));
        String data = rejected(entries);
        assertTrue(data.contains("entry coefficients.bin): data buffer of " + Long.MAX_VALUE + " values: expected the "
                + params + " parameters"), data);
        entries.put(ModelZip.COEFFICIENTS, coefficients(new long[] {2, 1, params, params, 1, 0, 1, 99}, params));
        String truncated = rejected(entries);
        assertTrue(truncated.contains("entry coefficients.bin): truncated: ends before the " + params + " parameters"),
                truncated);

        // a configuration whose head has 5 M classes (165 M parameters, 660 MB) with coefficients that agree but stop
        String config = new String(entries.get(ModelZip.CONFIGURATION), StandardCharsets.UTF_8);
        entries.put(ModelZip.CONFIGURATION, config.replaceFirst("\"nout\" : 10\\b", "\"nout\" : 5000000")
                .getBytes(StandardCharsets.UTF_8));
        long claimed = params + (model.config().embedDim() + 1) * (5_000_000L - 10); // the head's weights and biases
        entries.put(ModelZip.COEFFICIENTS, coefficients(new long[] {2, 1, claimed, claimed, 1, 0, 1, 99}, claimed));
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        String big = rejected(entries);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(big.contains("entry coefficients.bin): truncated: ends before the " + claimed + " parameters"), big);
        // parsing the configuration and building the messages take a few MB; the claim is 660 MB
        assertTrue(allocated < (64 << 20), "allocated " + allocated + " bytes");
    }

    @Test
    @DisplayName("coefficients: float64 values load as float32; a NaN, a trailing byte or an older buffer format fail")
    void coefficientValues() throws Exception {
        Map<String, byte[]> entries = entries(saved());
        float[] params = model.graph().params().toFloatVector();
        long n = params.length;
        long[] shapeInfo = {2, 1, n, n, 1, 0, 1, 99};
        ByteArrayOutputStream doubles = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(doubles)) {
            out.write(coefficients(shapeInfo, n, "DOUBLE"));
            for (float v : params) out.writeDouble(v);
        }
        entries.put(ModelZip.COEFFICIENTS, doubles.toByteArray());
        assertEquals(model.graph().params(), VitModel.load(zip("doubles.zip", entries), null).graph().params());

        byte[] floats = coefficients(shapeInfo, n, "FLOAT");
        byte[] nan = Arrays.copyOf(floats, floats.length + 4 * params.length);
        ByteBuffer.wrap(nan, floats.length + 4 * 7, 4).putFloat(Float.NaN); // big-endian, as ND4J writes
        entries.put(ModelZip.COEFFICIENTS, nan);
        assertTrue(rejected(entries).contains("(entry coefficients.bin): value 7 is NaN: expected finite values"));

        byte[] trailing = Arrays.copyOf(floats, floats.length + 4 * params.length + 1);
        entries.put(ModelZip.COEFFICIENTS, trailing);
        assertTrue(rejected(entries).contains("(entry coefficients.bin): trailing bytes after the " + n + " values"));

        byte[] heap = coefficients(shapeInfo, n, "FLOAT");
        entries.put(ModelZip.COEFFICIENTS, concat(new byte[] {0, 4}, "HEAP".getBytes(StandardCharsets.UTF_8),
                Arrays.copyOfRange(heap, 2 + "MIXED_DATA_TYPES".length(), heap.length)));
        assertTrue(rejected(entries).contains("shape buffer has allocation mode 'HEAP': expected one of"
                + " [MIXED_DATA_TYPES, LONG_SHAPE] (older ND4J formats are not read)"));
    }

    @Test
    @DisplayName("a truncated zip, missing entries, foreign classes and deep JSON each get a named error")
    void malformed() throws Exception {
        byte[] whole = Files.readAllBytes(saved());
        Path cut = Files.write(dir.resolve("cut.zip"), Arrays.copyOf(whole, whole.length / 2));
        String truncated = assertThrows(ModelZipException.class, () -> VitModel.load(cut, null)).getMessage();
        assertTrue(truncated.contains("cut.zip: not a readable zip"), truncated);

        Map<String, byte[]> entries = entries(saved());
        Map<String, byte[]> noConfig = new LinkedHashMap<>(entries);
        noConfig.remove(ModelZip.CONFIGURATION);
        assertTrue(rejected(noConfig).contains(": no entry configuration.json: expected a model zip with"));
        Map<String, byte[]> noParams = new LinkedHashMap<>(entries);
        noParams.remove(ModelZip.COEFFICIENTS);
        assertTrue(rejected(noParams).contains(": no entry coefficients.bin: expected a model zip with"));

        Map<String, byte[]> foreign = new LinkedHashMap<>(entries);
        foreign.put(ModelZip.CONFIGURATION, new String(entries.get(ModelZip.CONFIGURATION), StandardCharsets.UTF_8)
                .replaceFirst("\"@class\" *: *\"[^\"]*\"", "\"@class\":\"javax.script.ScriptEngineManager\"")
                .getBytes(StandardCharsets.UTF_8));
        String type = rejected(foreign);
        assertTrue(type.contains("(entry configuration.json): names the class 'javax.script.ScriptEngineManager'"), type);

        Map<String, byte[]> deep = new LinkedHashMap<>(entries);
        deep.put(ModelZip.METADATA, ("[".repeat(100_000) + "]".repeat(100_000)).getBytes(StandardCharsets.UTF_8));
        String nesting = rejected(deep);
        assertTrue(nesting.contains("(entry scalenet.json): not valid JSON: nested deeper than 64 levels at line "), nesting);

        Map<String, byte[]> wrongMeta = new LinkedHashMap<>(entries);
        wrongMeta.put(ModelZip.METADATA, "{\"label_names\": [\"only one\"]}".getBytes(StandardCharsets.UTF_8));
        String labels = rejected(wrongMeta);
        assertTrue(labels.contains("(entry scalenet.json): label_names has 1 names but the model's head has 10 classes"),
                labels);
    }

    @Test
    @DisplayName("the metadata has one meaning: a key given twice or a second value after it is refused, naming the file, the entry"
            + " and the key")
    void strictMetadata() throws Exception {
        Map<String, byte[]> entries = entries(saved());
        String meta = new String(entries.get(ModelZip.METADATA), StandardCharsets.UTF_8);
        assertTrue(meta.startsWith("{") && meta.contains("\"label_names\""), meta);
        Map<String, byte[]> twice = new LinkedHashMap<>(entries); // with the key twice, Jackson's default reads the last one
        twice.put(ModelZip.METADATA, ("{\"label_names\": [\"only one\"]," + meta.substring(1)).getBytes(StandardCharsets.UTF_8));
        String dup = rejected(twice);
        assertTrue(dup.contains("(entry scalenet.json): not valid JSON: the key 'label_names' appears a"
                + " second time at line "), dup);
        Map<String, byte[]> trailing = new LinkedHashMap<>(entries);
        trailing.put(ModelZip.METADATA, (meta + "\n{}").getBytes(StandardCharsets.UTF_8));
        String after = rejected(trailing);
        assertTrue(after.contains("(entry scalenet.json): not valid JSON: content after the JSON value at"
                + " line "), after);
    }

    @Test
    @DisplayName("a configuration that parses but means nothing gets the field and what was expected, before any allocation")
    void meaning() throws Exception {
        int width = model.config().embedDim();
        int blocks = model.config().depth();
        assertEquals("vertex 'blocks': order[1] = 99: expected a source block index 0.." + (blocks - 1),
                meaningless(c -> ints(layer(c, "blocks"), "order").set(1, 99)));
        assertEquals("vertex 'blocks': order = []: expected 1 to " + ScaleNetBlocks.MAX_DEPTH + " source block indices",
                meaningless(c -> ints(layer(c, "blocks"), "order").removeAll()));
        assertEquals("vertex 'blocks': adapterRank = -1: expected 0 (no adapters) to embedDim " + width + " (a bottleneck)",
                meaningless(c -> layer(c, "blocks").put("adapterRank", -1)));
        assertEquals("vertex 'blocks': adapterScale = 1.0E308: expected a number from -1000 to 1000",
                meaningless(c -> layer(c, "blocks").put("adapterScale", 1e308))); // finite as a double, not as the kernels' float
        assertEquals("vertex 'blocks': embedDim = " + width + ": expected " + width / 2 + ", the embedDim of vertex"
                        + " 'patchEmbed' (one width from patch embedding to head)",
                meaningless(c -> layer(c, "patchEmbed").put("embedDim", width / 2)));
        assertEquals("vertex 'head': nIn = 7: expected " + width + ", the embedDim of vertex 'patchEmbed' (one width from"
                + " patch embedding to head)", meaningless(c -> layer(c, "head").put("nin", 7)));
        assertEquals("vertex 'pool': numPrefixTokens = 5: expected 1 with a class token, else 0",
                meaningless(c -> layer(c, "pool").put("numPrefixTokens", 5)));
        assertEquals("vertex 'pool': inputs = [patchEmbed]: expected [blocks]",
                meaningless(c -> ((ObjectNode) c.get("vertexInputs")).putArray("pool").add("patchEmbed")));
        assertEquals("vertex 'patchEmbed': patchSize = 0: expected a positive divisor of imgSize "
                + model.config().imgSize(), meaningless(c -> layer(c, "patchEmbed").put("patchSize", 0)));
        assertEquals("vertex 'patchEmbed': imgSize / patchSize = 65536 / 1: expected a token count (4294967297) whose"
                + " position embedding of width " + width + " holds at most " + VitLayerConf.MAX_TENSOR_VALUES + " values",
                meaningless(c -> layer(c, "patchEmbed").put("imgSize", 65536).put("patchSize", 1)));
        assertEquals("vertex 'head': activationFn = relu: expected softmax (or identity, in models written before 0.2)",
                meaningless(c -> ((ObjectNode) layer(c, "head").get("activationFn")).put("@class",
                        "org.nd4j.linalg.activations.impl.ActivationReLU")));
    }

    @Test
    @DisplayName("a head whose class count times its width wraps round a long is refused, not taken for a few classes")
    void headClassesOverflow() throws Exception {
        int width = model.config().embedDim();
        // (2^62 + 10) x 32 wraps round to 320
        assertEquals("vertex 'head': nOut = 4611686018427387914: expected 2 or more classes, at most "
                + VitLayerConf.MAX_TENSOR_VALUES / width + " for width " + width,
                meaningless(c -> layer(c, "head").put("nout", (1L << 62) + 10)));
    }

    @Test
    @DisplayName("a layer with input dropout, weight noise, constraints or gradient normalization, which this library's"
            + " graphs never have, is refused naming the vertex and the field")
    void layerExtras() throws Exception {
        assertEquals("vertex 'head': iDropout = Dropout: expected none", meaningless(c -> layer(c, "head")
                .putObject("idropout").put("@class", "org.deeplearning4j.nn.conf.dropout.Dropout").put("p", 0.5)));
        assertEquals("vertex 'blocks': weightNoise = DropConnect: expected none", meaningless(c -> layer(c, "blocks")
                .putObject("weightNoise").put("@class", "org.deeplearning4j.nn.conf.weightnoise.DropConnect")
                .put("weightRetainProb", 0.5)));
        assertEquals("vertex 'patchEmbed': constraints = [NonNegativeConstraint]: expected none",
                meaningless(c -> layer(c, "patchEmbed").putArray("constraints").addObject()
                        .put("@class", "org.deeplearning4j.nn.conf.constraint.NonNegativeConstraint")));
        assertEquals("vertex 'pool': gradientNormalization = ClipElementWiseAbsoluteValue: expected none",
                meaningless(c -> layer(c, "pool").put("gradientNormalization", "ClipElementWiseAbsoluteValue")));
    }

    @Test
    @DisplayName("a head without a bias is refused, even with coefficients that agree: the logits read the head's bias")
    void headWithoutBias() throws Exception {
        Map<String, byte[]> entries = entries(saved());
        ObjectNode conf = (ObjectNode) JSON.readTree(entries.get(ModelZip.CONFIGURATION));
        layer(conf, "head").put("hasBias", false);
        entries.put(ModelZip.CONFIGURATION, JSON.writeValueAsBytes(conf));
        // the head's bias is the last of the flattened parameters
        float[] params = model.graph().params().toFloatVector();
        long n = params.length - model.config().numClasses();
        ByteArrayOutputStream coefficients = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(coefficients)) {
            out.write(coefficients(new long[] {2, 1, n, n, 1, 0, 1, 99}, n, "FLOAT"));
            for (int i = 0; i < n; i++) out.writeFloat(params[i]);
        }
        entries.put(ModelZip.COEFFICIENTS, coefficients.toByteArray());
        assertEquals(dir.resolve("bad.zip").toAbsolutePath() + " (entry " + ModelZip.CONFIGURATION
                + "): vertex 'head': hasBias = false: expected true", rejected(entries));
    }

    @Test
    @DisplayName("label_names is an array of distinct, non-blank strings, one per class")
    void labelNames() throws Exception {
        String prefix = dir.resolve("bad.zip").toAbsolutePath() + " (entry " + ModelZip.METADATA + "): ";
        assertEquals(prefix + "label_names = an object: expected an array of class names, one per class", labels("{}"));
        assertEquals(prefix + "label_names = null: expected an array of class names, one per class", labels("null"));
        assertEquals(prefix + "label_names[1] = null: expected a string (a class name)",
                labels("[\"a\", null, \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\", \"j\"]"));
        assertEquals(prefix + "label_names[9] = an object: expected a string (a class name)",
                labels("[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\", {}]"));
        assertEquals(prefix + "label_names[2] = ' ': expected a class name (not blank)",
                labels("[\"a\", \"b\", \" \", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\", \"j\"]"));
        assertEquals(prefix + "label_names[9] = 'a' repeats label_names[0]: expected one name per class",
                labels("[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\", \"a\"]"));
    }

    /** The error for the saved model with {@code label_names} (JSON text) as its whole metadata. */
    private String labels(String json) throws IOException {
        Map<String, byte[]> entries = entries(saved());
        entries.put(ModelZip.METADATA, ("{\"label_names\": " + json + "}").getBytes(StandardCharsets.UTF_8));
        return rejected(entries);
    }

    @Test
    @DisplayName("a type id naming a foreign class is refused in Jackson's wrapper-array form too, before the class loads")
    void wrapperArrayTypeId() throws Exception {
        String message = meaningless(c -> {
            ObjectNode head = layer(c, "head");
            head.remove("@class");
            ((ObjectNode) c.get("vertices").get("head").get("layerConf")).set("layer",
                    JSON.createArrayNode().add("org.example.TypeIdMarker").add(head));
        });
        assertEquals("names the class 'org.example.TypeIdMarker': expected classes of [org.deeplearning4j., org.nd4j.,"
                + " dev.scalenet.]", message);
        assertEquals(null, System.getProperty("scalenet.test.TypeIdMarker.loaded"), "the class was never loaded");
    }

    @Test
    @DisplayName("one zip, one meaning: a name twice, or a local header that disagrees with the directory, is rejected")
    void oneMeaning() throws Exception {
        Map<String, byte[]> entries = entries(saved());
        Map<String, byte[]> twice = new LinkedHashMap<>();
        twice.put(ModelZip.CONFIGURATION, entries.get(ModelZip.CONFIGURATION));
        twice.put(ModelZip.COEFFICIENTS, entries.get(ModelZip.COEFFICIENTS));
        twice.put("scalenet.jsoo", entries.get(ModelZip.METADATA));
        twice.put(ModelZip.METADATA, entries.get(ModelZip.METADATA));
        Path duplicate = rename(zip("twice.zip", twice), "scalenet.jsoo", ModelZip.METADATA, true);
        String dup = assertThrows(ModelZipException.class, () -> VitModel.load(duplicate, null)).getMessage();
        assertEquals(duplicate.toAbsolutePath() + " (entry scalenet.json): appears twice in the zip: expected each entry"
                + " once (readers disagree on which of the two they read)", dup);

        Path local = rename(zip("local.zip", entries), ModelZip.METADATA, "scalenet.jsoo", false);
        String header = assertThrows(ModelZipException.class, () -> VitModel.load(local, null)).getMessage();
        assertEquals(local.toAbsolutePath() + " (entry scalenet.json): its local header disagrees with the central"
                + " directory (name 'scalenet.jsoo'): expected one description of each entry", header);

        // bytes before the directory that no directory entry covers: a local entry only streaming readers would see
        byte[] whole = Files.readAllBytes(zip("hidden.zip", entries));
        ByteBuffer eocd = ByteBuffer.wrap(whole, whole.length - 22, 22).slice().order(ByteOrder.LITTLE_ENDIAN);
        int dirAt = eocd.getInt(16);
        eocd.putInt(16, dirAt + 10);
        Path hidden = Files.write(dir.resolve("hidden.zip"), concat(Arrays.copyOf(whole, dirAt), new byte[10],
                Arrays.copyOfRange(whole, dirAt, whole.length)));
        String gap = assertThrows(ModelZipException.class, () -> VitModel.load(hidden, null)).getMessage();
        assertEquals(hidden.toAbsolutePath() + ": not a readable zip (expected a model zip with configuration.json and"
                + " coefficients.bin): 10 bytes between the last entry and the central directory: expected none (they"
                + " would be an entry only streaming readers see)", gap);
    }

    /** The error (without the file and entry, which are asserted) for the saved model with its configuration edited. */
    private String meaningless(java.util.function.Consumer<ObjectNode> edit) throws IOException {
        Map<String, byte[]> entries = entries(saved());
        ObjectNode conf = (ObjectNode) JSON.readTree(entries.get(ModelZip.CONFIGURATION));
        edit.accept(conf);
        entries.put(ModelZip.CONFIGURATION, JSON.writeValueAsBytes(conf));
        String message = rejected(entries);
        String prefix = dir.resolve("bad.zip").toAbsolutePath() + " (entry " + ModelZip.CONFIGURATION + "): ";
        assertTrue(message.startsWith(prefix), message);
        return message.substring(prefix.length());
    }

    private static ObjectNode layer(ObjectNode conf, String vertex) {
        return (ObjectNode) conf.get("vertices").get(vertex).get("layerConf").get("layer");
    }

    private static com.fasterxml.jackson.databind.node.ArrayNode ints(ObjectNode layer, String field) {
        return (com.fasterxml.jackson.databind.node.ArrayNode) layer.get(field);
    }

    /** Renames every occurrence of an entry's name in the zip's bytes: headers and directory, or the first (local) only. */
    private static Path rename(Path zip, String from, String to, boolean everywhere) throws IOException {
        byte[] b = Files.readAllBytes(zip);
        byte[] f = from.getBytes(StandardCharsets.UTF_8);
        byte[] t = to.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i + f.length <= b.length; i++) {
            if (Arrays.equals(Arrays.copyOfRange(b, i, i + f.length), f)) {
                System.arraycopy(t, 0, b, i, t.length);
                if (!everywhere) break;
            }
        }
        return Files.write(zip, b);
    }

    private Path saved() throws IOException {
        Path zip = dir.resolve("saved.zip");
        if (!Files.exists(zip)) model.save(zip);
        return zip;
    }

    private String rejected(Map<String, byte[]> entries) throws IOException {
        Path zip = zip("bad.zip", entries);
        String message = assertThrows(ModelZipException.class, () -> VitModel.load(zip, null)).getMessage();
        assertTrue(message.contains(zip.toAbsolutePath().toString()), message);
        return message;
    }

    private static Map<String, byte[]> entries(Path zip) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipFile z = new ZipFile(zip.toFile())) {
            for (ZipEntry e : java.util.Collections.list(z.entries())) {
                try (InputStream in = z.getInputStream(e)) {
                    entries.put(e.getName(), in.readAllBytes());
                }
            }
        }
        return entries;
    }

    private Path zip(String name, Map<String, byte[]> entries) throws IOException {
        Path file = dir.resolve(name);
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(file))) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                out.putNextEntry(new ZipEntry(e.getKey()));
                out.write(e.getValue());
                out.closeEntry();
            }
        }
        return file;
    }

    /** Rewrites the uncompressed size that the central directory declares for {@code entry}. */
    private static Path declareSize(Path zip, String entry, int size) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(zip)).order(ByteOrder.LITTLE_ENDIAN);
        byte[] name = entry.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i + 46 + name.length <= b.limit(); i++) {
            if (b.getInt(i) == 0x02014b50 && b.getShort(i + 28) == name.length
                    && Arrays.equals(Arrays.copyOfRange(b.array(), i + 46, i + 46 + name.length), name)) {
                b.putInt(i + 24, size);
                return Files.write(zip, b.array());
            }
        }
        throw new IllegalStateException("no central directory record for " + entry);
    }

    /** ND4J's layout: a LONG shape buffer holding {@code shapeInfo}, then a FLOAT data buffer header and no values. */
    private static byte[] coefficients(long[] shapeInfo, long dataLength) throws IOException {
        return coefficients(shapeInfo, dataLength, "FLOAT");
    }

    /** ND4J's layout up to the values: a LONG shape buffer holding {@code shapeInfo}, then a data buffer header. */
    private static byte[] coefficients(long[] shapeInfo, long dataLength, String dataType) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeUTF("MIXED_DATA_TYPES");
            out.writeLong(shapeInfo.length);
            out.writeUTF("LONG");
            for (long v : shapeInfo) out.writeLong(v);
            out.writeUTF("MIXED_DATA_TYPES");
            out.writeLong(dataLength);
            out.writeUTF(dataType);
        }
        return bytes.toByteArray();
    }

    /** The classic deserialization bomb: 2^depth set hash computations when deserialized. */
    private static Set<Object> nestedSets(int depth) {
        Set<Object> root = new HashSet<>();
        Set<Object> a = root;
        Set<Object> b = new HashSet<>();
        for (int i = 0; i < depth; i++) {
            Set<Object> a2 = new HashSet<>();
            Set<Object> b2 = new HashSet<>();
            a2.add("x");
            a.add(a2);
            a.add(b2);
            b.add(a2);
            b.add(b2);
            a = a2;
            b = b2;
        }
        return root;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    private static byte[] serialized(Object o) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(o);
        }
        return bytes.toByteArray();
    }
}
