package dev.scalenet.vit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.RawBits;
import dev.scalenet.data.DataConfig;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A model file keeps the graph, its preprocessing and its class names, in DL4J's zip and in timm's form. */
class VitModelTest {
    private static final TimmFixtures.Model MICRO = TimmFixtures.models().stream()
            .filter(m -> m.name.equals("vit-micro-p7-d4")).findFirst().orElseThrow();
    private static final List<String> LABELS = List.of("a", "b", "c", "d", "e", "f", "g", "h", "i", "j");

    @TempDir
    Path dir;

    /** The fixture model expanded with adapters whose up-projections are non-zero, so adapters matter. */
    private static VitModel expandedWithLiveAdapters() throws IOException {
        VitModel base = VitModel.load(MICRO.weights(), MICRO.constructorJson());
        ComputationGraph g = ScaleNet.expand(base.graph(), ExpansionPlan.cyclic(6).withAdapterRank(3).withUntiedNorms(true)).graph();
        Nd4j.getRandom().setSeed(12);
        g.getLayer(VisionTransformer.BLOCKS).paramTable().forEach((k, v) -> {
            if (k.startsWith("use")) v.addi(Nd4j.randn(DataType.FLOAT, v.shape()).muli(0.05));
        });
        return new VitModel(g, DataConfig.fashionMnist(), LABELS);
    }

