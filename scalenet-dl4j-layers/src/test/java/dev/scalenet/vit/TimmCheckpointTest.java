package dev.scalenet.vit;

import dev.scalenet.RawBits;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.io.Checkpoint;
import dev.scalenet.io.SafeTensors;
import dev.scalenet.io.SafeTensorsException;
import dev.scalenet.io.Tensor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Importing timm checkpoints: what is inferred, what must be given, and every mismatch reported clearly. */
class TimmCheckpointTest {
    private static TimmFixtures.Model micro() {
        return TimmFixtures.models().stream().filter(x -> x.name.equals("vit-micro-p7-d4")).findFirst().orElseThrow();
    }

    private static Map<String, Tensor> microTensors() throws Exception {
        return new LinkedHashMap<>(SafeTensors.read(micro().weights()).asMap());
    }

    private static Path write(Path dir, Map<String, Tensor> tensors) throws Exception {
        Path f = dir.resolve("model.safetensors");
        SafeTensors.write(f, tensors);
        return f;
    }

    private static ObjectNode heads(int n) {
        return new ObjectMapper().createObjectNode().put("num_heads", n);
    }

    private static String failure(Path file, ObjectNode args) throws Exception {
        Path json = file.resolveSibling("args.json");
        Files.writeString(json, args.toString());
        return assertThrows(SafeTensorsException.class, () -> TimmCheckpoint.load(file, json)).getMessage();
    }

    @Test
    @DisplayName("the architecture is inferred from the tensors; only the head count must be given")
    void infersArchitecture() throws Exception {
        VitConfig inferred = TimmCheckpoint.inferConfig(SafeTensors.read(micro().weights()), heads(2));
        assertEquals(VitConfig.fromTimmJson(micro().constructorJson()), inferred);
        assertEquals(28, inferred.imgSize());
        assertEquals(7, inferred.patchSize());
        assertEquals(4, inferred.depth());
        assertEquals(4.0, inferred.mlpRatio());
    }

    @Test
    @DisplayName("without num_heads the error says where to give it")
    void needsHeads(@TempDir Path dir) throws Exception {
        String msg = failure(write(dir, microTensors()), new ObjectMapper().createObjectNode());
        assertTrue(msg.contains("model.safetensors") && msg.contains("num_heads cannot be inferred"), msg);
    }

    @Test
    @DisplayName("constructor arguments that contradict the tensors are rejected")
    void contradictingArguments(@TempDir Path dir) throws Exception {
        String msg = failure(write(dir, microTensors()), heads(2).put("num_classes", 12));
        assertTrue(msg.contains("num_classes = 12 but the tensors say 10"), msg);
    }

    @Test
    @DisplayName("missing, unexpected and misshapen tensors are all listed with expected and actual shapes")
    void tensorMismatches(@TempDir Path dir) throws Exception {
        Map<String, Tensor> t = microTensors();
        t.remove("blocks.1.mlp.fc2.bias");
        t.put("blocks.0.attn.extra", Tensor.of("blocks.0.attn.extra", new long[] {3}, new float[3]));
        t.put("head.bias", Tensor.of("head.bias", new long[] {11}, new float[11]));
        String msg = failure(write(dir, t), heads(2));
        assertTrue(msg.contains("model.safetensors does not match"), msg);
        assertTrue(msg.contains("missing tensor 'blocks.1.mlp.fc2.bias' (expected shape [32])"), msg);
        assertTrue(msg.contains("unexpected tensor 'blocks.0.attn.extra' [3]"), msg);
        assertTrue(msg.contains("tensor 'head.bias' has shape [11], expected [10]"), msg);
    }

    /** The fixture's tensors with {@code name} replaced by zeros of {@code shape}. */
    private static Map<String, Tensor> reshaped(String name, long... shape) throws Exception {
        Map<String, Tensor> t = microTensors();
        t.put(name, zeros(name, shape));
        return t;
    }

