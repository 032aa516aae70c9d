package dev.scalenet.vit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.scalenet.io.AtomicFiles;
import dev.scalenet.io.ZipDirectory;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UTFDataFormatException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * The model zip: DL4J's {@code ModelSerializer} layout ({@value #CONFIGURATION}, {@value #COEFFICIENTS}), so plain
 * DL4J code can restore the graph, plus our metadata as the JSON entry {@value #METADATA}.
 *
 * <p>Model zips arrive by Maven coordinates from remote repositories, so reading treats them as hostile: no Java
 * deserialization of any entry (DL4J's own reader would deserialize some), every entry read is bounded while it
 * inflates (a zip bomb stops at the bound), JSON nesting is bounded, the configuration may only name classes of
 * DL4J, ND4J and this library, and the coefficients' header must agree with the configuration before anything is
 * allocated. Entries not listed here are never read. The zip must have one meaning ({@link ZipDirectory}: no name twice,
 * local headers agreeing with the central directory), and the graph must be one this library builds
 * ({@link ModelValidation}), checked before its parameters are counted or allocated.
 */
final class ModelZip {
    static final String CONFIGURATION = "configuration.json";
    static final String COEFFICIENTS = "coefficients.bin";
    static final String METADATA = "scalenet.json";
    /** Version 0.1 stored the metadata JSON as a Java-serialized String here (ModelSerializer.addObjectToFile). */
    static final String LEGACY_METADATA = "objects/scalenet-metadata";

    static final long MAX_CONFIGURATION_BYTES = 4L << 20;
    static final long MAX_METADATA_BYTES = 1L << 20;
    /** float32 parameters of a ViT-Large (304 M) fit; larger is not a model this library trains on a CPU. */
    static final long MAX_COEFFICIENT_BYTES = 1536L << 20;
    /**
     * What one load inflates at most: each entry above is read once (the 0.1 metadata only without {@value #METADATA})
     * and no other entry is inflated, so the bounds per entry bound the whole zip.
     */
    static final long MAX_TOTAL_BYTES = MAX_CONFIGURATION_BYTES + MAX_COEFFICIENT_BYTES + MAX_METADATA_BYTES;
    static final int MAX_JSON_DEPTH = 64;
    /** ND4J's buffer headers (an allocation-mode name, a long length, a data-type name) as M2.1 writes them. */
    private static final List<String> BUFFER_MODES = List.of("MIXED_DATA_TYPES", "LONG_SHAPE");
    private static final int MAX_RANK = 32;
    private static final int VALUES_FIRST_CHUNK = 1 << 20;
    private static final int JAVA_STREAM_MAGIC = 0xaced0005;
    private static final int TC_STRING = 0x74;
    /** The earliest time a zip entry can record (DOS time starts in 1980). */
    private static final LocalDateTime ENTRY_TIME = LocalDateTime.of(1980, 1, 1, 0, 0);

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    static {
        JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_JSON_DEPTH).build());
    }

    /**
     * What a model zip holds: the graph and our metadata, with the entry it came from (both null in a plain DL4J
     * zip).
     */
    record Contents(ComputationGraph graph, JsonNode metadata, String metadataEntry) {
    }

    private ModelZip() {
    }

    /**
     * Writes the graph's configuration and parameters (no updater state) and the metadata, atomically. The entries
     * carry a fixed timestamp, so the same model gives the same bytes (reproducible builds, comparable SHA-256s).
     */
    static void write(Path file, ComputationGraph graph, JsonNode metadata) throws IOException {
        AtomicFiles.write(file, out -> {
            ZipOutputStream zip = new ZipOutputStream(out);
            zip.putNextEntry(entry(CONFIGURATION));
            zip.write(graph.getConfiguration().toJson().getBytes(StandardCharsets.UTF_8));
            zip.closeEntry();
            zip.putNextEntry(entry(COEFFICIENTS));
            DataOutputStream data = new DataOutputStream(new BufferedOutputStream(zip));
            Nd4j.write(graph.params(), data);
            data.flush();
            zip.closeEntry();
            zip.putNextEntry(entry(METADATA));
            zip.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(metadata));
            zip.closeEntry();
            zip.finish();
        });
    }

    private static ZipEntry entry(String name) {
        ZipEntry e = new ZipEntry(name);
        e.setTimeLocal(ENTRY_TIME);
        return e;
    }

    /** Reads a model zip; every failure is a {@link ModelZipException} naming the file and the entry. */
    static Contents read(Path file) throws ModelZipException {
        return new Reader(file).read();
    }

    /** One read of one zip, with its name for messages. */
    private static final class Reader {
        private final Path file;
        private final String where;

        Reader(Path file) {
            this.file = file;
            this.where = file.toAbsolutePath().toString();
        }

        Contents read() throws ModelZipException {
            try {
                ZipDirectory.check(file);
            } catch (ZipDirectory.Inconsistent e) {
                throw e.entry() != null ? fail(e.entry(), e.getMessage(), e) : unreadable(e);
            } catch (IOException e) {
                throw unreadable(e);
            }
            try (ZipFile zip = new ZipFile(file.toFile())) {
                ComputationGraphConfiguration conf = configuration(zip);
                try {
                    ModelValidation.check(conf); // before the counts below, which trust the layers' fields
                } catch (IllegalArgumentException e) {
                    throw fail(CONFIGURATION, e.getMessage(), e);
                }
                long numParams = numParams(conf);
                INDArray params = coefficients(zip, numParams);
                ComputationGraph graph;
                try {
                    conf.setDataType(DataType.FLOAT);
                    graph = new ComputationGraph(conf);
                    graph.init(params, false);
                } catch (RuntimeException e) {
                    throw fail(CONFIGURATION, "does not build a ComputationGraph: " + e.getMessage(), e);
                }
                String entry = zip.getEntry(METADATA) != null ? METADATA
                        : zip.getEntry(LEGACY_METADATA) != null ? LEGACY_METADATA : null;
                return new Contents(graph, metadata(zip), entry);
            } catch (ModelZipException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                // ZipFile's ways of saying the central directory is missing, cut short or inconsistent
                throw unreadable(e);
            }
        }

        private ModelZipException unreadable(Exception e) {
            return new ModelZipException(where + ": not a readable zip (expected a model zip with " + CONFIGURATION
                    + " and " + COEFFICIENTS + "): " + e.getMessage(), e);
        }

        private ComputationGraphConfiguration configuration(ZipFile zip) throws IOException {
            String text = text(CONFIGURATION, require(zip, CONFIGURATION), zip, MAX_CONFIGURATION_BYTES);
            parseJson(CONFIGURATION, text); // the nesting bound, before DL4J's mapper (which has none) reads it
            try {
                TypeIdAllowlist.bind(text);
                // DL4J's own reading, for its handling of older layouts; it names only classes the binding above allowed
                return ComputationGraphConfiguration.fromJson(text);
            } catch (TypeIdAllowlist.DeniedClass e) {
                throw fail(CONFIGURATION, e.getMessage(), e);
            } catch (IOException | RuntimeException e) {
                throw fail(CONFIGURATION, "not a DL4J ComputationGraph configuration: " + e.getMessage(), e);
            }
        }

        private long numParams(ComputationGraphConfiguration conf) throws ModelZipException {
            long total = 0;
            try {
                for (Map.Entry<String, GraphVertex> v : conf.getVertices().entrySet()) {
                    long n = v.getValue().numParams(true);
                    if (n < 0) throw fail(CONFIGURATION, "vertex '" + v.getKey() + "' has " + n + " parameters");
                    total = Math.addExact(total, n);
                }
            } catch (ModelZipException e) {
                throw e;
            } catch (RuntimeException e) {
                throw fail(CONFIGURATION, "cannot count the graph's parameters: " + e, e);
            }
            if (total == 0 || total > MAX_COEFFICIENT_BYTES / Float.BYTES) {
                throw fail(CONFIGURATION, "describes a graph of " + total + " parameters: expected 1 to "
                        + MAX_COEFFICIENT_BYTES / Float.BYTES);
            }
            return total;
        }

        /** The flat parameter vector as ND4J writes it: a shape buffer, then a data buffer of float32 or float64. */
        private INDArray coefficients(ZipFile zip, long expected) throws IOException {
            ZipEntry entry = require(zip, COEFFICIENTS);
            // Buffered: DataInputStream reads a value a byte call at a time, and each unbuffered call reached the zip's file.
            try (DataInputStream in = new DataInputStream(new BufferedInputStream(
                    bounded(COEFFICIENTS, entry, zip, MAX_COEFFICIENT_BYTES), 1 << 16))) {
                long shapeLength = bufferHeader(in, "shape", List.of("LONG")).length();
                if (shapeLength < 4 || shapeLength > 2 * MAX_RANK + 4 || (shapeLength - 4) % 2 != 0) {
                    throw fail(COEFFICIENTS, "shape buffer of length " + shapeLength + ": expected 2 * rank + 4 for a rank"
                            + " of at most " + MAX_RANK);
                }
                long[] shapeInfo = new long[(int) shapeLength];
                for (int i = 0; i < shapeInfo.length; i++) shapeInfo[i] = in.readLong();
                int rank = (int) (shapeLength - 4) / 2;
                long numel = 1;
                for (int i = 1; i <= rank; i++) {
                    if (shapeInfo[i] < 0) throw fail(COEFFICIENTS, "negative dimension " + shapeInfo[i] + " in the shape");
                    numel = shapeInfo[i] == 0 ? 0 : numel > Long.MAX_VALUE / shapeInfo[i] ? -1 : numel * shapeInfo[i];
                    if (numel < 0) throw fail(COEFFICIENTS, "the shape's size overflows");
                }
                if (shapeInfo[0] != rank || numel != expected) {
                    throw fail(COEFFICIENTS, "shape info " + Arrays.toString(shapeInfo) + " holds " + numel
                            + " values: expected a vector of the " + expected + " parameters " + CONFIGURATION
                            + " describes");
                }
                BufferHeader data = bufferHeader(in, "data", List.of("FLOAT", "DOUBLE"));
                if (data.length() != expected) {
                    throw fail(COEFFICIENTS, "data buffer of " + data.length() + " values: expected the " + expected
                            + " parameters " + CONFIGURATION + " describes");
                }
                float[] values = readValues(in, (int) expected, data.type().equals("DOUBLE"));
                if (in.read() >= 0) throw fail(COEFFICIENTS, "trailing bytes after the " + expected + " parameters");
                return Nd4j.createFromArray(values).reshape(1, expected);
            } catch (EOFException e) {
                throw fail(COEFFICIENTS, "truncated: ends before the " + expected + " parameters " + CONFIGURATION
                        + " describes", e);
            }
        }

        /** Grows the array with the values actually there, so a header claiming millions in a tiny entry allocates little. */
        private float[] readValues(DataInputStream in, int count, boolean doubles) throws IOException {
            float[] values = new float[Math.min(count, VALUES_FIRST_CHUNK)];
            for (int i = 0; i < count; i++) {
                if (i == values.length) values = Arrays.copyOf(values, (int) Math.min(count, 2L * values.length));
                double v = doubles ? in.readDouble() : in.readFloat();
                if (!Double.isFinite(v)) throw fail(COEFFICIENTS, "parameter " + i + " is " + v + ": expected finite values");
                values[i] = (float) v;
            }
            return values;
        }

        private record BufferHeader(long length, String type) {
        }

        /** An ND4J buffer header: allocation mode, length, data type (one of {@code types}). */
        private BufferHeader bufferHeader(DataInputStream in, String which, List<String> types) throws IOException {
            String mode = utf(in, which);
            if (!BUFFER_MODES.contains(mode)) {
                throw fail(COEFFICIENTS, which + " buffer has allocation mode '" + mode + "': expected one of " + BUFFER_MODES
                        + " (older ND4J formats are not read; re-save the model)");
            }
            long length = in.readLong();
            String type = utf(in, which);
            if (!types.contains(type)) {
                throw fail(COEFFICIENTS, which + " buffer has data type '" + type + "': expected one of " + types);
            }
            return new BufferHeader(length, type);
        }

        private String utf(DataInputStream in, String which) throws IOException {
            try {
                return in.readUTF();
            } catch (UTFDataFormatException e) {
                throw fail(COEFFICIENTS, which + " buffer header is not modified UTF-8 text", e);
            }
        }

        private JsonNode metadata(ZipFile zip) throws IOException {
            ZipEntry json = zip.getEntry(METADATA);
            if (json != null) {
                JsonNode meta = parseJson(METADATA, text(METADATA, json, zip, MAX_METADATA_BYTES));
                if (!meta.isObject()) throw fail(METADATA, "expected a JSON object, found " + meta.getNodeType());
                return meta;
            }
            ZipEntry legacy = zip.getEntry(LEGACY_METADATA);
            if (legacy == null) return null; // a plain DL4J zip of one of our graphs: defaults apply
            JsonNode meta = parseJson(LEGACY_METADATA, legacyString(zip, legacy));
            if (!meta.isObject()) throw fail(LEGACY_METADATA, "expected a JSON object, found " + meta.getNodeType());
            return meta;
        }

        /**
         * Version 0.1's metadata: Java serialization of one String, i.e. the stream magic, {@code TC_STRING}, then the
         * string as {@link DataInputStream#readUTF} reads it. Decoded by hand, so no other serialized content is ever
         * handed to {@code ObjectInputStream}.
         */
        private String legacyString(ZipFile zip, ZipEntry entry) throws IOException {
            String expected = "a Java-serialized String holding JSON, as version 0.1 wrote it (re-export the model with"
                    + " this version to get a " + METADATA + " entry)";
            try (DataInputStream in = new DataInputStream(bounded(LEGACY_METADATA, entry, zip, MAX_METADATA_BYTES))) {
                if (in.readInt() != JAVA_STREAM_MAGIC || in.read() != TC_STRING) {
                    throw fail(LEGACY_METADATA, "expected " + expected);
                }
                String text = in.readUTF();
                if (in.read() >= 0) throw fail(LEGACY_METADATA, "trailing bytes after the string: expected " + expected);
                return text;
            } catch (EOFException | UTFDataFormatException e) {
                throw fail(LEGACY_METADATA, "truncated or malformed: expected " + expected, e);
            }
        }

        private ZipEntry require(ZipFile zip, String name) throws ModelZipException {
            ZipEntry entry = zip.getEntry(name);
            if (entry == null || entry.isDirectory()) {
                throw new ModelZipException(where + ": no entry " + name + ": expected a model zip with " + CONFIGURATION
                        + " and " + COEFFICIENTS + " (as DL4J's ModelSerializer writes them)");
            }
            return entry;
        }

        private String text(String name, ZipEntry entry, ZipFile zip, long limit) throws IOException {
            byte[] bytes;
            try (InputStream in = bounded(name, entry, zip, limit)) {
                bytes = in.readAllBytes();
            }
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                throw fail(name, "not UTF-8 text: expected JSON", e);
            }
        }

        private JsonNode parseJson(String name, String text) throws ModelZipException {
            try {
                JsonNode node = JSON.readTree(text);
                if (node == null || node.isMissingNode()) throw fail(name, "empty: expected JSON");
                return node;
            } catch (JsonProcessingException e) {
                throw fail(name, "not valid JSON (nesting at most " + MAX_JSON_DEPTH + " deep): "
                        + e.getOriginalMessage(), e);
            }
        }

        /** The entry's bytes as they inflate, failing once more than {@code limit} come out. */
        private InputStream bounded(String name, ZipEntry entry, ZipFile zip, long limit) throws IOException {
            if (entry.getSize() > limit) {
                throw fail(name, "declares " + entry.getSize() + " bytes uncompressed: expected at most " + limit);
            }
            InputStream raw;
            try {
                raw = zip.getInputStream(entry);
            } catch (ZipException e) {
                throw fail(name, "cannot be opened: " + e.getMessage(), e);
            }
            return new FilterInputStream(raw) {
                private long read;

                @Override
                public int read() throws IOException {
                    int b = guarded(() -> super.read());
                    if (b >= 0) count(1);
                    return b;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    int n = guarded(() -> super.read(b, off, len));
                    if (n > 0) count(n);
                    return n;
                }

                private void count(int n) throws ModelZipException {
                    read += n;
                    if (read > limit) {
                        throw fail(name, "inflates to more than " + limit + " bytes: expected at most that (a zip bomb?)");
                    }
                }

                private int guarded(IoCall call) throws ModelZipException {
                    try {
                        return call.run();
                    } catch (EOFException e) {
                        throw fail(name, "truncated: the compressed data ends early", e);
                    } catch (IOException | RuntimeException e) {
                        throw fail(name, "corrupt compressed data: " + e.getMessage(), e);
                    }
                }
            };
        }

        private ModelZipException fail(String entry, String problem) {
            return new ModelZipException(where + " (entry " + entry + "): " + problem);
        }

        private ModelZipException fail(String entry, String problem, Throwable cause) {
            return new ModelZipException(where + " (entry " + entry + "): " + problem, cause);
        }
    }

    @FunctionalInterface
    private interface IoCall {
        int run() throws IOException;
    }
}