    @Test
    @DisplayName("DL4J zip: bit-identical parameters and logits, same pretrained_cfg and labels; plain DL4J restores the graph")
    void zipRoundTrip() throws Exception {
        VitModel model = expandedWithLiveAdapters();
        model.save(dir.resolve("m.zip"));
        VitModel back = VitModel.load(dir.resolve("m.zip"), null);
        assertArrayEquals(RawBits.of(model.graph().params()), RawBits.of(back.graph().params()));
        assertArrayEquals(RawBits.of(model.graph().outputSingle(MICRO.inputs())), RawBits.of(back.graph().outputSingle(MICRO.inputs())));
        assertEquals(DataConfig.fashionMnist(), back.dataConfig());
        assertEquals(LABELS, back.classNames());
        ComputationGraph plain = ModelSerializer.restoreComputationGraph(dir.resolve("m.zip").toFile(), false);
        assertArrayEquals(RawBits.of(model.graph().params()), RawBits.of(plain.params()));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temp file left beside the zip");
        }
    }

    @Test
    @DisplayName("timm form: an expansion with adapters and untied norms exports and loads back to the same logits")
    void timmRoundTrip() throws Exception {
        VitModel model = expandedWithLiveAdapters();
        model.exportTimm(dir.resolve("m.safetensors"));
        var meta = new ObjectMapper().readTree(dir.resolve("m.json").toFile());
        assertEquals(6, meta.path("constructor").path("depth").asInt(), "timm's depth is the deep one");
        assertEquals("[0,1,2,3,0,1]", meta.path("scalenet").path("order").toString());
        VitModel back = VitModel.load(dir.resolve("m.safetensors"), null);
        INDArray want = model.graph().outputSingle(MICRO.inputs());
        assertTrue(want.equalsWithEps(back.graph().outputSingle(MICRO.inputs()), 1e-6));
        assertEquals(LABELS, back.classNames());
        assertEquals(model.graph().numParams(), back.graph().numParams(), "shared tensors stay shared");
    }

    @Test
    @DisplayName("a bare timm checkpoint gets default preprocessing and numbered classes")
    void defaults() throws Exception {
        VitModel m = VitModel.load(MICRO.weights(), MICRO.constructorJson());
        assertEquals(List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"), m.classNames());
        assertEquals(1, m.dataConfig().channels());
        assertEquals(0.5, m.dataConfig().mean()[0]);
    }

    @Test
    @DisplayName("errors name the file: missing, not a model, metadata that contradicts the model")
    void errors() throws Exception {
        IOException missing = assertThrows(IOException.class, () -> VitModel.load(dir.resolve("none.zip"), null));
        assertTrue(missing.getMessage().contains("none.zip") && missing.getMessage().contains("not found"), missing.getMessage());
        Files.writeString(dir.resolve("text.zip"), "hello, not a model");
        IOException garbage = assertThrows(IOException.class, () -> VitModel.load(dir.resolve("text.zip"), null));
        assertTrue(garbage.getMessage().contains("text.zip"), garbage.getMessage());
        Path json = dir.resolve("wrong.json");
        Files.writeString(json, "{\"constructor\": {\"num_heads\": 2}, \"pretrained_cfg\": {\"input_size\": [3, 28, 28],"
                + " \"mean\": [0.5, 0.5, 0.5], \"std\": [0.5, 0.5, 0.5]}}");
        IOException mismatch = assertThrows(IOException.class, () -> VitModel.load(MICRO.weights(), json));
        assertTrue(mismatch.getMessage().contains("wrong.json") && mismatch.getMessage().contains("input_size"), mismatch.getMessage());
    }

    @Test
    @DisplayName("the timm sidecar reads strictly: a key given twice or a second value is refused, naming the sidecar and the key")
    void strictSidecar() throws Exception {
        String labels = new ObjectMapper().writeValueAsString(LABELS);
        String start = "{\"constructor\": {\"num_heads\": 2}, \"label_names\": " + labels;
        Path json = dir.resolve("labels.json");
        Files.writeString(json, start + "}");
        assertEquals(LABELS, VitModel.load(MICRO.weights(), json).classNames());
        Files.writeString(json, start + ", \"label_names\": " + labels.toUpperCase() + "}");
        IOException dup = assertThrows(IOException.class, () -> VitModel.load(MICRO.weights(), json));
        assertTrue(dup.getMessage().startsWith(json.toAbsolutePath() + ": not valid JSON: the key 'label_names' appears a second"
                + " time at line "), dup.getMessage());
        Files.writeString(json, start + "}\n{\"label_names\": " + labels.toUpperCase() + "}");
        IOException trailing = assertThrows(IOException.class, () -> VitModel.load(MICRO.weights(), json));
        assertTrue(trailing.getMessage().startsWith(json.toAbsolutePath() + ": not valid JSON: content after the JSON value at line "),
                trailing.getMessage());
    }

    @Test
    @Timeout(60)
    @DisplayName("the sidecar's scalenet numbers are checked against the tensors before anything is allocated")
    void sidecarBounds() throws Exception {
        VitModel model = expandedWithLiveAdapters();
        Path weights = dir.resolve("m.safetensors");
        model.exportTimm(weights);
        Path json = dir.resolve("m.json").toAbsolutePath();
        String valid = Files.readString(json);
        int width = model.config().embedDim();
        java.util.function.Function<java.util.function.Consumer<ObjectNode>, String> rejected = edit -> {
            try {
                ObjectNode meta = (ObjectNode) new ObjectMapper().readTree(valid);
                edit.accept((ObjectNode) meta.get("scalenet"));
                Files.writeString(json, meta.toString());
                return assertThrows(IOException.class, () -> VitModel.load(weights, null)).getMessage();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
        String prefix = json + ": scalenet.";
        assertEquals(prefix + "order = an array of 100000 entries: expected one source block per block of " + weights
                + " (6)", rejected.apply(s -> {
                    var order = s.putArray("order");
                    for (int i = 0; i < 100_000; i++) order.add(0);
                }));
        assertEquals(prefix + "base_depth = 1000000000: expected an integer in 1..6",
                rejected.apply(s -> s.put("base_depth", 1_000_000_000)));
        assertEquals(prefix + "order[5] = 7: expected an integer in 0..3",
                rejected.apply(s -> ((com.fasterxml.jackson.databind.node.ArrayNode) s.get("order")).set(5, 7)));
        assertEquals(prefix + "adapter_rank = 1073741824: expected an integer in 0.." + width,
                rejected.apply(s -> s.put("adapter_rank", 1 << 30)));
        assertEquals(prefix + "adapter_rank = 2: expected 3, the rank of its adapter tensors",
                rejected.apply(s -> s.put("adapter_rank", 2)));
        assertEquals(prefix + "adapter_scale = 1.0E308: expected a number from -1000 to 1000 (the layer's bound)",
                rejected.apply(s -> s.put("adapter_scale", 1e308)));
        assertEquals(prefix + "gates = true: expected false: " + weights + " has no gate tensors (blocks.<j>.ls1.gamma)",
                rejected.apply(s -> s.put("gates", true)));
        assertEquals(prefix + "inserted_positions = an array of 7 entries: expected at most one entry per block (6)",
                rejected.apply(s -> s.putArray("inserted_positions").add(0).add(1).add(2).add(3).add(4).add(5).add(5)));
    }

    @Test
    @DisplayName("a graph whose layers were changed after building is checked like a loaded one")
    void builtGraphsAreValidated() throws Exception {
        VitModel model = expandedWithLiveAdapters();
        VisionTransformer.blocksOf(model.graph()).setOrder(new int[] {0, 1, 2, 3, 0, 9});
        assertEquals("vertex 'blocks': order[5] = 9: expected a source block index 0..3",
                assertThrows(IllegalArgumentException.class, () -> model.withGraph(model.graph())).getMessage());
    }
}
