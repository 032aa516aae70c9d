package dev.scalenet.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.io.AtomicFiles;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
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

    long step() {
        return state.get("step").asLong();
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
     * Reads a checkpoint of a model of {@code paramCount} parameters. Its arrays are checked against that before they
     * are allocated: the parameters and EMA weights must hold exactly {@code paramCount} values, the optimizer state at
     * most Adam's two per parameter, and each header must agree with the bytes behind it. A damaged or foreign file is
     * an {@link IOException} naming it and the entry, not an allocation of whatever its header claims.
     */
    static TrainingCheckpoint load(Path file, long paramCount) throws IOException {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            Map<String, ZipEntry> entries = new HashMap<>();
            zip.stream().forEach(e -> entries.put(e.getName(), e));
            if (!entries.containsKey(STATE) || !entries.containsKey(PARAMS)) {
                throw new IOException(file + ": not a training checkpoint (needs " + STATE + " and " + PARAMS + ")");
            }
            ObjectNode state;
            try (InputStream in = zip.getInputStream(entries.get(STATE))) {
                state = (ObjectNode) new ObjectMapper().readTree(in);
            }
            return new TrainingCheckpoint(state, read(file, zip, entries.get(PARAMS), paramCount, true),
                    read(file, zip, entries.get(UPDATER), OPTIMIZER_VALUES_PER_PARAM * paramCount, false),
                    read(file, zip, entries.get(EMA), paramCount, true));
        } catch (java.util.zip.ZipException e) {
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

    /**
     * The array in {@code entry} (null when absent), holding exactly {@code values} values or, unless {@code exact}, at
     * most that many. ND4J's format is two buffers, shape then data, each {@code [mode (UTF), length (long), type
     * (UTF), values]}; both headers are checked against the bytes read, which are capped by the largest array allowed.
     */
    private static INDArray read(Path file, ZipFile zip, ZipEntry entry, long values, boolean exact) throws IOException {
        if (entry == null) return null;
        String where = file + ": " + entry.getName();
        long cap = Math.min(Integer.MAX_VALUE - 16L, values * Double.BYTES + HEADER_BYTES);
        byte[] data;
        try (InputStream in = zip.getInputStream(entry)) {
            data = in.readNBytes((int) cap + 1);
        }
        if (data.length > cap) {
            throw new IOException(where + ": more than the " + values + " values a checkpoint of this model holds");
        }
        try {
            DataInputStream header = new DataInputStream(new ByteArrayInputStream(data));
            long shapeValues = bufferHeader(header, where);
            header.skipNBytes(shapeValues * Long.BYTES);
            long count = bufferHeader(header, where);
            if (exact ? count != values : count > values) {
                throw new IOException(where + ": holds " + count + " values, expected " + (exact ? "" : "at most ") + values
                        + " for this model");
            }
            return Nd4j.read(new DataInputStream(new ByteArrayInputStream(data)));
        } catch (java.io.EOFException | java.io.UTFDataFormatException | RuntimeException e) {
            throw new IOException(where + ": not an array this project wrote (" + e + ")", e);
        }
    }

    /** Reads one buffer header and returns its length, checking that its values are there. */
    private static long bufferHeader(DataInputStream in, String where) throws IOException {
        in.readUTF(); // allocation mode
        long length = in.readLong();
        int width = DataType.valueOf(in.readUTF()).width();
        if (length < 0 || length > in.available() / Math.max(1, width)) {
            throw new IOException(where + ": a buffer header claims " + length + " values, the entry holds "
                    + in.available() + " bytes after it");
        }
        return length;
    }
}
