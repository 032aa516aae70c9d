package dev.scalenet.vit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import dev.scalenet.io.AtomicFiles;
import dev.scalenet.io.Json;
import dev.scalenet.io.JsonFormatException;
import dev.scalenet.io.Nd4jArrays;
import dev.scalenet.io.ZipDirectory;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

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
    private static final int JAVA_STREAM_MAGIC = 0xaced0005;
    private static final int TC_STRING = 0x74;
    /** The earliest time a zip entry can record (DOS time starts in 1980). */
    private static final LocalDateTime ENTRY_TIME = LocalDateTime.of(1980, 1, 1, 0, 0);

    private static final ObjectWriter PRETTY = new ObjectMapper().writerWithDefaultPrettyPrinter();

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
            zip.write(PRETTY.writeValueAsBytes(metadata));
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

        /** The flat parameter vector as ND4J writes it ({@link Nd4jArrays}), float64 values narrowed to float32. */
        private INDArray coefficients(ZipFile zip, long expected) throws IOException {
            ZipEntry entry = require(zip, COEFFICIENTS);
            Nd4jArrays.Array stored;
            try (InputStream in = bounded(COEFFICIENTS, entry, zip, MAX_COEFFICIENT_BYTES)) {
                stored = Nd4jArrays.read(in, where + " (entry " + COEFFICIENTS + ")",
                        new Nd4jArrays.Expected(expected, true, "parameters " + CONFIGURATION + " describes"),
                        Nd4jArrays.Shape.ANY, MAX_COEFFICIENT_BYTES);
            } catch (Nd4jArrays.Malformed e) {
                throw new ModelZipException(e.getMessage(), e);
            }
            long[] shape = {1, expected};
            return stored.floats() != null ? Nd4j.create(stored.floats(), shape, DataType.FLOAT)
                    : Nd4j.create(stored.doubles(), shape, DataType.FLOAT);
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
                JsonNode node = Json.parse(text);
                if (node.isMissingNode()) throw fail(name, "empty: expected JSON");
                return node;
            } catch (JsonFormatException e) {
                throw fail(name, "not valid JSON: " + e.getMessage(), e);
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
