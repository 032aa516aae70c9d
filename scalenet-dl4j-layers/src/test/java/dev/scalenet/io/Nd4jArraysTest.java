package dev.scalenet.io;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;

/** ND4J's binary array format read back as written, and every way a stored array can be refused, by exact message. */
class Nd4jArraysTest {
    private static final String WHERE = "file: entry";
    private static final int MAX_BYTES = 1 << 16;

    @ParameterizedTest(name = "{0} of rank {1}")
    @CsvSource({"FLOAT, 1", "FLOAT, 2", "DOUBLE, 1", "DOUBLE, 2"})
    @DisplayName("what Nd4j.write writes reads back as stored: its shape, [n] or [1, n], and its values, float32 or float64")
    void roundTrip(DataType type, int rank) throws IOException {
        INDArray a = Nd4j.linspace(-1, 1, 5, type).muli(Math.PI);
        if (rank == 2) a = a.reshape(1, 5);
        Nd4jArrays.Array read = read(written(a), exactly(5), Nd4jArrays.Shape.VECTOR);
        assertArrayEquals(a.shape(), read.shape());
        if (type == DataType.FLOAT) {
            assertArrayEquals(a.toFloatVector(), read.floats());
            assertNull(read.doubles());
        } else {
            assertArrayEquals(a.toDoubleVector(), read.doubles());
            assertNull(read.floats());
        }
    }

    @Test
    @DisplayName("a caller that takes any shape gets one of any rank holding the values; one that takes vectors refuses it")
    void anyShape() throws IOException {
        INDArray a = Nd4j.linspace(1, 6, 6, DataType.FLOAT).reshape(2, 3);
        Nd4jArrays.Array read = read(written(a), atMost(10), Nd4jArrays.Shape.ANY);
        assertArrayEquals(new long[] {2, 3}, read.shape());
        assertArrayEquals(a.data().asFloat(), read.floats());
        assertEquals(WHERE + ": shape info " + Arrays.toString(a.shapeInfoDataBuffer().asLong()) + " for 6 values: expected the shape [6]"
                + " or [1, 6]", refused(written(a), atMost(10), Nd4jArrays.Shape.VECTOR));
    }

    @Test
    @DisplayName("an allocation mode older ND4J wrote is refused, naming the buffer and the modes read")
    void unknownAllocationMode() throws IOException {
        byte[] heap = stored("HEAP", new long[] {1, 5, 1, 0, 1, 99}, "FLOAT", 5, new float[5]);
        assertEquals(WHERE + ": shape buffer has allocation mode 'HEAP': expected one of [MIXED_DATA_TYPES, LONG_SHAPE]"
                + " (older ND4J formats are not read)", refused(heap, exactly(5), Nd4jArrays.Shape.VECTOR));
    }

    @Test
    @DisplayName("values of a type other than float32 or float64 are refused by their type")
    void wrongType() throws IOException {
        byte[] ints = written(Nd4j.zeros(DataType.INT, 5));
        assertEquals(WHERE + ": data buffer has data type 'INT': expected one of [FLOAT, DOUBLE]",
                refused(ints, exactly(5), Nd4jArrays.Shape.VECTOR));
    }

    @Test
    @DisplayName("a data header claiming more values than the bytes allowed hold is refused before they are read")
    void headerBeyondTheBytes() throws IOException {
        long huge = 1L << 40;
        byte[] lying = stored("MIXED_DATA_TYPES", new long[] {1, huge, 1, 0, 1, 99}, "FLOAT", huge, new float[0]);
        // 1000 bytes less the shape header (32), the shape info (48) and the data header (33)
        assertEquals(WHERE + ": data buffer claims 1099511627776 values of 4 bytes: more than the 887 bytes allowed after"
                + " its header", refused(lying, exactly(huge), Nd4jArrays.Shape.VECTOR, 1000));
    }

    @Test
    @DisplayName("shape info that disagrees with the data buffer's length is refused, naming both")
    void shapeInfoDisagrees() throws IOException {
        byte[] sixInFive = stored("MIXED_DATA_TYPES", new long[] {2, 1, 5, 5, 1, 0, 1, 99}, "FLOAT", 6, new float[6]);
        assertEquals(WHERE + ": shape info [2, 1, 5, 5, 1, 0, 1, 99] for 6 values: expected the shape [6] or [1, 6]",
                refused(sixInFive, atMost(10), Nd4jArrays.Shape.VECTOR));
    }

