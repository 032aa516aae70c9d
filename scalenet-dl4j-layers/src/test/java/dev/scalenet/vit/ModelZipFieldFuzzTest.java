package dev.scalenet.vit;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.fuzz.FuzzFiles;
import org.junit.jupiter.api.Tag;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzing that reaches meaning: each input is a list of edits to the JSON of a <em>valid</em> model zip (a small
 * expanded ViT with adapters and gates), so the zip, the JSON and DL4J's parsing all succeed and what is tested is
 * what the fields mean. An edit picks a document ({@code configuration.json} or {@code scalenet.json}), a place in
 * it (any field or element of the valid model: the dictionary is the model's own structure) and an operation: a
 * number from a list of edge values (0, -1, int bounds, off by one, doubled), a string from the documents' own strings
 * (vertex names, class names, field names) or a foreign class, null, a deletion, a copied subtree (rewiring), an
 * appended element, or the {@code @class} object rewritten in Jackson's wrapper-array form.
 *
 * <p>The contract: the model loads or fails with a {@link ModelZipException} naming the file; a model that loads runs
 * a forward pass to finite logits of the right shape (validation admits only models that work). Without
 * {@code JAZZER_FUZZ} this replays {@code ModelZipFieldFuzzTestInputs/fields/}.
 */
@Tag("fuzz")
class ModelZipFieldFuzzTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, byte[]> VALID = validModel();
    private static final List<String> STRINGS = strings();
    private static final long[] NUMBERS = {0, -1, 1, 2, 3, 4, 7, 8, 9, 16, 255, 65536, 46341, Integer.MAX_VALUE,
            Integer.MIN_VALUE, 1L << 31, 1L << 32, Long.MAX_VALUE, Long.MIN_VALUE};

    private enum Edit { NUMBER, NEAR, STRING, NULL, BOOLEAN, DELETE, COPY, APPEND, WRAP_TYPE_ID, FRACTION }

    @FuzzTest(maxDuration = "3h", maxExecutions = 1_000_000)
    void fields(FuzzedDataProvider data) throws IOException {
        JsonNode configuration = JSON.readTree(VALID.get(ModelZip.CONFIGURATION));
        JsonNode metadata = JSON.readTree(VALID.get(ModelZip.METADATA));
        int edits = data.consumeInt(1, 4);
        for (int i = 0; i < edits && data.remainingBytes() > 0; i++) {
            edit(data.consumeBoolean() ? configuration : metadata, configuration, data);
        }
        Map<String, byte[]> entries = new LinkedHashMap<>(VALID);
        entries.put(ModelZip.CONFIGURATION, JSON.writeValueAsBytes(configuration));
        entries.put(ModelZip.METADATA, JSON.writeValueAsBytes(metadata));
        Path file = FuzzFiles.write("fields.zip", zip(entries));
        VitModel model;
        try {
            model = VitModel.load(file, null);
        } catch (ModelZipException rejected) {
            FuzzFiles.assertNames(rejected, file);
            return;
        }
        VitConfig c = model.config();
        INDArray logits = model.graph().outputSingle(Nd4j.rand(1, c.inChans(), c.imgSize(), c.imgSize()));
        assertTrue(logits.rank() == 2 && logits.size(1) == c.numClasses(), "logits " + logits.shapeInfoToString());
        for (float v : logits.toFloatVector()) assertTrue(Float.isFinite(v), "a model that loads gives finite logits: " + logits);
    }

    /** One edit at a place picked among every field and element of {@code doc}. */
    private static void edit(JsonNode doc, JsonNode anySource, FuzzedDataProvider data) {
        List<Slot> slots = new ArrayList<>();
        collect(doc, slots);
        if (slots.isEmpty()) return;
        Slot at = slots.get(data.consumeInt(0, slots.size() - 1));
        JsonNode old = at.get();
        JsonNodeFactory f = JsonNodeFactory.instance;
        switch (data.pickValue(Edit.values())) {
            case NUMBER: at.set(LongNode.valueOf(data.pickValue(NUMBERS))); break;
            case NEAR: at.set(LongNode.valueOf(old.asLong() + data.consumeInt(-2, 2) * (data.consumeBoolean() ? 1 : old.asLong()))); break;
            case FRACTION: at.set(DoubleNode.valueOf(data.pickValue(new double[] {0.5, -0.5, 1e-9, 1e308, 2.5, 0.0}))); break;
            case STRING: at.set(f.textNode(data.consumeBoolean() ? data.pickValue(STRINGS) : data.consumeString(12))); break;
            case NULL: at.set(f.nullNode()); break;
            case BOOLEAN: at.set(f.booleanNode(!old.asBoolean())); break;
            case DELETE: at.remove(); break;
            case COPY: {
                List<Slot> sources = new ArrayList<>();
                collect(anySource, sources);
                at.set(sources.get(data.consumeInt(0, sources.size() - 1)).get().deepCopy());
                break;
            }
            case APPEND:
                if (old.isArray()) ((ArrayNode) old).add(old.size() > 0 ? old.get(old.size() - 1).deepCopy() : LongNode.valueOf(0));
                break;
            case WRAP_TYPE_ID:
                if (old.isObject() && old.has("@class")) {
                    ObjectNode body = ((ObjectNode) old).deepCopy();
                    String type = body.remove("@class").asText();
                    at.set(f.arrayNode().add(data.consumeBoolean() ? type : data.pickValue(STRINGS)).add(body));
                }
                break;
            default: throw new AssertionError();
        }
    }

    /** A field of an object or an element of an array: the unit an edit works on. */
    private record Slot(JsonNode container, String field, int index) {
        JsonNode get() {
            return field != null ? container.get(field) : container.get(index);
        }

        void set(JsonNode value) {
            if (field != null) ((ObjectNode) container).set(field, value);
            else ((ArrayNode) container).set(index, value);
        }

        void remove() {
            if (field != null) ((ObjectNode) container).remove(field);
            else ((ArrayNode) container).remove(index);
        }
    }

    private static void collect(JsonNode node, List<Slot> into) {
        if (node.isObject()) {
            for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                String name = it.next();
                into.add(new Slot(node, name, -1));
                collect(node.get(name), into);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                into.add(new Slot(node, null, i));
                collect(node.get(i), into);
            }
        }
    }

    /** Every string and field name of the valid model's two documents, and a class outside the allowlist. */
    private static List<String> strings() {
        List<String> out = new ArrayList<>(List.of("java.lang.ProcessBuilder", "javax.script.ScriptEngineManager"));
        for (String entry : List.of(ModelZip.CONFIGURATION, ModelZip.METADATA)) {
            try {
                JSON.readTree(VALID.get(entry)).findParents("@class").forEach(p -> out.add(p.get("@class").asText()));
                List<Slot> slots = new ArrayList<>();
                collect(JSON.readTree(VALID.get(entry)), slots);
                for (Slot s : slots) {
                    if (s.field() != null && !out.contains(s.field())) out.add(s.field());
                    if (s.get().isTextual() && !out.contains(s.get().asText())) out.add(s.get().asText());
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    /** A small expanded ViT (adapters, gates, a repeated block), saved and read back as its entries. */
    private static Map<String, byte[]> validModel() {
        try {
            VitConfig config = VitConfig.builder().imgSize(8).patchSize(4).inChans(1).numClasses(3).embedDim(8).depth(2)
                    .numHeads(2).mlpRatio(2).build();
            VitModel model = new VitModel(VisionTransformer.builder().config(config).order(0, 1, 0, 1).adapterRank(2)
                    .gates(true).seed(1).build().init(), null, null);
            Path file = Files.createTempFile("valid", ".zip");
            model.save(file);
            Map<String, byte[]> entries = new LinkedHashMap<>();
            try (ZipFile zip = new ZipFile(file.toFile())) {
                for (String name : List.of(ModelZip.CONFIGURATION, ModelZip.COEFFICIENTS, ModelZip.METADATA)) {
                    entries.put(name, zip.getInputStream(zip.getEntry(name)).readAllBytes());
                }
            }
            Files.delete(file);
            return entries;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The entries stored uncompressed: deflating the same coefficients for every input would only cost time. */
    private static byte[] zip(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry entry = new ZipEntry(e.getKey());
                entry.setMethod(ZipEntry.STORED);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                entry.setCrc(crc.getValue());
                entry.setSize(e.getValue().length);
                zip.putNextEntry(entry);
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
        return bytes.toByteArray();
    }
}
