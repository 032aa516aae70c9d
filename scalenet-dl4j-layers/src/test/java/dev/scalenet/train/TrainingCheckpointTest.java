package dev.scalenet.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A checkpoint reads back what was saved, and refuses a damaged or foreign one by name before allocating its arrays. */
class TrainingCheckpointTest {
    private static final long PARAMS = 40;

    @TempDir
    Path dir;

    private static ObjectNode state() {
        return new ObjectMapper().createObjectNode().put("step", 7);
    }

    private static INDArray values(long n) {
        return Nd4j.linspace(-1, 1, n, DataType.FLOAT).reshape(1, n);
    }

    @Test
    @DisplayName("parameters, optimizer state and EMA weights come back bit for bit, with the step")
    void roundTrip() throws IOException {
        Path file = dir.resolve("checkpoint.zip");
        new TrainingCheckpoint(state(), values(PARAMS), values(2 * PARAMS), values(PARAMS).mul(3)).save(file);
        TrainingCheckpoint c = TrainingCheckpoint.load(file, PARAMS);
        assertEquals(7, c.step());
        assertArrayEquals(values(PARAMS).data().asInt(), c.params.data().asInt());
        assertArrayEquals(values(2 * PARAMS).data().asInt(), c.updater.data().asInt());
        assertArrayEquals(values(PARAMS).mul(3).data().asInt(), c.ema.data().asInt());
        new TrainingCheckpoint(state(), values(PARAMS), null, null).save(file);
        assertNull(TrainingCheckpoint.load(file, PARAMS).ema, "no EMA saved: none loaded");
    }

    @Test
    @DisplayName("a checkpoint of another model's size names the entry, what it holds and what this model needs")
    void otherModel() throws IOException {
        Path file = dir.resolve("checkpoint.zip");
        new TrainingCheckpoint(state(), values(PARAMS), values(2 * PARAMS), null).save(file);
        IOException fewer = assertThrows(IOException.class, () -> TrainingCheckpoint.load(file, PARAMS + 1));
        assertTrue(fewer.getMessage().startsWith(file + ": params.bin: holds 40 values, expected 41"), fewer.getMessage());
        IOException fewerHeld = assertThrows(IOException.class, () -> TrainingCheckpoint.load(file, 10));
        assertTrue(fewerHeld.getMessage().startsWith(file + ": params.bin: holds 40 values, expected 10"), fewerHeld.getMessage());
        // far bigger than this model's: refused from the entry's size, without reading past the cap
        new TrainingCheckpoint(state(), values(4000), null, null).save(file);
        IOException more = assertThrows(IOException.class, () -> TrainingCheckpoint.load(file, 10));
        assertTrue(more.getMessage().startsWith(file + ": params.bin: more than the 10 values"), more.getMessage());
    }

    @Test
    @DisplayName("a header claiming more values than the entry holds is refused before anything that size is allocated")
    void lyingHeader() throws IOException {
        byte[] params = bytes(values(PARAMS));
        // the data buffer's length field: after the shape buffer (mode, length, type, values) and the data buffer's mode
        ByteBuffer b = ByteBuffer.wrap(params);
        int at = dataLengthOffset(params);
        assertEquals(PARAMS, b.getLong(at), "found the length field");
        b.putLong(at, 1L << 40);
        Path file = zip("params.bin", params);
        IOException e = assertThrows(IOException.class, () -> TrainingCheckpoint.load(file, 1L << 41));
        assertTrue(e.getMessage().startsWith(file + ": params.bin: a buffer header claims 1099511627776 values"), e.getMessage());
    }

    @Test
    @DisplayName("bytes that are not an array, and a zip without the checkpoint's entries, are refused by name")
    void notACheckpoint() throws IOException {
        Path garbage = zip("params.bin", new byte[] {1, 2, 3, 4, 5});
        IOException e = assertThrows(IOException.class, () -> TrainingCheckpoint.load(garbage, PARAMS));
        assertTrue(e.getMessage().startsWith(garbage + ": params.bin: not an array this project wrote"), e.getMessage());
        Path other = dir.resolve("other.zip");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(other))) {
            z.putNextEntry(new ZipEntry("readme.txt"));
            z.write("hello".getBytes());
        }
        IOException missing = assertThrows(IOException.class, () -> TrainingCheckpoint.load(other, PARAMS));
        assertTrue(missing.getMessage().contains("not a training checkpoint"), missing.getMessage());
    }

    private Path zip(String entry, byte[] content) throws IOException {
        Path file = dir.resolve("damaged.zip");
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream z = new ZipOutputStream(out)) {
            z.putNextEntry(new ZipEntry("state.json"));
            z.write(new ObjectMapper().writeValueAsBytes(state()));
            z.putNextEntry(new ZipEntry(entry));
            z.write(content);
        }
        return file;
    }

    private static byte[] bytes(INDArray a) throws IOException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(buffer)) {
            Nd4j.write(a, out);
        }
        return buffer.toByteArray();
    }

    /** The offset of the data buffer's length in ND4J's format: [UTF mode][long n][UTF type][n longs], then [UTF mode][long n]... */
    private static int dataLengthOffset(byte[] a) {
        ByteBuffer b = ByteBuffer.wrap(a);
        int at = 2 + (b.getShort(0) & 0xffff); // the shape buffer's mode
        long shapeValues = b.getLong(at);
        at += 8;
        at += 2 + (b.getShort(at) & 0xffff); // its type
        at += (int) (shapeValues * 8);
        at += 2 + (b.getShort(at) & 0xffff); // the data buffer's mode
        return at;
    }
}
