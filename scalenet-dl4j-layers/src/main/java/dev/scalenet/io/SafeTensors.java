package dev.scalenet.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length N, N bytes of
 * UTF-8 JSON describing each tensor's dtype, shape and byte range, then the data section, whose
 * offsets count from byte 8 + N.
 *
 * <p>Reading validates everything before allocating and rejects non-finite values. Writing lays
 * files out as the reference (Rust/Python) library does for single-dtype checkpoints: names sorted,
 * contiguous data, compact JSON padded with spaces to a multiple of 8 bytes.
 */
public final class SafeTensors {
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    private static final String METADATA_KEY = "__metadata__";
    private static final int CHUNK_ELEMENTS = 64 * 1024;

    private record Entry(String name, DType dtype, long[] shape, int numel, long begin, long end) {
    }

    private SafeTensors() {
    }

    /** Reads every tensor as float32. */
    public static Checkpoint read(Path file) throws SafeTensorsException {
        String where = file.toAbsolutePath().toString();
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = in.size();
            if (size < 8) {
                throw fail(where, "truncated: the file has " + size
                        + " bytes, expected at least 8 for the header length");
            }
            long headerLength = FileIo.readFully(in, 0, ByteBuffer.allocate(8)).getLong();
            if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
                throw fail(where, "header length " + Long.toUnsignedString(headerLength)
                        + " is absurdly large: expected at most " + MAX_HEADER_BYTES + " bytes");
            }
            if (headerLength > size - 8) {
                throw fail(where, "header length " + headerLength + " runs past the end of the file: expected at most "
                        + (size - 8) + " (file size " + size + " minus 8)");
            }
            JsonNode root = parseHeader(where, FileIo.readFully(in, 8, ByteBuffer.allocate((int) headerLength)));
            long dataStart = 8 + headerLength;
            long dataLength = size - dataStart;

            Map<String, String> metadata = new LinkedHashMap<>();
            List<Entry> entries = new ArrayList<>();
            for (Map.Entry<String, JsonNode> field : root.properties()) {
                if (field.getKey().equals(METADATA_KEY)) {
                    metadata = parseMetadata(where, field.getValue());
                } else {
                    entries.add(parseEntry(where, field.getKey(), field.getValue(), dataLength));
                }
            }
            entries.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
            checkNoOverlap(where, entries);

