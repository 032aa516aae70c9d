package dev.scalenet.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NpyTest {
    @TempDir
    Path dir;

    /** A .npy file with the given version, header text (used as is) and data bytes. */
    private Path npy(int major, String header, byte[] data) throws IOException {
        byte[] text = header.getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(6 + 2 + (major == 1 ? 2 : 4) + text.length + data.length)
                .order(ByteOrder.LITTLE_ENDIAN)
                .put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (major == 1) {
            b.putShort((short) text.length);
        } else {
            b.putInt(text.length);
        }
        Path file = dir.resolve("a.npy");
        Files.write(file, b.put(text).put(data).array());
        return file;
    }

    private Path f4(String descr, String fortran, String shape, byte[] data) throws IOException {
        return npy(1, "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }\n", data);
    }

    private static void rejects(Path file, String... fragments) {
        NpyFormatException e = assertThrows(NpyFormatException.class, () -> Npy.read(file));
        assertTrue(e.getMessage().contains(file.toAbsolutePath().toString()), e.getMessage());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), () -> "no \"" + fragment + "\" in: " + e.getMessage());
        }
    }

    @Test
    @DisplayName("the timm inputs fixture reads as a (4, 1, 28, 28) float32 array with numpy's values")
    void timmInputs() throws IOException, URISyntaxException {
        NpyArray x = Npy.read(Fixtures.timm("vit-micro-p7-d4.inputs.npy"));
        assertArrayEquals(new long[] {4, 1, 28, 28}, x.shape());
        assertEquals(4 * 28 * 28, x.data().length);
        assertArrayEquals(new float[] {-1.1892017f, 1.3932348f, 2.105898f}, Arrays.copyOf(x.data(), 3));
        assertEquals(-0.034890644f, x.data()[x.data().length - 1]);
    }

    @Test
    @DisplayName("the timm logits fixture reads as (4, 10)")
    void timmLogits() throws IOException, URISyntaxException {
        NpyArray y = Npy.read(Fixtures.timm("vit-micro-p7-d4.logits.npy"));
        assertArrayEquals(new long[] {4, 10}, y.shape());
        assertArrayEquals(new float[] {-0.10285418f, 7.500136e-4f, 0.09761703f}, Arrays.copyOf(y.data(), 3));
        assertEquals(0.07752181f, y.data()[39]);
    }

    @ParameterizedTest(name = "re-writing {0} reproduces numpy's file byte for byte")
    @ValueSource(strings = {"vit-micro-p7-d4.inputs.npy", "vit-micro-p7-d4.logits.npy",
            "vit-micro-p7-d4.expanded-cyclic-8.logits.npy"})
    void fixturesByteIdentical(String name) throws IOException, URISyntaxException {
        Path original = Fixtures.timm(name);
        NpyArray a = Npy.read(original);
        Path copy = dir.resolve("copy.npy");
        Npy.write(copy, a.shape(), a.data());
        assertArrayEquals(Files.readAllBytes(original), Files.readAllBytes(copy));
    }

    @Test
    @DisplayName("write then read returns the same shape and values, including scalars, 1-D and empty arrays")
    void roundTrip() throws IOException {
        List<long[]> shapes = List.of(new long[0], new long[] {5}, new long[] {0}, new long[] {2, 3}, new long[] {1, 2, 1, 3});
        for (long[] shape : shapes) {
            float[] data = new float[(int) Shapes.numel(shape)];
            for (int i = 0; i < data.length; i++) {
                data[i] = i == 1 ? Float.NaN : i * -0.25f;
            }
            Path f = dir.resolve("r.npy");
            Npy.write(f, shape, data);
            NpyArray back = Npy.read(f);
            assertArrayEquals(shape, back.shape());
            assertArrayEquals(data, back.data());
        }
    }

    @Test
    @DisplayName("the header is numpy's: dict repr, growth room, spaces and '\\n' ending on a 64-byte boundary")
    void headerLayout() throws IOException {
        Path f = dir.resolve("h.npy");
        Npy.write(f, new long[] {5}, new float[5]);
        byte[] bytes = Files.readAllBytes(f);
        // numpy 2.4 writes exactly this for np.save(f, np.zeros(5, np.float32)).
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }";
        String expected = "\u0093NUMPY\u0001\u0000v\u0000" + dict + " ".repeat(127 - 10 - dict.length()) + "\n";
        assertEquals(expected, new String(bytes, 0, 128, StandardCharsets.ISO_8859_1));
        assertEquals(128 + 20, bytes.length);

        Npy.write(f, new long[0], new float[] {1});
        assertEquals("{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
                new String(Files.readAllBytes(f), 10, 55, StandardCharsets.ISO_8859_1));
    }

    @Test
    @DisplayName("'<f8' data is read and narrowed to float")
    void readsF8() throws IOException {
        ByteBuffer data = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putDouble(0.1).putDouble(-3);
        NpyArray a = Npy.read(f4("<f8", "False", "(2,)", data.array()));
        assertArrayEquals(new float[] {0.1f, -3f}, a.data());
    }

    @Test
    @DisplayName("format version 2.0 (4-byte header length) is read")
    void readsVersion2() throws IOException {
        NpyArray a = Npy.read(npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }\n",
                RawSafeTensors.f32(1, 2)));
        assertArrayEquals(new long[] {1, 2}, a.shape());
        assertArrayEquals(new float[] {1, 2}, a.data());
    }

    @Test
    @DisplayName("Fortran order is rejected")
    void fortranOrder() throws IOException {
        rejects(f4("<f4", "True", "(2, 2)", new byte[16]), "fortran_order is True", "C order");
    }

    @ParameterizedTest(name = "big-endian dtype {0} is rejected")
    @ValueSource(strings = {">f4", ">f8"})
    void bigEndian(String descr) throws IOException {
        rejects(f4(descr, "False", "(2,)", new byte[16]), "big-endian", descr);
    }

    @ParameterizedTest(name = "dtype {0} is rejected, naming the supported ones")
    @ValueSource(strings = {"<i8", "<f2", "<c8"})
    void otherDtype(String descr) throws IOException {
        rejects(f4(descr, "False", "(2,)", new byte[16]), "unsupported dtype '" + descr + "'", "'<f4', '<f8' or '|u1'");
    }

    @Test
    @DisplayName("uint8 (|u1) arrays: written with numpy's header layout and read back widened to float, exactly")
    void uint8RoundTrip() throws IOException {
        Path f = dir.resolve("u8.npy");
        byte[] data = {0, 1, 9, (byte) 200, (byte) 255, 7};
        Npy.writeUint8(f, new long[] {3, 2}, data);
        byte[] bytes = Files.readAllBytes(f);
        String header = new String(bytes, 10, bytes.length - 10 - data.length, StandardCharsets.ISO_8859_1);
        assertTrue(header.startsWith("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 2), }"), header);
        assertEquals(0, (bytes.length - data.length) % 64, "data starts on a 64-byte boundary, as numpy writes it");
        NpyArray back = Npy.read(f);
        assertArrayEquals(new long[] {3, 2}, back.shape());
        assertArrayEquals(new float[] {0, 1, 9, 200, 255, 7}, back.data());
        assertThrows(IllegalArgumentException.class, () -> Npy.writeUint8(dir.resolve("bad.npy"), new long[] {4}, data));
    }

    @Test
    @DisplayName("truncated data and trailing bytes are rejected with expected and found byte counts")
    void dataLength() throws IOException {
        rejects(f4("<f4", "False", "(4, 10)", new byte[150]), "truncated data", "expected 160", "found 150");
        rejects(f4("<f4", "False", "(3,)", new byte[16]), "trailing bytes", "expected 12", "found 16");
    }

    @Test
    @DisplayName("a bad magic string is rejected")
    void badMagic() throws IOException {
        Path f = dir.resolve("x.npy");
        Files.write(f, "PK\u0003\u0004 not numpy at all".getBytes(StandardCharsets.ISO_8859_1));
        rejects(f, "bad magic");
    }

    @Test
    @DisplayName("a truncated preamble or header is rejected")
    void truncatedHeader() throws IOException {
        Path f = dir.resolve("x.npy");
        Files.write(f, new byte[] {(byte) 0x93, 'N', 'U'});
        rejects(f, "truncated");
        Files.write(f, new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 100, 0, '{'});
        rejects(f, "truncated", "header length 100");
    }

    @Test
    @DisplayName("an unknown format version is rejected")
    void unknownVersion() throws IOException {
        rejects(npy(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n", new byte[4]),
                "unsupported format version 3.0");
    }

    @ParameterizedTest(name = "header {0} is rejected")
    @ValueSource(strings = {"not a dict", "{'descr': '<f4', 'shape': (2,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1, }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': False 'shape': (2,), }"})
    void badHeader(String header) throws IOException {
        rejects(npy(1, header + "\n", new byte[8]), "header");
    }

    @ParameterizedTest(name = "shape {0} is rejected")
    @ValueSource(strings = {"(-2,)", "(2, x)", "'big'", "(,)", "(99999999999999999999,)"})
    void badShape(String shape) throws IOException {
        rejects(f4("<f4", "False", shape, new byte[8]), "shape " + shape + " is not a tuple of non-negative integers");
    }

    @Test
    @DisplayName("a failed write (parent is a plain file) creates nothing; a bad shape is refused up front")
    void failedWrites() throws IOException {
        Path notADirectory = dir.resolve("plain");
        Files.write(notADirectory, new byte[] {1});
        assertThrows(FileAlreadyExistsException.class,
                () -> Npy.write(notADirectory.resolve("a.npy"), new long[] {1}, new float[1]));
        assertThrows(IllegalArgumentException.class, () -> Npy.write(dir.resolve("a.npy"), new long[] {2, 2}, new float[3]));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(notADirectory), files.toList());
        }
    }

    @Test
    @DisplayName("a missing parent folder is created")
    void missingDirectoryIsCreated() throws IOException {
        Path f = dir.resolve("absent").resolve("a.npy");
        Npy.write(f, new long[] {2}, new float[] {1, 2});
        assertArrayEquals(new float[] {1, 2}, Npy.read(f).data());
        try (Stream<Path> files = Files.list(f.getParent())) {
            assertEquals(List.of(f), files.toList());
        }
    }
}