    @Test
    @DisplayName("the tensors the architecture is read from agree on the width and have no empty size: an empty tensor"
            + " holds no values whatever sizes it claims")
    void inferredShapesAgree(@TempDir Path dir) throws Exception {
        String file = dir.resolve("model.safetensors").toString();
        String width = " with embed_dim 32 (the width of patch_embed.proj.weight), every size positive";
        // 0 bytes that would make a head of 11 M classes
        assertEquals(file + ": tensor 'head.weight' has shape [11000000, 0], expected [num_classes, embed_dim]" + width,
                failure(write(dir, reshaped("head.weight", 11_000_000, 0)), heads(2)));
        assertEquals(file + ": tensor 'pos_embed' has shape [1, 4000001, 0], expected [1, tokens, embed_dim]" + width,
                failure(write(dir, reshaped("pos_embed", 1, 4_000_001, 0)), heads(2)));
        assertEquals(file + ": tensor 'blocks.0.mlp.fc1.weight' has shape [1000000000, 0], expected [mlp_hidden,"
                + " embed_dim]" + width, failure(write(dir, reshaped("blocks.0.mlp.fc1.weight", 1_000_000_000, 0)), heads(2)));
        assertEquals(file + ": tensor 'cls_token' has shape [1, 2, 32], expected [1, 1, embed_dim]" + width,
                failure(write(dir, reshaped("cls_token", 1, 2, 32)), heads(2)));
        assertEquals(file + ": tensor 'patch_embed.proj.weight' has shape [0, 1, 7, 7], expected [embed_dim, in_chans,"
                + " patch, patch], every size positive", failure(write(dir, reshaped("patch_embed.proj.weight", 0, 1, 7, 7)),
                heads(2)));
    }

    @Test
    @DisplayName("a block index past the deepest stack fails naming the tensor, however many digits it has")
    void blockIndexBound(@TempDir Path dir) throws Exception {
        String file = dir.resolve("model.safetensors").toString();
        for (String index : new String[] {"99999999999", "4096"}) {
            String name = "blocks." + index + ".norm1.weight";
            Map<String, Tensor> t = microTensors();
            t.put(name, Tensor.of(name, new long[] {32}, new float[32]));
            assertEquals(file + ": tensor '" + name + "' has block index " + index + ": expected 0..4095 (a stack has at"
                    + " most 4096 blocks)", failure(write(dir, t), heads(2)));
        }
    }

    @Test
    @DisplayName("a checkpoint without every tensor of the architecture it implies fails naming the first missing one and its shape")
    void checkedBeforeAllocation(@TempDir Path dir) throws Exception {
        // 28 KB of tensors whose names and shapes imply 24 blocks of width 1024: a graph of 100 M parameters (400 MB),
        // which the check, made before the graph is built, never allocates (memory is a benchmark's to measure, not this test's)
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (Tensor x : new Tensor[] {zeros("patch_embed.proj.weight", 1024, 1, 1, 1), zeros("patch_embed.proj.bias", 1024),
                zeros("cls_token", 1, 1, 1024), zeros("pos_embed", 1, 2, 1024), zeros("head.weight", 2, 1024),
                zeros("blocks.0.mlp.fc1.weight", 1, 1024)}) {
            t.put(x.name(), x);
        }
        for (int j = 1; j < 24; j++) t.put("blocks." + j + ".norm1.weight", zeros("blocks." + j + ".norm1.weight", 1));
        Path file = write(dir, t);
        String msg = failure(file, heads(2));
        assertThrows(SafeTensorsException.class, () -> VitModel.load(file, file.resolveSibling("args.json")));
        assertTrue(msg.startsWith(file + " does not match VitConfig{") && msg.contains("embed_dim=1024, depth=24,"), msg);
        assertTrue(msg.contains("missing tensor 'blocks.0.attn.qkv.weight' (expected shape [3072, 1024])"), msg);
    }

    private static Tensor zeros(String name, long... shape) {
        return Tensor.of(name, shape, new float[(int) Arrays.stream(shape).reduce(1, (a, b) -> a * b)]);
    }

