package dev.scalenet.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsWriteTest {
    @TempDir
    Path dir;

    private static Map<String, Tensor> tensors(Tensor... tensors) {
        Map<String, Tensor> map = new LinkedHashMap<>();
        for (Tensor t : tensors) {
            map.put(t.name(), t);
        }
        return map;
    }

    private List<Path> filesIn(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.toList();
        }
    }

    @Test
    @DisplayName("F32 round trip keeps every bit, including -0, subnormals and extremes")
    void f32RoundTrip() throws IOException {
        float[] values = {0, -0.0f, Float.MIN_VALUE, -Float.MAX_VALUE, 1e-40f, (float) Math.PI};
        Path f = dir.resolve("m.safetensors");
        SafeTensors.write(f, tensors(Tensor.of("w", new long[] {2, 3}, values), Tensor.of("s", new long[0], new float[] {2})));
        Checkpoint c = SafeTensors.read(f);
        assertArrayEquals(values, c.require("w").values());
        assertArrayEquals(new long[] {2, 3}, c.require("w").shape());
        assertArrayEquals(new float[] {2}, c.require("s").values());
        assertEquals(Map.of(), c.metadata());
    }

    @Test
    @DisplayName("the header is compact JSON, names sorted as strings, offsets contiguous, space-padded to 8 bytes")
    void headerLayout() throws IOException {
        Path f = dir.resolve("m.safetensors");
        SafeTensors.write(f, tensors(Tensor.of("blocks.2.w", new long[] {1}, new float[] {1}),
                Tensor.of("blocks.10.w", new long[] {2}, new float[] {2, 3})));
        String header = RawSafeTensors.header(f);
        String json = "{\"blocks.10.w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"blocks.2.w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
        assertEquals(json + " ".repeat(header.length() - json.length()), header);
        assertEquals(0, header.length() % 8);
        assertTrue(header.length() - json.length() < 8);
        assertEquals(8 + header.length() + 12, Files.size(f));
    }

    @Test
    @DisplayName("metadata is written first in its own order, escaped as serde_json does, and omitted when empty")
    void metadata() throws IOException {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("source", "timm \"1.0\"\n\u0001");
        metadata.put("format", "pt");
        Path f = dir.resolve("m.safetensors");
        SafeTensors.write(f, tensors(Tensor.of("w", new long[] {1}, new float[] {1})), metadata, DType.F32);
        assertTrue(RawSafeTensors.header(f).startsWith(
                "{\"__metadata__\":{\"source\":\"timm \\\"1.0\\\"\\n\\u0001\",\"format\":\"pt\"},\"w\":"));
        assertEquals(List.of("source", "format"), List.copyOf(SafeTensors.read(f).metadata().keySet()));
        assertEquals(metadata, SafeTensors.read(f).metadata());
    }

    @Test
    @DisplayName("F16 and BF16 writes store 2 bytes per value and read back as the nearest representable values")
    void halfAndBf16() throws IOException {
        float[] values = {1, -2, 65504, 0x1p-24f, 0.1f, 1 + 0x1p-11f};
        Tensor w = Tensor.of("w", new long[] {3, 2}, values);
        Path h = dir.resolve("h.safetensors");
        Path b = dir.resolve("b.safetensors");
        SafeTensors.write(h, tensors(w), Map.of(), DType.F16);
        SafeTensors.write(b, tensors(w), Map.of(), DType.BF16);
        assertTrue(RawSafeTensors.header(h).contains("\"dtype\":\"F16\",\"shape\":[3,2],\"data_offsets\":[0,12]"));
        assertTrue(RawSafeTensors.header(b).contains("\"dtype\":\"BF16\",\"shape\":[3,2],\"data_offsets\":[0,12]"));

        Tensor fromHalf = SafeTensors.read(h).require("w");
        assertEquals(DType.F16, fromHalf.sourceDType());
        assertArrayEquals(new float[] {1, -2, 65504, 0x1p-24f, DType.halfToFloat(DType.floatToHalf(0.1f)), 1},
                fromHalf.values());
        Tensor fromBf16 = SafeTensors.read(b).require("w");
        assertEquals(DType.BF16, fromBf16.sourceDType());
        for (int i = 0; i < values.length; i++) {
            assertEquals(DType.bf16ToFloat(DType.floatToBf16(values[i])), fromBf16.values()[i]);
        }
        assertArrayEquals(new byte[] {0x00, 0x3C, 0x00, (byte) 0xC0, (byte) 0xFF, 0x7B, 0x01, 0x00},
                Arrays.copyOf(RawSafeTensors.tensorData(h).get("w"), 8));
    }

    @Test
    @DisplayName("the timm fixture (written by the python library) is reproduced byte for byte")
    void timmFixtureByteIdentical() throws IOException, URISyntaxException {
        Path original = Fixtures.timm("vit-micro-p7-d4.safetensors");
        Checkpoint c = SafeTensors.read(original);
        Path copy = dir.resolve("copy.safetensors");
        SafeTensors.write(copy, c.asMap(), c.metadata(), DType.F32);
        assertArrayEquals(Files.readAllBytes(original), Files.readAllBytes(copy));
    }

    @Test
    @DisplayName("re-writing any F32 file keeps every tensor's data bytes, even when the layout changes")
    void tensorDataBytesSurviveRewrite() throws IOException, URISyntaxException {
        Path unusual = RawSafeTensors.write(dir.resolve("unusual.safetensors"),
                "{\"z\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[12,24]}}",
                RawSafeTensors.concat(RawSafeTensors.f32(-0.0f, Float.MIN_VALUE), new byte[4],
                        RawSafeTensors.f32(1e-45f, 3e38f, -7)));
        for (Path source : List.of(unusual, Fixtures.timm("vit-micro-p7-d4.safetensors"))) {
            Checkpoint c = SafeTensors.read(source);
            Path copy = dir.resolve("copy.safetensors");
            SafeTensors.write(copy, c.asMap(), c.metadata(), DType.F32);
            Map<String, byte[]> before = RawSafeTensors.tensorData(source);
            Map<String, byte[]> after = RawSafeTensors.tensorData(copy);
            assertEquals(before.keySet(), after.keySet());
            before.forEach((name, bytes) -> assertArrayEquals(bytes, after.get(name), name));
        }
    }

    @Test
    @DisplayName("a write that fails midway (a NaN in the second tensor) leaves no temp file and the old file intact")
    void failedWriteIsAtomic() throws IOException {
        Path f = dir.resolve("m.safetensors");
        SafeTensors.write(f, tensors(Tensor.of("old", new long[] {1}, new float[] {1})));
        byte[] before = Files.readAllBytes(f);

        Map<String, Tensor> bad = tensors(Tensor.of("a", new long[] {100_000}, new float[100_000]),
                Tensor.of("b", new long[] {3}, new float[] {1, Float.NaN, 2}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(f, bad));
        assertTrue(e.getMessage().contains(f.toAbsolutePath().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("tensor 'b'") && e.getMessage().contains("flat index 1"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(f));
        assertEquals(List.of(f), filesIn(dir));
    }

    @Test
    @DisplayName("a value beyond the F16 range is refused rather than written as infinity, atomically")
    void f16OverflowIsRefused() throws IOException {
        Path f = dir.resolve("m.safetensors");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(f,
                tensors(Tensor.of("w", new long[] {2}, new float[] {1, 70000})), Map.of(), DType.F16));
        assertTrue(e.getMessage().contains("tensor 'w'") && e.getMessage().contains("70000.0")
                && e.getMessage().contains("overflows F16"), e.getMessage());
        assertEquals(List.of(), filesIn(dir));
    }

    @Test
    @DisplayName("a missing parent folder is created")
    void missingDirectoryIsCreated() throws IOException {
        Path f = dir.resolve("absent").resolve("m.safetensors");
        SafeTensors.write(f, tensors(Tensor.of("w", new long[] {1}, new float[] {3})));
        assertArrayEquals(new float[] {3}, SafeTensors.read(f).require("w").values());
        assertEquals(List.of(f), filesIn(f.getParent()));
    }

    @Test
    @DisplayName("a parent that is a plain file fails with an IOException and writes nothing")
    void parentIsAFile() throws IOException {
        Path notADirectory = dir.resolve("plain");
        Files.write(notADirectory, "x".getBytes(StandardCharsets.UTF_8));
        assertThrows(FileAlreadyExistsException.class, () -> SafeTensors.write(notADirectory.resolve("m.safetensors"),
                tensors(Tensor.of("w", new long[] {1}, new float[] {1}))));
        assertEquals(List.of(notADirectory), filesIn(dir));
    }

    @Test
    @DisplayName("a successful write replaces an existing file")
    void replaces() throws IOException {
        Path f = dir.resolve("m.safetensors");
        Files.write(f, "old".getBytes(StandardCharsets.UTF_8));
        SafeTensors.write(f, tensors(Tensor.of("w", new long[] {1}, new float[] {4})));
        assertArrayEquals(new float[] {4}, SafeTensors.read(f).require("w").values());
        assertEquals(List.of(f), filesIn(dir));
    }

    @Test
    @DisplayName("a map key must equal its tensor's name, and __metadata__ cannot name a tensor")
    void badNames() {
        Path f = dir.resolve("m.safetensors");
        Tensor w = Tensor.of("w", new long[] {1}, new float[] {1});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(f, Map.of("v", w)));
        assertTrue(e.getMessage().contains("'v'") && e.getMessage().contains("'w'"), e.getMessage());
        Tensor m = Tensor.of("__metadata__", new long[] {1}, new float[] {1});
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(f, Map.of("__metadata__", m)));
    }
}
