package dev.scalenet.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** Builds safetensors files byte by byte and takes them apart independently of {@link SafeTensors}. */
final class RawSafeTensors {
    private RawSafeTensors() {
    }

    /** Writes the header length, the header exactly as given, then the data section. */
    static Path write(Path file, String header, byte[] data) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        return write(file, concat(u64(json.length), json, data));
    }

    static Path write(Path file, byte[] bytes) throws IOException {
        Files.write(file, bytes);
        return file;
    }

    static byte[] u64(long value) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array();
    }

    static byte[] f32(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    /** 16-bit patterns, little-endian, for F16 and BF16 data. */
    static byte[] u16(int... bits) {
        ByteBuffer b = ByteBuffer.allocate(2 * bits.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : bits) {
            b.putShort((short) v);
        }
        return b.array();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** Each tensor's raw bytes, found by parsing the header with Jackson directly. */
    static Map<String, byte[]> tensorData(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        String header = header(file);
        int dataStart = 8 + header.getBytes(StandardCharsets.UTF_8).length;
        Map<String, byte[]> data = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : new ObjectMapper().readTree(header).properties()) {
            if (!e.getKey().equals("__metadata__")) {
                JsonNode offsets = e.getValue().get("data_offsets");
                data.put(e.getKey(), Arrays.copyOfRange(bytes,
                        dataStart + offsets.get(0).asInt(), dataStart + offsets.get(1).asInt()));
            }
        }
        return data;
    }

    /** The header JSON text, including any padding. */
    static String header(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        int headerLength = (int) ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return new String(bytes, 8, headerLength, StandardCharsets.UTF_8);
    }
}