            ByteBuffer chunk = ByteBuffer.allocate(CHUNK_ELEMENTS * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            List<Tensor> tensors = new ArrayList<>(entries.size());
            for (Entry entry : entries) {
                tensors.add(readTensor(where, in, dataStart, entry, chunk));
            }
            return new Checkpoint(file, tensors, metadata);
        } catch (SafeTensorsException e) {
            throw e;
        } catch (IOException e) {
            throw new SafeTensorsException(where + ": cannot read: " + e, e);
        }
    }

    /** Writes float32 tensors without metadata; see {@link #write(Path, Map, Map, DType)}. */
    public static void write(Path file, Map<String, Tensor> tensors) throws IOException {
        write(file, tensors, Map.of(), DType.F32);
    }

    /**
     * Atomically writes {@code tensors} (keyed by their names), all stored as {@code dtype}, sorted by
     * name with contiguous offsets. {@code metadata} is written in its iteration order and omitted
     * when empty. If anything fails, an existing {@code file} is left untouched.
     *
     * @throws IllegalArgumentException if a key differs from its tensor's name, a name is reserved,
     *     or a value is not finite (or overflows {@code dtype}), since {@link #read} would reject it
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata, DType dtype)
            throws IOException {
        Objects.requireNonNull(metadata, "metadata");
        Objects.requireNonNull(dtype, "dtype");
        SortedMap<String, Tensor> sorted = new TreeMap<>(tensors);
        for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
            if (e.getKey().equals(METADATA_KEY)) {
                throw new IllegalArgumentException("'" + METADATA_KEY + "' is reserved and cannot name a tensor");
            }
            if (!e.getKey().equals(e.getValue().name())) {
                throw new IllegalArgumentException(
                        "key '" + e.getKey() + "' differs from its tensor's name '" + e.getValue().name() + "'");
            }
        }
        byte[] header = header(sorted, metadata, dtype);
        String where = file.toAbsolutePath().toString();
        FileIo.writeAtomically(file, out -> {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
            FileIo.writeFully(out, length.flip());
            FileIo.writeFully(out, ByteBuffer.wrap(header));
            ByteBuffer chunk = ByteBuffer.allocate(CHUNK_ELEMENTS * dtype.bytesPerElement())
                    .order(ByteOrder.LITTLE_ENDIAN);
            for (Tensor t : sorted.values()) {
                writeValues(where, out, t, dtype, chunk);
            }
        });
    }

    private static JsonNode parseHeader(String where, ByteBuffer bytes) throws SafeTensorsException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes)
                    .toString();
        } catch (CharacterCodingException e) {
            throw fail(where, "header is not valid UTF-8");
        }
        JsonNode root;
        try {
            root = Json.parse(text);
        } catch (JsonFormatException e) {
            throw fail(where, "header is not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw fail(where, "header must be a JSON object, found " + kind(root));
        }
        return root;
    }

    private static Map<String, String> parseMetadata(String where, JsonNode node) throws SafeTensorsException {
        if (!node.isObject()) {
            throw fail(where, "'" + METADATA_KEY + "' must be an object of strings, found " + kind(node));
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            if (!field.getValue().isTextual()) {
                throw fail(where, "'" + METADATA_KEY + "' value for '" + field.getKey()
                        + "' must be a string, found " + kind(field.getValue()));
            }
            metadata.put(field.getKey(), field.getValue().textValue());
        }
        return metadata;
    }

    private static Entry parseEntry(String where, String name, JsonNode node, long dataLength)
            throws SafeTensorsException {
        if (!node.isObject()) {
            throw fail(where, name, "entry must be an object, found " + kind(node));
        }
        JsonNode dtypeNode = field(where, name, node, "dtype");
        if (!dtypeNode.isTextual()) {
            throw fail(where, name, "'dtype' must be a string, found " + dtypeNode);
        }
        DType dtype = DType.fromSafetensorsName(dtypeNode.textValue()).orElseThrow(() -> fail(where, name,
                "unsupported dtype '" + dtypeNode.textValue() + "'; supported: " + DType.supportedNames()));
        long[] shape = naturals(where, name, field(where, name, node, "shape"), "shape", -1);
        long[] offsets = naturals(where, name, field(where, name, node, "data_offsets"), "data_offsets", 2);
        long begin = offsets[0];
        long end = offsets[1];
        String range = "data_offsets [" + begin + ", " + end + "]";
        if (begin > end) {
            throw fail(where, name, range + ": begin is after end");
        }
        if (end > dataLength) {
            throw fail(where, name, range + " end past the data section: expected end <= " + dataLength
                    + ", found " + end);
        }
        long numel = Shapes.numel(shape);
        long bytesPerElement = dtype.bytesPerElement();
        if (numel < 0 || numel > Long.MAX_VALUE / bytesPerElement) {
            throw fail(where, name, "shape " + Shapes.format(shape) + " has too many elements");
        }
        long expected = numel * bytesPerElement;
        if (end - begin != expected) {
            throw fail(where, name, range + " span " + (end - begin) + " bytes, expected " + expected
                    + " (shape " + Shapes.format(shape) + " = " + numel + " elements of " + bytesPerElement
                    + " bytes for " + dtype + ")");
        }
        if (numel > Shapes.MAX_ARRAY_LENGTH) {
            throw fail(where, name, "shape " + Shapes.format(shape) + " has " + numel
                    + " elements, more than a Java array holds (" + Shapes.MAX_ARRAY_LENGTH + ")");
        }
        return new Entry(name, dtype, shape, (int) numel, begin, end);
    }

    private static JsonNode field(String where, String name, JsonNode entry, String key) throws SafeTensorsException {
        JsonNode value = entry.get(key);
        if (value == null) {
            throw fail(where, name, "entry lacks '" + key + "'");
        }
        return value;
    }

    /** A JSON array of non-negative integers that fit in a long, of the given length (-1: any). */
    private static long[] naturals(String where, String name, JsonNode node, String key, int length)
            throws SafeTensorsException {
        String expected = "'" + key + "' must be an array of " + (length < 0 ? "" : length + " ")
                + "non-negative integers, found ";
        if (!node.isArray() || (length >= 0 && node.size() != length)) {
            throw fail(where, name, expected + node);
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode n = node.get(i);
            if (!n.isIntegralNumber() || !n.canConvertToLong() || n.longValue() < 0) {
                throw fail(where, name, expected + node);
            }
            values[i] = n.longValue();
        }
        return values;
    }

    /** Expects entries sorted by begin offset. Empty ranges overlap nothing. */
    private static void checkNoOverlap(String where, List<Entry> entries) throws SafeTensorsException {
        Entry reach = null;
        for (Entry e : entries) {
            if (e.begin() == e.end()) {
                continue;
            }
            if (reach != null && e.begin() < reach.end()) {
                throw fail(where, "tensors '" + reach.name() + "' and '" + e.name() + "' overlap: '" + reach.name()
                        + "' has data_offsets [" + reach.begin() + ", " + reach.end() + "], '" + e.name()
                        + "' has [" + e.begin() + ", " + e.end() + "]");
            }
            if (reach == null || e.end() > reach.end()) {
                reach = e;
            }
        }
    }

    private static Tensor readTensor(String where, FileChannel in, long dataStart, Entry entry, ByteBuffer chunk)
            throws IOException {
        int bytesPerElement = entry.dtype().bytesPerElement();
        float[] values = new float[entry.numel()];
        long position = dataStart + entry.begin();
        for (int done = 0; done < values.length; ) {
            int count = Math.min(CHUNK_ELEMENTS, values.length - done);
            chunk.clear().limit(count * bytesPerElement);
            FileIo.readFully(in, position, chunk);
            entry.dtype().decode(chunk, values, done, count);
            done += count;
            position += (long) count * bytesPerElement;
        }
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw fail(where, entry.name(), "non-finite value " + values[i] + " at flat index " + i);
            }
        }
        return new Tensor(entry.name(), entry.shape(), values, entry.dtype());
    }

    private static void writeValues(String where, FileChannel out, Tensor tensor, DType dtype, ByteBuffer chunk)
            throws IOException {
        float[] values = tensor.values();
        for (int from = 0; from < values.length; from += CHUNK_ELEMENTS) {
            chunk.clear();
            int bad = dtype.encode(values, from, Math.min(values.length, from + CHUNK_ELEMENTS), chunk);
            if (bad >= 0) {
                String problem = Float.isFinite(values[bad]) ? "overflows " + dtype : "is not finite";
                throw new IllegalArgumentException(where + ": tensor '" + tensor.name() + "': value " + values[bad]
                        + " at flat index " + bad + " " + problem + "; safetensors values must be finite");
            }
            FileIo.writeFully(out, chunk.flip());
        }
    }

    /** The header JSON as the reference library writes it: compact, space-padded to 8 bytes. */
    private static byte[] header(SortedMap<String, Tensor> tensors, Map<String, String> metadata, DType dtype) {
        StringBuilder json = new StringBuilder("{");
        if (!metadata.isEmpty()) {
            quote(json, METADATA_KEY).append(":{");
            String separator = "";
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                quote(json.append(separator), e.getKey()).append(':');
                quote(json, e.getValue());
                separator = ",";
            }
            json.append('}');
        }
        long offset = 0;
        for (Tensor t : tensors.values()) {
            long end = offset + t.numel() * dtype.bytesPerElement();
            if (json.length() > 1) {
                json.append(',');
            }
            quote(json, t.name()).append(":{\"dtype\":");
            quote(json, dtype.safetensorsName()).append(",\"shape\":[");
            long[] shape = t.shape();
            for (int i = 0; i < shape.length; i++) {
                json.append(i == 0 ? "" : ",").append(shape[i]);
            }
            json.append("],\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
            offset = end;
        }
        json.append('}');
        byte[] utf8 = json.toString().getBytes(StandardCharsets.UTF_8);
        byte[] padded = Arrays.copyOf(utf8, (utf8.length + 7) / 8 * 8);
        Arrays.fill(padded, utf8.length, padded.length, (byte) ' ');
        return padded;
    }

    /** Appends a JSON string escaped as serde_json does, so headers match the reference byte for byte. */
    private static StringBuilder quote(StringBuilder json, String s) {
        json.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> json.append("\\\"");
                case '\\' -> json.append("\\\\");
                case '\b' -> json.append("\\b");
                case '\f' -> json.append("\\f");
                case '\n' -> json.append("\\n");
                case '\r' -> json.append("\\r");
                case '\t' -> json.append("\\t");
                default -> {
                    if (c < 0x20) {
                        json.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        json.append(c);
                    }
                }
            }
        }
        return json.append('"');
    }

    private static String kind(JsonNode node) {
        return node == null ? "nothing" : node.getNodeType().name().toLowerCase(Locale.ROOT);
    }

    private static SafeTensorsException fail(String where, String problem) {
        return new SafeTensorsException(where + ": " + problem);
    }

    private static SafeTensorsException fail(String where, String tensor, String problem) {
        return new SafeTensorsException(where + ": tensor '" + tensor + "': " + problem);
    }
}
