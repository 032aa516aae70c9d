package dev.scalenet.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * NumPy {@code .npy} files (format versions 1.0 and 2.0) holding little-endian float arrays in C
 * order. Reads {@code <f4} and {@code <f8} (narrowed to float) and {@code |u1} (widened to float, exactly);
 * writes {@code <f4} and {@code |u1} with numpy's own header layout, so numpy-written files are reproduced
 * byte for byte.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** numpy pads the preamble plus header to this, so the data can be memory-mapped aligned. */
    private static final int ALIGN = 64;
    /** numpy leaves room for the first axis to grow to this many digits when rewriting in place. */
    private static final int GROWTH_AXIS_MAX_DIGITS = 21;
    private static final int MAX_HEADER_BYTES = 1 << 20;
    private static final int CHUNK_BYTES = 1 << 18;
    private static final Set<String> KEYS = Set.of("descr", "fortran_order", "shape");
    private static final Pattern ENTRY =
            Pattern.compile("\\s*'(\\w+)'\\s*:\\s*('[^']*'|True|False|\\([^()]*\\))\\s*(?:,|$)");
    private static final Pattern DIMENSION = Pattern.compile("\\d+");

    private Npy() {
    }

    public static NpyArray read(Path file) throws NpyFormatException {
        String where = file.toAbsolutePath().toString();
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = in.size();
            if (size < MAGIC.length + 4) {
                throw fail(where, "truncated: the file has " + size + " bytes, too few for a .npy preamble");
            }
            ByteBuffer preamble = FileIo.readFully(in, 0, ByteBuffer.allocate(MAGIC.length + 2));
            byte[] magic = new byte[MAGIC.length];
            preamble.get(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw fail(where, "bad magic: not a .npy file");
            }
            int major = preamble.get() & 0xff;
            int minor = preamble.get() & 0xff;
            if ((major != 1 && major != 2) || minor != 0) {
                throw fail(where, "unsupported format version " + major + "." + minor + "; supported: 1.0, 2.0");
            }
            int lengthBytes = major == 1 ? 2 : 4;
            long headerStart = MAGIC.length + 2 + lengthBytes;
            if (size < headerStart) {
                throw fail(where, "truncated: the file ends inside the header length");
            }
            ByteBuffer lengthField = FileIo.readFully(in, MAGIC.length + 2, ByteBuffer.allocate(lengthBytes));
            long headerLength = major == 1 ? lengthField.getShort() & 0xffff : lengthField.getInt() & 0xffffffffL;
            if (headerLength > MAX_HEADER_BYTES) {
                throw fail(where, "header length " + headerLength + " is absurdly large: expected at most "
                        + MAX_HEADER_BYTES + " bytes");
            }
            long dataStart = headerStart + headerLength;
            if (dataStart > size) {
                throw fail(where, "truncated: header length " + headerLength + " runs past the end of the file ("
                        + size + " bytes)");
            }
            ByteBuffer headerBytes = FileIo.readFully(in, headerStart, ByteBuffer.allocate((int) headerLength));
            Map<String, String> header = parseHeader(where, StandardCharsets.ISO_8859_1.decode(headerBytes).toString());

            int itemSize = itemSize(where, header.get("descr"));
            String fortranOrder = header.get("fortran_order");
            if (!fortranOrder.equals("False")) {
                throw fail(where, "fortran_order is " + fortranOrder + "; only C order (False) is supported");
            }
            long[] shape = parseShape(where, header.get("shape"));
            long numel = Shapes.numel(shape);
            if (numel < 0 || numel > Shapes.MAX_ARRAY_LENGTH) {
                throw fail(where, "shape " + header.get("shape") + " has too many elements for a Java array");
            }
            long expected = numel * itemSize;
            long found = size - dataStart;
            if (found != expected) {
                throw fail(where, (found < expected ? "truncated data" : "trailing bytes after the data")
                        + ": expected " + expected + " data bytes for shape " + header.get("shape") + " of "
                        + header.get("descr") + ", found " + found);
            }
            return new NpyArray(shape, readData(in, dataStart, (int) numel, itemSize));
        } catch (NpyFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new NpyFormatException(where + ": cannot read: " + e, e);
        }
    }

    /** Same as {@link #write(Path, NpyArray)}. */
    public static void write(Path file, long[] shape, float[] data) throws IOException {
        write(file, new NpyArray(shape, data));
    }

    /** Atomically writes a float32 C-order array in format version 1.0, as numpy does. */
    public static void write(Path file, NpyArray array) throws IOException {
        float[] data = array.data();
        ByteBuffer header = header(array.shape(), "<f4");
        FileIo.writeAtomically(file, out -> {
            FileIo.writeFully(out, header);
            ByteBuffer chunk = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : data) {
                if (!chunk.hasRemaining()) {
                    FileIo.writeFully(out, chunk.flip());
                    chunk.clear();
                }
                chunk.putFloat(v);
            }
            FileIo.writeFully(out, chunk.flip());
        });
    }

    /**
     * Atomically writes an unsigned 8-bit C-order array ({@code |u1}, numpy's {@code uint8}) in format version
     * 1.0: small per-item records such as predicted classes. {@link #read} widens it back to float.
     *
     * @throws IllegalArgumentException if the shape's element count differs from {@code data.length}
     */
    public static void writeUint8(Path file, long[] shape, byte[] data) throws IOException {
        if (Shapes.numel(shape) != data.length) {
            throw new IllegalArgumentException("shape " + Shapes.format(shape) + " does not hold " + data.length + " values");
        }
        ByteBuffer header = header(shape, "|u1");
        FileIo.writeAtomically(file, out -> {
            FileIo.writeFully(out, header);
            FileIo.writeFully(out, ByteBuffer.wrap(data));
        });
    }

    /**
     * numpy's preamble (magic, version 1.0, 2-byte length) and header: the dict repr, room for the
     * first axis to grow, then 1 to 64 spaces and a newline ending on a 64-byte boundary.
     */
    private static ByteBuffer header(long[] shape, String descr) {
        String tuple = shape.length == 1
                ? "(" + shape[0] + ",)"
                : Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(", ", "(", ")"));
        StringBuilder dict = new StringBuilder("{'descr': '" + descr + "', 'fortran_order': False, 'shape': ")
                .append(tuple).append(", }");
        if (shape.length > 0) {
            dict.append(" ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - Long.toString(shape[0]).length())));
        }
        byte[] text = dict.toString().getBytes(StandardCharsets.ISO_8859_1);
        int preamble = MAGIC.length + 4;
        int padding = ALIGN - (preamble + text.length + 1) % ALIGN;
        int headerLength = text.length + padding + 1;
        // numpy would switch to version 2.0 here, but only thousands of axes get this far.
        if (headerLength > 0xffff) {
            throw new IllegalArgumentException(shape.length + " axes are too many for a .npy 1.0 header");
        }
        ByteBuffer buffer = ByteBuffer.allocate(preamble + headerLength)
                .order(ByteOrder.LITTLE_ENDIAN)
                .put(MAGIC)
                .put((byte) 1)
                .put((byte) 0)
                .putShort((short) headerLength)
                .put(text);
        for (int i = 0; i < padding; i++) {
            buffer.put((byte) ' ');
        }
        return buffer.put((byte) '\n').flip();
    }

    /** Parses a dict literal such as {@code {'descr': '<f4', 'fortran_order': False, 'shape': (4, 10), }}. */
    private static Map<String, String> parseHeader(String where, String header) throws NpyFormatException {
        String text = header.strip();
        if (!text.startsWith("{") || !text.endsWith("}")) {
            throw fail(where, "header is not a Python dict literal: " + text);
        }
        String body = text.substring(1, text.length() - 1);
        Map<String, String> entries = new LinkedHashMap<>();
        Matcher m = ENTRY.matcher(body);
        for (int pos = 0; !body.substring(pos).isBlank(); pos = m.end()) {
            if (!m.region(pos, body.length()).lookingAt()) {
                throw fail(where, "cannot parse the header dict at: " + body.substring(pos).strip());
            }
            if (entries.put(m.group(1), m.group(2)) != null) {
                throw fail(where, "header repeats the key '" + m.group(1) + "'");
            }
        }
        if (!entries.keySet().equals(KEYS)) {
            throw fail(where, "header has keys " + entries.keySet() + ", expected " + KEYS.stream().sorted().toList());
        }
        return entries;
    }

    private static int itemSize(String where, String descr) throws NpyFormatException {
        switch (descr) {
            case "'<f4'":
                return 4;
            case "'<f8'":
                return 8;
            case "'|u1'":
                return 1;
            default:
                if (descr.startsWith("'>")) {
                    throw fail(where, "big-endian dtype " + descr + " is not supported; expected '<f4', '<f8' or '|u1'");
                }
                throw fail(where, "unsupported dtype " + descr + "; expected '<f4', '<f8' or '|u1'");
        }
    }

    /** {@code ()} is a scalar; a one-element tuple is written {@code (4,)}. */
    private static long[] parseShape(String where, String tuple) throws NpyFormatException {
        String inner = tuple.startsWith("(") ? tuple.substring(1, tuple.length() - 1).strip() : "";
        if (!tuple.startsWith("(") || inner.startsWith(",")) {
            throw fail(where, "shape " + tuple + " is not a tuple of non-negative integers");
        }
        if (inner.isEmpty()) {
            return new long[0];
        }
        String[] parts = (inner.endsWith(",") ? inner.substring(0, inner.length() - 1) : inner).split(",", -1);
        long[] shape = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String part = parts[i].strip();
            try {
                if (!DIMENSION.matcher(part).matches()) {
                    throw new NumberFormatException(part);
                }
                shape[i] = Long.parseLong(part);
            } catch (NumberFormatException e) {
                throw fail(where, "shape " + tuple + " is not a tuple of non-negative integers");
            }
        }
        return shape;
    }

    private static float[] readData(FileChannel in, long position, int numel, int itemSize) throws IOException {
        float[] data = new float[numel];
        int perChunk = CHUNK_BYTES / itemSize;
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK_BYTES);
        for (int done = 0; done < numel; ) {
            int count = Math.min(perChunk, numel - done);
            FileIo.readFully(in, position, chunk.clear().limit(count * itemSize));
            for (int i = done; i < done + count; i++) {
                data[i] = itemSize == 4 ? chunk.getFloat() : itemSize == 1 ? chunk.get() & 0xff : (float) chunk.getDouble();
            }
            done += count;
            position += (long) count * itemSize;
        }
        return data;
    }

    private static NpyFormatException fail(String where, String problem) {
        return new NpyFormatException(where + ": " + problem);
    }
}
