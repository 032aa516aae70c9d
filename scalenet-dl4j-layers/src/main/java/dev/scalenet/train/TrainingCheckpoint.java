package dev.scalenet.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.io.AtomicFiles;
import dev.scalenet.io.Json;
import dev.scalenet.io.JsonFormatException;
import dev.scalenet.io.Nd4jArrays;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Everything a killed run needs to continue exactly: parameters, optimizer state, EMA weights and the run's
 * position and settings ({@code state.json}). One zip, written atomically, so a kill during the write leaves
 * the previous checkpoint intact.
 */
final class TrainingCheckpoint {
    private static final String STATE = "state.json";
    private static final String PARAMS = "params.bin";
    private static final String UPDATER = "updater.bin";
    private static final String EMA = "ema.bin";
    /** Adam's two moments a parameter: the most optimizer state a checkpoint of the trainer's holds. */
    private static final int OPTIMIZER_VALUES_PER_PARAM = 2;
    /** Room for the two buffer headers and the shape of a rank-2 array. */
    private static final long HEADER_BYTES = 4096;
    /** The run's position and identity are a few kilobytes; far more is not a state this class wrote. */
    private static final int MAX_STATE_BYTES = 1 << 20;

    final ObjectNode state;
    final INDArray params;
    final INDArray updater;
    final INDArray ema;

    TrainingCheckpoint(ObjectNode state, INDArray params, INDArray updater, INDArray ema) {
        this.state = state;
        this.params = params;
        this.updater = updater;
        this.ema = ema;
    }

    /** The optimizer steps taken; a loaded checkpoint's is a whole number, 0 or more. */
    long step() {
        return state.get("step").asLong();
    }

    /** Seconds spent training so far; a loaded checkpoint's is finite, 0 or more. */
    double trainSeconds() {
        return state.get("trainSeconds").asDouble();
    }

    void save(Path file) throws IOException {
        AtomicFiles.write(file, out -> {
            ZipOutputStream zip = new ZipOutputStream(out);
            put(zip, STATE, new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(state));
            put(zip, PARAMS, bytes(params));
            if (updater != null) put(zip, UPDATER, bytes(updater));
            if (ema != null) put(zip, EMA, bytes(ema));
            zip.finish();
        });
    }

    /**
     * Reads a checkpoint to resume {@code graph} from: its parameters, its optimizer state (which DL4J keeps only for
     * updaters that have one, so {@link #save} writes {@value #UPDATER} only then) and, when {@code withEma}, the EMA
     * weights. Each must be there and be exactly the size the graph needs; see {@link #load(Path, long, long, boolean)}.
     */
    static TrainingCheckpoint load(Path file, ComputationGraph graph, boolean withEma) throws IOException {
        INDArray optimizer = graph.getUpdater().getStateViewArray();
        return load(file, graph.numParams(), optimizer == null ? 0 : optimizer.length(), withEma);
    }

    /**
     * Reads a checkpoint to resume a model of {@code paramCount} parameters whose optimizer keeps
     * {@code optimizerValues} values (0: none, and the checkpoint must hold none), with EMA weights when
     * {@code withEma} (else they are not read). Everything is checked before it is used: {@code state.json} is an
     * object with a whole {@code step} of 0 or more and a finite {@code trainSeconds} of 0 or more; each array is a
     * vector ({@code [n]} or {@code [1, n]}) of finite float32 or float64 values, its headers agreeing with its shape
     * and with the bytes behind them, and {@code n} what the model needs. A damaged, foreign or incomplete file is an
     * {@link IOException} naming it, the entry and what was expected.
     */
    static TrainingCheckpoint load(Path file, long paramCount, long optimizerValues, boolean withEma) throws IOException {
        if (paramCount <= 0 || optimizerValues < 0) {
            throw new IllegalArgumentException("paramCount " + paramCount + ", optimizerValues " + optimizerValues
                    + ": expected a positive parameter count and 0 or more optimizer values");
        }
        return read(file, paramCount, zip -> {
            INDArray updater;
            if (optimizerValues == 0) {
                if (zip.has(UPDATER)) {
                    throw new IOException(file + ": " + UPDATER + ": holds optimizer state, expected none (this model's"
                            + " updaters keep no state)");
                }
                updater = null;
            } else {
                updater = zip.array(zip.require(UPDATER, "this model's optimizer state (" + optimizerValues + " values)"),
                        optimizerValues, true);
            }
            INDArray ema = withEma
                    ? zip.array(zip.require(EMA, "the EMA weights of this run (" + paramCount + " values)"), paramCount, true)
                    : null;
            return new Parts(updater, ema);
        });
    }

    /**
     * Reads a checkpoint to look at, not to resume: whatever optimizer state (at most Adam's two values per parameter)
     * and EMA weights it holds, each checked as {@link #load(Path, long, long, boolean)} checks them.
     */
    static TrainingCheckpoint load(Path file, long paramCount) throws IOException {
        return read(file, paramCount, zip -> new Parts(
                zip.has(UPDATER) ? zip.array(zip.entry(UPDATER), OPTIMIZER_VALUES_PER_PARAM * paramCount, false) : null,
                zip.has(EMA) ? zip.array(zip.entry(EMA), paramCount, true) : null));
    }

