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