    @Test
    @DisplayName("a shape buffer of a rank the caller does not take is refused by its length")
    void rankNotTaken() throws IOException {
        byte[] cube = written(Nd4j.zeros(DataType.FLOAT, 1, 1, 5));
        assertEquals(WHERE + ": shape buffer of 10 values: expected 2 * rank + 4 for a rank from 1 to 2",
                refused(cube, exactly(5), Nd4jArrays.Shape.VECTOR));
    }

    @Test
    @DisplayName("bytes after the values are refused")
    void trailingBytes() throws IOException {
        byte[] bytes = written(Nd4j.linspace(-1, 1, 5, DataType.FLOAT));
        assertEquals(WHERE + ": trailing bytes after the 5 values: expected the array to end with them",
                refused(Arrays.copyOf(bytes, bytes.length + 1), exactly(5), Nd4jArrays.Shape.VECTOR));
    }

    @Test
    @DisplayName("a stream that ends inside the values is refused as truncated")
    void truncated() throws IOException {
        byte[] bytes = written(Nd4j.linspace(-1, 1, 5, DataType.FLOAT));
        assertEquals(WHERE + ": truncated: ends before the 5 values of the test",
                refused(Arrays.copyOf(bytes, bytes.length - 1), exactly(5), Nd4jArrays.Shape.VECTOR));
    }

    @Test
    @DisplayName("a NaN value is refused by its index")
    void nanValue() throws IOException {
        INDArray a = Nd4j.linspace(-1, 1, 5, DataType.DOUBLE);
        a.putScalar(3, Double.NaN);
        assertEquals(WHERE + ": value 3 is NaN: expected finite values",
                refused(written(a), exactly(5), Nd4jArrays.Shape.VECTOR));
    }

    @Test
    @DisplayName("more values than the caller allows are refused by count, and so are fewer than it needs exactly")
    void moreValuesThanAllowed() throws IOException {
        byte[] five = written(Nd4j.linspace(-1, 1, 5, DataType.FLOAT));
        assertEquals(WHERE + ": data buffer of 5 values: expected at most 4 values of the test",
                refused(five, atMost(4), Nd4jArrays.Shape.VECTOR));
        assertEquals(WHERE + ": data buffer of 5 values: expected the 6 values of the test",
                refused(five, exactly(6), Nd4jArrays.Shape.VECTOR));
    }

    private static Nd4jArrays.Expected exactly(long n) {
        return new Nd4jArrays.Expected(n, true, "values of the test");
    }

    private static Nd4jArrays.Expected atMost(long n) {
        return new Nd4jArrays.Expected(n, false, "values of the test");
    }

    private static Nd4jArrays.Array read(byte[] bytes, Nd4jArrays.Expected expected, Nd4jArrays.Shape shape)
            throws IOException {
        return Nd4jArrays.read(new ByteArrayInputStream(bytes), WHERE, expected, shape, MAX_BYTES);
    }

    private static String refused(byte[] bytes, Nd4jArrays.Expected expected, Nd4jArrays.Shape shape) {
        return refused(bytes, expected, shape, MAX_BYTES);
    }

    /** The message of the {@link Nd4jArrays.Malformed} (that class exactly) reading {@code bytes} throws. */
    private static String refused(byte[] bytes, Nd4jArrays.Expected expected, Nd4jArrays.Shape shape, long maxBytes) {
        return assertThrowsExactly(Nd4jArrays.Malformed.class, () -> Nd4jArrays.read(new ByteArrayInputStream(bytes),
                WHERE, expected, shape, maxBytes)).getMessage();
    }

    private static byte[] written(INDArray a) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            Nd4j.write(a, out);
        }
        return bytes.toByteArray();
    }

    /** ND4J's layout by hand: a LONG shape buffer of {@code shapeInfo}, then a data buffer of {@code values}. */
    private static byte[] stored(String mode, long[] shapeInfo, String type, long length, float[] values)
            throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeUTF(mode);
            out.writeLong(shapeInfo.length);
            out.writeUTF("LONG");
            for (long v : shapeInfo) out.writeLong(v);
            out.writeUTF(mode);
            out.writeLong(length);
            out.writeUTF(type);
            for (float v : values) out.writeFloat(v);
        }
        return bytes.toByteArray();
    }
}
