package dev.scalenet.io;

import static dev.scalenet.io.RawSafeTensors.concat;
import static dev.scalenet.io.RawSafeTensors.f32;
import static dev.scalenet.io.RawSafeTensors.u16;
import static dev.scalenet.io.RawSafeTensors.u64;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SafeTensorsReadTest {
    @TempDir
    Path dir;

    /** Writes a file whose header is {@code header} with ' for ", followed by {@code data}. */
    private Path file(String header, byte[] data) throws IOException {
        return RawSafeTensors.write(dir.resolve("model.safetensors"), header.replace('\'', '"'), data);
    }

    /** Asserts that reading fails with a message naming the file (full path) and every fragment. */
    private static SafeTensorsException rejects(Path file, String... fragments) {
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));
        String message = e.getMessage();
        assertTrue(message.contains(file.toAbsolutePath().toString()), () -> "no file name in: " + message);
        for (String fragment : fragments) {
            assertTrue(message.contains(fragment), () -> "no \"" + fragment + "\" in: " + message);
        }
        return e;
    }

    @Nested
    @DisplayName("a well-formed file")
    class WellFormed {
        @Test
        @DisplayName("yields its F32 tensors by name, sorted, with metadata in file order, whatever the layout")
        void f32WithMetadataAndPadding() throws IOException {
            Path f = file("{'__metadata__':{'source':'test','format':'pt'},"
                            + "'z':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},"
                            + "'a':{'dtype':'F32','shape':[1,2],'data_offsets':[12,20]}}",
                    concat(f32(5, -0.0f), new byte[4], f32(1.5f, Float.MIN_VALUE), new byte[3]));
            Checkpoint c = SafeTensors.read(f);
            assertEquals(List.of("a", "z"), new ArrayList<>(c.names()));
            assertEquals(Map.of("source", "test", "format", "pt"), c.metadata());
            assertEquals(List.of("source", "format"), new ArrayList<>(c.metadata().keySet()));
            assertEquals(f, c.source());
            assertArrayEquals(new long[] {1, 2}, c.require("a").shape());
            assertArrayEquals(new float[] {1.5f, Float.MIN_VALUE}, c.require("a").values());
            assertArrayEquals(new float[] {5, -0.0f}, c.require("z").values());
            assertEquals(DType.F32, c.require("z").sourceDType());
        }

        @Test
        @DisplayName("decodes F16 bit patterns: 0x3C00=1, 0xC000=-2, 0x7BFF=65504, 0x0001=2^-24")
        void f16KnownPatterns() throws IOException {
            Path f = file("{'h':{'dtype':'F16','shape':[2,2],'data_offsets':[0,8]}}",
                    u16(0x3C00, 0xC000, 0x7BFF, 0x0001));
            Tensor h = SafeTensors.read(f).require("h");
            assertArrayEquals(new float[] {1, -2, 65504, 0x1p-24f}, h.values());
            assertEquals(DType.F16, h.sourceDType());
        }

        @Test
        @DisplayName("decodes BF16 bit patterns: 0x3F80=1, 0xC000=-2, 0x4049=3.140625, 0x0001=2^-133")
        void bf16KnownPatterns() throws IOException {
            Path f = file("{'b':{'dtype':'BF16','shape':[4],'data_offsets':[0,8]}}",
                    u16(0x3F80, 0xC000, 0x4049, 0x0001));
            Tensor b = SafeTensors.read(f).require("b");
            assertArrayEquals(new float[] {1, -2, 3.140625f, 0x1p-133f}, b.values());
            assertEquals(DType.BF16, b.sourceDType());
        }

        @Test
        @DisplayName("accepts scalars, zero-element tensors and an empty header")
        void edgeShapes() throws IOException {
            Path f = file("{'s':{'dtype':'F32','shape':[],'data_offsets':[0,4]},"
                    + "'e':{'dtype':'F32','shape':[3,0],'data_offsets':[4,4]}}", f32(7));
            Checkpoint c = SafeTensors.read(f);
            assertArrayEquals(new float[] {7}, c.require("s").values());
            assertEquals(0, c.require("e").numel());
            assertArrayEquals(new long[] {3, 0}, c.require("e").shape());
            assertEquals(0, SafeTensors.read(file("{}", new byte[0])).size());
        }

        @Test
        @DisplayName("the timm fixture reads with timm's names and shapes")
        void timmFixture() throws IOException, URISyntaxException {
            Checkpoint c = SafeTensors.read(Fixtures.timm("vit-micro-p7-d4.safetensors"));
            assertEquals(56, c.size());
            assertArrayEquals(new long[] {10, 32}, c.require("head.weight").shape());
            assertArrayEquals(new long[] {32, 1, 7, 7}, c.require("patch_embed.proj.weight").shape());
            assertArrayEquals(new long[] {1, 17, 32}, c.require("pos_embed").shape());
            assertEquals("pt", c.metadata().get("format"));
            assertTrue(c.asMap().values().stream().allMatch(t -> t.sourceDType() == DType.F32));
        }
    }

    @Nested
    @DisplayName("the header length")
    class HeaderLength {
        @ParameterizedTest(name = "a {0}-byte file is truncated")
        @ValueSource(ints = {0, 5, 7})
        void truncated(int size) throws IOException {
            Path f = RawSafeTensors.write(dir.resolve("short.safetensors"), new byte[size]);
            rejects(f, "truncated", size + " bytes", "at least 8");
        }

        @Test
        @DisplayName("past the end of the file is rejected with both numbers")
        void pastTheEnd() throws IOException {
            Path f = RawSafeTensors.write(dir.resolve("m.safetensors"), concat(u64(100), "{}".getBytes()));
            rejects(f, "header length 100", "past the end", "at most 2");
        }

        @Test
        @DisplayName("above 100 MB (or negative as a signed long) is rejected before allocating")
        void absurd() throws IOException {
            Path f = RawSafeTensors.write(dir.resolve("m.safetensors"), concat(u64(-1), "{}".getBytes()));
            rejects(f, "header length 18446744073709551615", "absurdly large");
            Path g = RawSafeTensors.write(dir.resolve("n.safetensors"), concat(u64(200L << 20), "{}".getBytes()));
            rejects(g, "header length " + (200L << 20), "absurdly large");
        }
    }

    @Nested
    @DisplayName("the header JSON")
    class HeaderJson {
        @Test
        @DisplayName("must be valid UTF-8")
        void notUtf8() throws IOException {
            byte[] header = {'{', '"', (byte) 0xff, (byte) 0xfe, '"', ':', '1', '}'};
            Path f = RawSafeTensors.write(dir.resolve("m.safetensors"), concat(u64(header.length), header));
            rejects(f, "not valid UTF-8");
        }

        @Test
        @DisplayName("must be valid JSON")
        void notJson() throws IOException {
            rejects(file("{'w': {'dtype'", new byte[0]), "not valid JSON");
        }

        @Test
        @DisplayName("must be an object")
        void notAnObject() throws IOException {
            rejects(file("[1, 2]", new byte[0]), "must be a JSON object, found array");
        }

        @Test
        @DisplayName("must not repeat a tensor name")
        void duplicateName() throws IOException {
            rejects(file("{'w':{'dtype':'F32','shape':[1],'data_offsets':[0,4]},"
                    + "'w':{'dtype':'F32','shape':[1],'data_offsets':[4,8]}}", f32(1, 2)), "'w'");
        }

        @Test
        @DisplayName("__metadata__ must map strings to strings")
        void metadataValues() throws IOException {
            rejects(file("{'__metadata__':{'epochs':3}}", new byte[0]), "__metadata__", "'epochs'", "string");
        }

        @Test
        @DisplayName("a tensor entry must be an object")
        void entryNotObject() throws IOException {
            rejects(file("{'w': 3}", new byte[0]), "tensor 'w'", "must be an object, found number");
        }

        @ParameterizedTest(name = "a tensor entry without {0} is rejected")
        @ValueSource(strings = {"dtype", "shape", "data_offsets"})
        void missingField(String field) throws IOException {
            String entry = "{'dtype':'F32','shape':[1],'data_offsets':[0,4]}".replace("'" + field + "'", "'x'");
            rejects(file("{'w':" + entry + "}", f32(1)), "tensor 'w'", "lacks '" + field + "'");
        }

        @ParameterizedTest(name = "shape {0} is rejected")
        @ValueSource(strings = {"[2,-1]", "[2.5]", "'2'", "[99999999999999999999]", "[[2]]"})
        void badShape(String shape) throws IOException {
            rejects(file("{'w':{'dtype':'F32','shape':" + shape + ",'data_offsets':[0,8]}}", f32(1, 2)),
                    "tensor 'w'", "'shape' must be an array of non-negative integers, found " + shape.replace('\'', '"'));
        }

        @ParameterizedTest(name = "data_offsets {0} is rejected")
        @ValueSource(strings = {"[0]", "[-4,0]", "[0,4,8]", "[0,'4']"})
        void badOffsets(String offsets) throws IOException {
            rejects(file("{'w':{'dtype':'F32','shape':[1],'data_offsets':" + offsets + "}}", f32(1, 2)),
                    "tensor 'w'", "'data_offsets' must be an array of 2 non-negative integers");
        }

        @Test
        @DisplayName("dtype must be a string")
        void dtypeNotString() throws IOException {
            rejects(file("{'w':{'dtype':5,'shape':[1],'data_offsets':[0,4]}}", f32(1)), "tensor 'w'", "'dtype'");
        }

        @ParameterizedTest(name = "dtype {0} is unsupported, and the message lists F32, F16, BF16")
        @ValueSource(strings = {"I64", "F64", "Q4", "f32"})
        void unknownDtype(String dtype) throws IOException {
            rejects(file("{'w':{'dtype':'" + dtype + "','shape':[1],'data_offsets':[0,4]}}", f32(1)),
                    "tensor 'w'", "unsupported dtype '" + dtype + "'", "supported: F32, F16, BF16");
        }
    }

    @Nested
    @DisplayName("the data section")
    class DataSection {
        @Test
        @DisplayName("an end offset past the data section is rejected with both numbers")
        void endPastData() throws IOException {
            rejects(file("{'w':{'dtype':'F32','shape':[25],'data_offsets':[0,100]}}", f32(1, 2, 3, 4)),
                    "tensor 'w'", "past the data section", "expected end <= 16, found 100");
        }

        @Test
        @DisplayName("begin after end is rejected")
        void beginAfterEnd() throws IOException {
            rejects(file("{'w':{'dtype':'F32','shape':[1],'data_offsets':[8,4]}}", f32(1, 2, 3)),
                    "tensor 'w'", "data_offsets [8, 4]", "begin is after end");
        }

        @Test
        @DisplayName("overlapping tensors are rejected, naming both")
        void overlap() throws IOException {
            rejects(file("{'a':{'dtype':'F32','shape':[4],'data_offsets':[0,16]},"
                            + "'e':{'dtype':'F32','shape':[0],'data_offsets':[4,4]},"
                            + "'b':{'dtype':'F32','shape':[4],'data_offsets':[8,24]}}", f32(1, 2, 3, 4, 5, 6)),
                    "tensors 'a' and 'b' overlap", "[0, 16]", "[8, 24]");
        }

        @Test
        @DisplayName("a byte count that differs from product(shape) * bytes per element is rejected with both numbers")
        void byteCountMismatch() throws IOException {
            rejects(file("{'w':{'dtype':'F32','shape':[2,2],'data_offsets':[0,12]}}", f32(1, 2, 3, 4)),
                    "tensor 'w'", "span 12 bytes, expected 16", "4 elements of 4 bytes for F32");
            rejects(file("{'h':{'dtype':'F16','shape':[3],'data_offsets':[0,8]}}", u16(1, 2, 3, 4)),
                    "tensor 'h'", "span 8 bytes, expected 6");
        }

        @Test
        @DisplayName("a shape whose element count overflows is rejected, not allocated")
        void hugeShape() throws IOException {
            rejects(file("{'w':{'dtype':'F32','shape':[4294967296,4294967296],'data_offsets':[0,4]}}", f32(1)),
                    "tensor 'w'", "too many elements");
        }

        @ParameterizedTest(name = "a {0} value is rejected, naming the tensor and the flat index")
        @ValueSource(floats = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY})
        void nonFinite(float bad) throws IOException {
            rejects(file("{'ok':{'dtype':'F32','shape':[1],'data_offsets':[0,4]},"
                            + "'w':{'dtype':'F32','shape':[2,2],'data_offsets':[4,20]}}", f32(1, 0, 1, bad, 2)),
                    "tensor 'w'", "non-finite value " + bad, "flat index 2");
        }

        @Test
        @DisplayName("a half infinity (0x7C00) is rejected like an F32 one")
        void nonFiniteHalf() throws IOException {
            rejects(file("{'h':{'dtype':'F16','shape':[2],'data_offsets':[0,4]}}", u16(0x3C00, 0x7C00)),
                    "tensor 'h'", "Infinity", "flat index 1");
        }
    }

    @Test
    @DisplayName("a missing file is reported as a SafeTensorsException naming it")
    void missingFile() {
        rejects(dir.resolve("absent.safetensors"), "cannot read");
    }

    @Test
    @DisplayName("every truncation and 2000 random byte corruptions of a valid file give a result or a SafeTensorsException, never a crash")
    void robustAgainstDamage() throws IOException {
        Path valid = file("{'__metadata__':{'k':'v'},'a':{'dtype':'F16','shape':[2],'data_offsets':[0,4]},"
                + "'b':{'dtype':'F32','shape':[2,1],'data_offsets':[4,12]}}", concat(u16(0x3C00, 0x4000), f32(3, 4)));
        byte[] original = Files.readAllBytes(valid);
        Path damaged = dir.resolve("damaged.safetensors");
        for (int length = 0; length < original.length; length++) {
            Files.write(damaged, Arrays.copyOf(original, length));
            assertThrows(SafeTensorsException.class, () -> SafeTensors.read(damaged));
        }
        Random random = new Random(42);
        for (int i = 0; i < 2000; i++) {
            byte[] bytes = original.clone();
            for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
                bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
            }
            Files.write(damaged, bytes);
            try {
                SafeTensors.read(damaged);
            } catch (SafeTensorsException expected) {
                // fine: damage detected
            } catch (RuntimeException e) {
                fail("crashed on " + new String(bytes, StandardCharsets.ISO_8859_1), e);
            }
        }
    }
}
