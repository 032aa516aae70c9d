package dev.scalenet.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.io.AtomicFiles;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

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

    static TrainingCheckpoint load(Path file) throws IOException {
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
            return new TrainingCheckpoint(state, read(zip, entries.get(PARAMS)), read(zip, entries.get(UPDATER)),
                    read(zip, entries.get(EMA)));
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

    private static INDArray read(ZipFile zip, ZipEntry entry) throws IOException {
        if (entry == null) return null;
        try (DataInputStream in = new DataInputStream(zip.getInputStream(entry))) {
            return Nd4j.read(in);
        }
    }
}
