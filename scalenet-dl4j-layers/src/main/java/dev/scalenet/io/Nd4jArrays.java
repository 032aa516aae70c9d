package dev.scalenet.io;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UTFDataFormatException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * Reads one array in ND4J's binary format, as {@code Nd4j.write(INDArray, DataOutputStream)} writes it: a shape buffer,
 * then a data buffer, each a header (allocation mode, length, data type) followed by its values, big-endian. Model zips
 * ({@code coefficients.bin}) and training checkpoints hold arrays this way, and both come from outside, so nothing is
 * trusted before it is checked: the length against what the caller expects and the bytes it allows, the shape info
 * against the length, every value for finiteness, and the end of the stream against the end of the array. Plain Java,
 * like every format here: the caller makes its INDArray from what this returns.
 */
public final class Nd4jArrays {
    /** The allocation modes ND4J 1.0.0-M2.1 writes; older versions wrote other modes with other layouts. */
    private static final List<String> MODES = List.of("MIXED_DATA_TYPES", "LONG_SHAPE");
    private static final List<String> SHAPE_TYPES = List.of("LONG");
    /** The types {@link Array} holds: what a model's parameters and an optimizer's state are stored as. */
    private static final List<String> VALUE_TYPES = List.of("FLOAT", "DOUBLE");
    /** Values come a chunk at a time into an array grown as they arrive: a stream cut short allocates little. */
    private static final int CHUNK_BYTES = 1 << 20;
    private static final int FIRST_VALUES = 1 << 20;

    /** The shapes a caller accepts. */
    public enum Shape {
        /** {@code [n]} or {@code [1, n]}: a graph's parameters, an updater's state. */
        VECTOR(1, 2),
        /** Any shape of ND4J's ranks (0 to 32) holding the values. */
        ANY(0, 32);

        private final int minRank;
        private final int maxRank;

        Shape(int minRank, int maxRank) {
            this.minRank = minRank;
            this.maxRank = maxRank;
        }
    }

    /**
     * How many values a caller accepts: exactly or at most {@code values}, which are {@code what} (the words after the
     * number in messages, e.g. "parameters configuration.json describes").
     */
    public record Expected(long values, boolean exact, String what) {
        /** As messages say it: "the 40 values for this model", "at most 80 values for this model". */
        @Override
        public String toString() {
            return (exact ? "the " : "at most ") + values + " " + what;
        }
    }

    /** An array as stored: its shape, and its values in the stored type (either {@code floats} or {@code doubles}). */
    public record Array(long[] shape, float[] floats, double[] doubles) {
    }