    /** The state entry alone ({@code step}, {@code trainSeconds}, the run's identity), checked as the loads check it. */
    static ObjectNode state(Path file) throws IOException {
        try (ZipFile zipFile = new ZipFile(file.toFile())) {
            Entries zip = new Entries(file, zipFile);
            if (!zip.has(STATE)) throw new IOException(file + ": not a training checkpoint (needs " + STATE + ")");
            return zip.state();
        } catch (ZipException e) {
            throw new IOException(file + ": not a readable training checkpoint zip: " + e.getMessage(), e);
        }
    }

    private record Parts(INDArray updater, INDArray ema) {
    }

    /** Reads the optimizer state and EMA weights, once the state and parameters have been read. */
    private interface PartsReader {
        Parts read(Entries zip) throws IOException;
    }

    private static TrainingCheckpoint read(Path file, long paramCount, PartsReader parts) throws IOException {
        try (ZipFile zipFile = new ZipFile(file.toFile())) {
            Entries zip = new Entries(file, zipFile);
            if (!zip.has(STATE) || !zip.has(PARAMS)) {
                throw new IOException(file + ": not a training checkpoint (needs " + STATE + " and " + PARAMS + ")");
            }
            ObjectNode state = zip.state();
            INDArray params = zip.array(zip.entry(PARAMS), paramCount, true);
            Parts rest = parts.read(zip);
            return new TrainingCheckpoint(state, params, rest.updater(), rest.ema());
        } catch (ZipException e) {
            throw new IOException(file + ": not a readable training checkpoint zip: " + e.getMessage(), e);
        }
    }

    private static void put(ZipOutputStream zip, String name, byte[] data) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(data);
        zip.closeEntry();
    }

    private static byte[] bytes(INDArray a) throws IOException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(buffer)) {
            Nd4j.write(a, out);
        }
        return buffer.toByteArray();
    }

    /** The entries of one checkpoint zip, read and checked one at a time. */
    private static final class Entries {
        private final Path file;
        private final ZipFile zip;
        private final Map<String, ZipEntry> entries = new HashMap<>();

        Entries(Path file, ZipFile zip) {
            this.file = file;
            this.zip = zip;
            zip.stream().forEach(e -> entries.put(e.getName(), e));
        }

        boolean has(String name) {
            return entries.containsKey(name);
        }

        ZipEntry entry(String name) {
            return entries.get(name);
        }

        ZipEntry require(String name, String expected) throws IOException {
            ZipEntry e = entries.get(name);
            if (e == null) throw new IOException(file + ": no " + name + ": expected " + expected + " to resume from");
            return e;
        }

        /** {@value #STATE}: an object whose {@code step} and {@code trainSeconds} say where the run stood. */
        ObjectNode state() throws IOException {
            String where = file + ": " + STATE;
            byte[] text;
            try (InputStream in = zip.getInputStream(entries.get(STATE))) {
                text = in.readNBytes(MAX_STATE_BYTES + 1);
            }
            if (text.length > MAX_STATE_BYTES) {
                throw new IOException(where + ": more than " + MAX_STATE_BYTES + " bytes: expected a small JSON object");
            }
            JsonNode node;
            try {
                node = Json.parse(text);
            } catch (JsonFormatException e) {
                throw new IOException(where + ": not valid JSON: " + e.getMessage(), e);
            }
            if (node == null || !node.isObject()) {
                throw new IOException(where + ": " + (node == null || node.isMissingNode() ? "empty" : "a JSON "
                        + node.getNodeType().toString().toLowerCase(Locale.ROOT)) + ": expected a JSON object");
            }
            JsonNode step = node.get("step");
            if (step == null || !step.isIntegralNumber() || !step.canConvertToLong() || step.asLong() < 0) {
                throw new IOException(where + ": \"step\" " + found(step) + ": expected a whole number of steps, 0 or more");
            }
            JsonNode seconds = node.get("trainSeconds");
            if (seconds == null || !seconds.isNumber() || !Double.isFinite(seconds.asDouble()) || seconds.asDouble() < 0) {
                throw new IOException(where + ": \"trainSeconds\" " + found(seconds) + ": expected a finite number of"
                        + " seconds, 0 or more");
            }
            return (ObjectNode) node;
        }

        private static String found(JsonNode field) {
            return field == null ? "is missing" : "is " + (field.isNumber() ? field.asText() : field.toString());
        }

        /**
         * The array in {@code entry}, a vector of exactly {@code expected} values or, unless {@code exact}, at most that
         * many, checked as {@link Nd4jArrays} checks it and made anew in its stored shape and type (graph.params() is
         * [n], an updater's state [1, n]), so nothing of its strides or flags is trusted. The headers may claim no more
         * than the largest array allowed.
         */
        INDArray array(ZipEntry entry, long expected, boolean exact) throws IOException {
            long cap = Math.min(Integer.MAX_VALUE, Math.min(expected, Integer.MAX_VALUE) * Double.BYTES + HEADER_BYTES);
            Nd4jArrays.Array stored;
            try (InputStream in = zip.getInputStream(entry)) {
                stored = Nd4jArrays.read(in, file + ": " + entry.getName(),
                        new Nd4jArrays.Expected(expected, exact, "values for this model"), Nd4jArrays.Shape.VECTOR, cap);
            }
            return stored.floats() != null ? Nd4j.create(stored.floats(), stored.shape(), DataType.FLOAT)
                    : Nd4j.create(stored.doubles(), stored.shape(), DataType.DOUBLE);
        }
    }
}