    @Test
    @DisplayName("NaN weights and truncated files fail naming the file (and the tensor)")
    void corruptFiles(@TempDir Path dir) throws Exception {
        byte[] good = Files.readAllBytes(write(dir, microTensors()));
        // the writer refuses NaN, so patch one float of a valid file by hand
        Path f = dir.resolve("nan.safetensors");
        int offset = dataOffset(good, "blocks.2.norm1.weight") + 5 * 4;
        ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).putFloat(offset, Float.NaN);
        Files.write(f, good);
        String nan = failure(f, heads(2));
        assertTrue(nan.contains("nan.safetensors") && nan.contains("blocks.2.norm1.weight"), nan);

        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(good, good.length / 2));
        String truncated = failure(cut, heads(2));
        assertTrue(truncated.contains("cut.safetensors"), truncated);
    }

    /** Absolute byte offset of a tensor's data, from the header. */
    private static int dataOffset(byte[] file, String name) throws Exception {
        long n = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        var header = new ObjectMapper().readTree(new String(file, 8, (int) n, java.nio.charset.StandardCharsets.UTF_8));
        return (int) (8 + n + header.get(name).get("data_offsets").get(0).asLong());
    }

    @Test
    @DisplayName("import then export reproduces timm's tensor data byte for byte")
    void exportIsByteIdentical(@TempDir Path dir) throws Exception {
        ComputationGraph g = TimmCheckpoint.load(micro().weights(), micro().constructorJson());
        Path out = dir.resolve("export.safetensors");
        TimmCheckpoint.save(g, out);
        assertArrayEquals(dataSection(Files.readAllBytes(micro().weights())), dataSection(Files.readAllBytes(out)));
        assertEquals(SafeTensors.read(micro().weights()).names(), SafeTensors.read(out).names());
    }

    private static byte[] dataSection(byte[] file) {
        long n = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return Arrays.copyOfRange(file, (int) (8 + n), file.length);
    }

    @Test
    @DisplayName("an expanded model exports as the deeper timm model plus adapters, and imports back exactly")
    void expandedRoundTrip(@TempDir Path dir) throws Exception {
        ComputationGraph base = TimmCheckpoint.load(micro().weights(), micro().constructorJson());
        ExpansionPlan plan = ExpansionPlan.cyclic(8).withAdapterRank(4).withUntiedNorms(true);
        ComputationGraph a = ScaleNet.expand(base, plan).graph();
        Nd4j.getRandom().setSeed(9);
        a.params().assign(a.params().add(Nd4j.randn(DataType.FLOAT, a.params().shape()).muli(0.01)));
        Path out = dir.resolve("expanded.safetensors");
        TimmCheckpoint.save(a, out);
        Checkpoint ckpt = SafeTensors.read(out);
        assertTrue(ckpt.names().contains("blocks.7.attn.qkv.weight"));
        assertTrue(ckpt.names().contains("blocks.7.adapter.mlp.up.weight"));

        ComputationGraph b = ScaleNet.expand(base, plan.withSeed(123)).graph();
        TimmCheckpoint.fill(b, ckpt);
        INDArray x = TimmFixtures.read(micro().folder.resolve(micro().name + ".inputs.npy"));
        assertArrayEquals(RawBits.of(a.params()), RawBits.of(b.params()), "every parameter bit-identical");
        assertArrayEquals(RawBits.of(a.outputSingle(x)), RawBits.of(b.outputSingle(x)), "bit-identical logits");

        Map<String, Tensor> t = new LinkedHashMap<>(ckpt.asMap());
        float[] other = t.get("blocks.5.attn.proj.weight").values().clone();
        other[0] += 1f;
        t.put("blocks.5.attn.proj.weight", Tensor.of("blocks.5.attn.proj.weight", new long[] {32, 32}, other));
        SafeTensorsException e = assertThrows(SafeTensorsException.class,
                () -> TimmCheckpoint.fill(b, new Checkpoint(out, t.values(), Map.of())));
        assertTrue(e.getMessage().contains("'blocks.1.attn.proj.weight' and 'blocks.5.attn.proj.weight' should be equal"), e.getMessage());
    }
}