    /** An array the caller does not accept, or not in ND4J's format; the message starts with the caller's where. */
    public static final class Malformed extends IOException {
        Malformed(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private Nd4jArrays() {
    }

    /**
     * Reads one array from {@code in} and checks that nothing follows it. {@code where} names the file and entry in
     * messages. {@code maxBytes} (at most {@link Integer#MAX_VALUE}, so the values fit a Java array) bounds what the
     * data header may claim, so a lying header is refused before anything of its size is allocated. A refusal is a
     * {@link Malformed}; an {@link IOException} of {@code in} itself passes through.
     */
    public static Array read(InputStream in, String where, Expected expected, Shape shape, long maxBytes)
            throws IOException {
        if (maxBytes <= 0 || maxBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("maxBytes " + maxBytes + ": expected 1 to " + Integer.MAX_VALUE);
        }
        return new Reader(new DataInputStream(in), where, maxBytes).read(expected, shape);
    }

    /** One read, counting down the bytes the caller allows. */
    private static final class Reader {
        private final DataInputStream in;
        private final String where;
        private long left;

        Reader(DataInputStream in, String where, long maxBytes) {
            this.in = in;
            this.where = where;
            this.left = maxBytes;
        }

        Array read(Expected expected, Shape shape) throws IOException {
            long count = -1; // the data buffer's length, once accepted
            try {
                long[] info = shapeInfo(header("shape", SHAPE_TYPES).length(), shape);
                Header data = header("data", VALUE_TYPES);
                long length = data.length();
                if (length < 0 || (expected.exact() ? length != expected.values() : length > expected.values())) {
                    throw fail("data buffer of " + length + " values: expected " + expected);
                }
                int width = data.type().equals("DOUBLE") ? Double.BYTES : Float.BYTES;
                if (length > left / width) {
                    throw fail("data buffer claims " + length + " values of " + width + " bytes: more than the "
                            + Math.max(left, 0) + " bytes allowed after its header");
                }
                count = length;
                long[] dims = Arrays.copyOfRange(info, 1, 1 + (info.length - 4) / 2);
                if (info[0] != dims.length || Shapes.numel(dims) != count
                        || shape == Shape.VECTOR && dims.length == 2 && dims[0] != 1) {
                    throw fail("shape info " + Arrays.toString(info) + " for " + count + " values: expected "
                            + (shape == Shape.VECTOR ? "the shape [" + count + "] or [1, " + count + "]"
                                    : "its rank, then a shape of " + count + " values"));
                }
                Array array = values(dims, (int) count, width == Double.BYTES);
                if (in.read() >= 0) {
                    throw fail("trailing bytes after the " + count + " values: expected the array to end with them");
                }
                return array;
            } catch (EOFException e) {
                throw fail("truncated: ends before the " + (count >= 0 ? count : expected.values()) + " "
                        + expected.what(), e);
            }
        }

        private record Header(long length, String type) {
        }

        /** A buffer's header: allocation mode, length, data type (one of {@code types}). */
        private Header header(String which, List<String> types) throws IOException {
            String mode = utf(which);
            if (!MODES.contains(mode)) {
                throw fail(which + " buffer has allocation mode '" + mode + "': expected one of " + MODES
                        + " (older ND4J formats are not read)");
            }
            long length = in.readLong();
            String type = utf(which);
            if (!types.contains(type)) {
                throw fail(which + " buffer has data type '" + type + "': expected one of " + types);
            }
            // two names of ASCII (a byte a character, once accepted), each after its two-byte length, and the length
            left -= 2 + mode.length() + Long.BYTES + 2 + type.length();
            return new Header(length, type);
        }

        private String utf(String which) throws IOException {
            try {
                return in.readUTF();
            } catch (UTFDataFormatException e) {
                throw fail(which + " buffer header is not modified UTF-8 text", e);
            }
        }

        /**
         * ND4J's shape info: the rank, the dimensions, the strides, then type flags, element stride and order. Checked
         * here for what needs no length (its size, negative or overflowing dimensions); against the length later.
         */
        private long[] shapeInfo(long length, Shape shape) throws IOException {
            if (length < 2L * shape.minRank + 4 || length > 2L * shape.maxRank + 4 || length % 2 != 0) {
                throw fail("shape buffer of " + length + " values: expected 2 * rank + 4 for a rank from "
                        + shape.minRank + " to " + shape.maxRank);
            }
            long[] info = new long[(int) length];
            for (int i = 0; i < info.length; i++) info[i] = in.readLong();
            left -= length * Long.BYTES;
            int rank = (info.length - 4) / 2;
            for (int i = 1; i <= rank; i++) {
                if (info[i] < 0) throw fail("negative dimension " + info[i] + " in the shape");
            }
            if (Shapes.numel(Arrays.copyOfRange(info, 1, 1 + rank)) < 0) throw fail("the shape's size overflows");
            return info;
        }

        /**
         * The values, a chunk at a time, each refused by its index if not finite. The array doubles as they come (a
         * chunk is never more than the first array holds, so one doubling makes room for it).
         */
        private Array values(long[] shape, int count, boolean doubles) throws IOException {
            int width = doubles ? Double.BYTES : Float.BYTES;
            float[] floats = new float[doubles ? 0 : Math.min(count, FIRST_VALUES)];
            double[] wide = new double[doubles ? Math.min(count, FIRST_VALUES) : 0];
            byte[] chunk = new byte[Math.min(count, CHUNK_BYTES / width) * width];
            for (int done = 0; done < count; ) {
                int n = Math.min(count - done, chunk.length / width);
                in.readFully(chunk, 0, n * width);
                ByteBuffer bytes = ByteBuffer.wrap(chunk, 0, n * width); // big-endian, as DataOutputStream writes
                if (doubles) {
                    if (done + n > wide.length) {
                        wide = Arrays.copyOf(wide, (int) Math.min(count, 2L * wide.length));
                    }
                    bytes.asDoubleBuffer().get(wide, done, n);
                } else {
                    if (done + n > floats.length) {
                        floats = Arrays.copyOf(floats, (int) Math.min(count, 2L * floats.length));
                    }
                    bytes.asFloatBuffer().get(floats, done, n);
                }
                for (int i = done; i < done + n; i++) {
                    double v = doubles ? wide[i] : floats[i];
                    if (!Double.isFinite(v)) throw fail("value " + i + " is " + v + ": expected finite values");
                }
                done += n;
            }
            return doubles ? new Array(shape, null, wide) : new Array(shape, floats, null);
        }

        private Malformed fail(String problem) {
            return fail(problem, null);
        }

        private Malformed fail(String problem, Throwable cause) {
            return new Malformed(where + ": " + problem, cause);
        }
    }
}
