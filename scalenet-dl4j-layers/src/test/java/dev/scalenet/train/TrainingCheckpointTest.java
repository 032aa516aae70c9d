package dev.scalenet.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
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
        return new ObjectMapper().createObjectNode().put("step", 7).put("trainSeconds", 2.5);
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
        assertEquals(2.5, c.trainSeconds());
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
        assertTrue(fewer.getMessage().startsWith(file + ": params.bin: data buffer of 40 values: expected the 41 values for this model"), fewer.getMessage());
        IOException fewerHeld = assertThrows(IOException.class, () -> TrainingCheckpoint.load(file, 10));
        assertTrue(fewerHeld.getMessage().startsWith(file + ": params.bin: data buffer of 40 values: expected the 10 values"), fewerHeld.getMessage());
        // far bigger than this model's: refused from its header, before its values are read
        new TrainingCheckpoint(state(), values(4000), null, null).save(file);
        IOException more = assertThrows(IOException.class, () -> TrainingCheckpoint.load(file, 10));
        assertTrue(more.getMessage().startsWith(file + ": params.bin: data buffer of 4000 values: expected the 10 values"), more.getMessage());
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
        IOException e = assertThrows(IOException.class, () -> TrainingCheckpoint.load(file, 1L << 40));
        assertTrue(e.getMessage().startsWith(file + ": params.bin: data buffer claims 1099511627776 values of 4 bytes: more than the "), e.getMessage());
    }

    @Test
    @DisplayName("bytes that are not an array, and a zip without the checkpoint's entries, are refused by name")
    void notACheckpoint() throws IOException {
        Path garbage = zip("params.bin", new byte[] {1, 2, 3, 4, 5});
        IOException e = assertThrows(IOException.class, () -> TrainingCheckpoint.load(garbage, PARAMS));
        assertTrue(e.getMessage().startsWith(garbage + ": params.bin: truncated: ends before the 40 values for this model"), e.getMessage());
        Path other = dir.resolve("other.zip");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(other))) {
            z.putNextEntry(new ZipEntry("readme.txt"));
            z.write("hello".getBytes());
        }
        IOException missing = assertThrows(IOException.class, () -> TrainingCheckpoint.load(other, PARAMS));
        assertTrue(missing.getMessage().contains("not a training checkpoint"), missing.getMessage());
    }

    @ParameterizedTest(name = "state.json {0}")
    @CsvSource(delimiter = '|', value = {
            "'[7]' | a JSON array: expected a JSON object",
            "'' | empty: expected a JSON object",
            "'{\"step\": 7,' | not valid JSON: Unexpected end-of-input",
            "'{\"step\": 7, \"trainSeconds\": 1, \"step\": 0}' | not valid JSON: the key 'step' appears a second time at line 1,"
                    + " column 38: expected each key once",
            "'{\"step\": 7, \"trainSeconds\": 1} {}' | not valid JSON: content after the JSON value at line 1, column 32: expected"
                    + " one value and nothing after it",
            "'{\"trainSeconds\": 1}' | \"step\" is missing: expected a whole number of steps, 0 or more",
            "'{\"step\": -1, \"trainSeconds\": 1}' | \"step\" is -1: expected a whole number of steps, 0 or more",
            "'{\"step\": 7.5, \"trainSeconds\": 1}' | \"step\" is 7.5: expected a whole number of steps, 0 or more",
            "'{\"step\": \"7\", \"trainSeconds\": 1}' | \"step\" is \"7\": expected a whole number of steps, 0 or more",
            "'{\"step\": 7}' | \"trainSeconds\" is missing: expected a finite number of seconds, 0 or more",
            "'{\"step\": 7, \"trainSeconds\": -2.0}' | \"trainSeconds\" is -2.0: expected a finite number of seconds, 0 or more",
            "'{\"step\": 7, \"trainSeconds\": 1e999}' | \"trainSeconds\" is Infinity: expected a finite number of seconds, 0 or more",
    })
    @DisplayName("a state.json that is not an object holding a whole step and finite seconds, both 0 or more, is refused by"
            + " file, entry and field")
    void badState(String state, String problem) throws IOException {
        Path file = zip(state, Map.of("params.bin", bytes(values(PARAMS))));
        IOException e = assertThrows(IOException.class, () -> TrainingCheckpoint.load(file, PARAMS));
        assertTrue(e.getMessage().startsWith(file + ": state.json: " + problem), e.getMessage());
    }

    @Test
    @DisplayName("an array stored in another shape than a vector of its values is refused, naming the entry and the"
            + " shapes expected")
    void storedShape() throws IOException {
        Path square = zip("params.bin", bytes(values(PARAMS).reshape(4, 10)));
        String message = refused(square, 0, false);
        assertTrue(message.startsWith(square + ": params.bin: shape info [2, 4, 10, "), message);
        assertTrue(message.endsWith(" for 40 values: expected the shape [40] or [1, 40]"), message);
        Path cube = zip("params.bin", bytes(values(PARAMS).reshape(1, 1, PARAMS)));
        assertEquals(cube + ": params.bin: shape buffer of 10 values: expected 2 * rank + 4 for a rank from 1 to 2",
                refused(cube, 0, false));
        INDArray flat = Nd4j.linspace(-1, 1, PARAMS, DataType.FLOAT);
        Path vector = zip("params.bin", bytes(flat));
        assertArrayEquals(flat.shape(), TrainingCheckpoint.load(vector, PARAMS, 0, false).params.shape(),
                "a graph's parameters are [n]: they come back [n]");
    }

    @Test
    @DisplayName("values that are not float32 or float64 are refused by type; float64 values load as they were stored")
    void storedType() throws IOException {
        Path ints = zip("params.bin", bytes(Nd4j.zeros(DataType.INT, 1, PARAMS)));
        assertEquals(ints + ": params.bin: data buffer has data type 'INT': expected one of [FLOAT, DOUBLE]", refused(ints, 0, false));
        INDArray doubles = values(PARAMS).castTo(DataType.DOUBLE).muli(Math.PI);
        Path exact = zip("params.bin", bytes(doubles));
        INDArray loaded = TrainingCheckpoint.load(exact, PARAMS, 0, false).params;
        assertEquals(DataType.DOUBLE, loaded.dataType());
        assertArrayEquals(doubles.data().asDouble(), loaded.data().asDouble());
    }

    @Test
    @DisplayName("a NaN or infinite stored value is refused, naming the entry and its index")
    void nonFiniteValues() throws IOException {
        INDArray params = values(PARAMS);
        params.putScalar(0, 5, Float.NaN);
        Path nan = zip("params.bin", bytes(params));
        assertEquals(nan + ": params.bin: value 5 is NaN: expected finite values", refused(nan, 0, false));
        INDArray moments = values(2 * PARAMS);
        moments.putScalar(0, 79, Double.NEGATIVE_INFINITY);
        Path inf = zip(new ObjectMapper().writeValueAsString(state()),
                Map.of("params.bin", bytes(values(PARAMS)), "updater.bin", bytes(moments)));
        assertEquals(inf + ": updater.bin: value 79 is -Infinity: expected finite values", refused(inf, 2 * PARAMS, false));
    }

    @Test
    @DisplayName("bytes after an array's values are refused, naming the entry")
    void trailingBytes() throws IOException {
        byte[] params = bytes(values(PARAMS));
        Path file = zip("params.bin", Arrays.copyOf(params, params.length + 4));
        assertEquals(file + ": params.bin: trailing bytes after the 40 values: expected the array to end with them",
                refused(file, 0, false));
    }

    @Test
    @DisplayName("to resume, the optimizer state must be there and be exactly the model's; none when its updaters keep none")
    void optimizerStateToResume() throws IOException {
        String state = new ObjectMapper().writeValueAsString(state());
        Path shorter = zip(state, Map.of("params.bin", bytes(values(PARAMS)), "updater.bin", bytes(values(2 * PARAMS - 4))));
        assertEquals(shorter + ": updater.bin: data buffer of 76 values: expected the 80 values for this model", refused(shorter, 2 * PARAMS, false));
        Path without = zip(state, Map.of("params.bin", bytes(values(PARAMS))));
        assertEquals(without + ": no updater.bin: expected this model's optimizer state (80 values) to resume from",
                refused(without, 2 * PARAMS, false));
        assertNull(TrainingCheckpoint.load(without, PARAMS, 0, false).updater, "no state kept, none saved: resumes");
        Path stateless = zip(state, Map.of("params.bin", bytes(values(PARAMS)), "updater.bin", bytes(values(PARAMS))));
        assertEquals(stateless + ": updater.bin: holds optimizer state, expected none (this model's updaters keep no state)",
                refused(stateless, 0, false));
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class,
                () -> TrainingCheckpoint.load(stateless, PARAMS, -1, false));
        assertEquals("paramCount 40, optimizerValues -1: expected a positive parameter count and 0 or more optimizer"
                + " values", wrong.getMessage());
    }

    @Test
    @DisplayName("to resume with EMA the EMA weights must be there; without EMA they are not read")
    void emaToResume() throws IOException {
        Path file = dir.resolve("checkpoint.zip");
        new TrainingCheckpoint(state(), values(PARAMS), values(2 * PARAMS), null).save(file);
        assertEquals(file + ": no ema.bin: expected the EMA weights of this run (40 values) to resume from",
                refused(file, 2 * PARAMS, true));
        new TrainingCheckpoint(state(), values(PARAMS), values(2 * PARAMS), values(PARAMS).mul(3)).save(file);
        assertArrayEquals(values(PARAMS).mul(3).data().asFloat(),
                TrainingCheckpoint.load(file, PARAMS, 2 * PARAMS, true).ema.data().asFloat());
        assertNull(TrainingCheckpoint.load(file, PARAMS, 2 * PARAMS, false).ema, "EMA off: not read");
    }

    @Test
    @DisplayName("resuming a graph expects its own optimizer state: a checkpoint of a graph that trains other parameters is"
            + " refused by size")
    void optimizerStateOfTheGraph() throws IOException {
        ComputationGraph all = prepared(Trainable.ALL);
        ComputationGraph adjustments = prepared(Trainable.ADJUSTMENTS);
        long allState = all.getUpdater().getStateViewArray().length();
        long adjustmentState = adjustments.getUpdater().getStateViewArray().length();
        assertEquals(2 * all.numParams(), allState, "Adam: two moments a parameter");
        assertTrue(adjustmentState < allState, "frozen parameters keep no moments");
        Path file = dir.resolve("checkpoint.zip");
        adjustments.getUpdater().getStateViewArray().assign(0.5);
        new TrainingCheckpoint(state(), adjustments.params(), adjustments.getUpdater().getStateViewArray(), null).save(file);
        assertArrayEquals(adjustments.getUpdater().getStateViewArray().data().asFloat(),
                TrainingCheckpoint.load(file, prepared(Trainable.ADJUSTMENTS), false).updater.data().asFloat());
        IOException e = assertThrows(IOException.class, () -> TrainingCheckpoint.load(file, all, false));
        assertEquals(file + ": updater.bin: data buffer of " + adjustmentState + " values: expected the " + allState
                + " values for this model",
                e.getMessage());
    }

    private static ComputationGraph prepared(Trainable trainable) {
        ComputationGraph graph = TinyRun.model();
        new RecipeSetup(TinyRun.recipe().trainable(trainable).build()).apply(graph, 20);
        return graph;
    }

    private Path zip(String entry, byte[] content) throws IOException {
        return zip(new ObjectMapper().writeValueAsString(state()), Map.of(entry, content));
    }

    /** A zip of {@code state} as {@code state.json} and the given entries. */
    private Path zip(String state, Map<String, byte[]> entries) throws IOException {
        Path file = dir.resolve("damaged.zip");
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream z = new ZipOutputStream(out)) {
            z.putNextEntry(new ZipEntry("state.json"));
            z.write(state.getBytes(StandardCharsets.UTF_8));
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
            }
        }
        return file;
    }

    /** The message of the IOException that loading {@code file} to resume throws. */
    private static String refused(Path file, long optimizerValues, boolean withEma) {
        return assertThrows(IOException.class, () -> TrainingCheckpoint.load(file, PARAMS, optimizerValues, withEma))
                .getMessage();
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
