package dev.scalenet.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks that a zip has one meaning. {@code ZipFile} reads the central directory at the end and takes the last of two
 * entries with one name; streaming readers ({@code ZipInputStream}, scanners) read the local headers from the start and
 * see the first. So a zip is accepted only when both views agree: every name once in the directory, every directory
 * entry's local header saying the same (name, method, flags, and CRC and sizes unless a data descriptor carries them),
 * and the entries tiling the bytes before the directory with nothing hidden between them. Reads only the headers.
 */
public final class ZipDirectory {
    /** More than any model or checkpoint zip of this library has, and it bounds the directory read here. */
    public static final int MAX_ENTRIES = 1024;
    private static final int MAX_DIRECTORY_BYTES = 4 << 20;
    private static final int EOCD = 0x06054b50;
    private static final int CENTRAL = 0x02014b50;
    private static final int LOCAL = 0x04034b50;
    private static final int DESCRIPTOR = 0x08074b50;
    private static final int EOCD_SIZE = 22;
    private static final int LOCAL_SIZE = 30;
    private static final int CENTRAL_SIZE = 46;
    private static final int DATA_DESCRIPTOR_FLAG = 8;

    /** A zip with more than one meaning, or none; {@link #entry()} is null when the problem is the whole zip's. */
    public static final class Inconsistent extends IOException {
        private final String entry;

        Inconsistent(String entry, String problem) {
            super(problem);
            this.entry = entry;
        }

        public String entry() {
            return entry;
        }
    }

    private ZipDirectory() {
    }

    /** The entry names in directory order, once the checks above pass. */
    public static List<String> check(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer eocd = endOfDirectory(ch, size);
            long eocdAt = eocd.getLong(EOCD_SIZE); // stored after the record by endOfDirectory
            int count = eocd.getShort(10) & 0xffff;
            long dirSize = eocd.getInt(12) & 0xffffffffL;
            long dirAt = eocd.getInt(16) & 0xffffffffL;
            if ((eocd.getShort(4) & 0xffff) != 0 || (eocd.getShort(6) & 0xffff) != 0 || (eocd.getShort(8) & 0xffff) != count) {
                throw new Inconsistent(null, "a multi-disk zip: expected one file");
            }
            if (count == 0xffff || dirSize == 0xffffffffL || dirAt == 0xffffffffL) {
                throw new Inconsistent(null, "a ZIP64 zip: expected a plain zip (no entry of a model needs ZIP64)");
            }
            if (count > MAX_ENTRIES || dirSize > MAX_DIRECTORY_BYTES) {
                throw new Inconsistent(null, count + " entries in a directory of " + dirSize + " bytes: expected at most "
                        + MAX_ENTRIES + " entries in " + MAX_DIRECTORY_BYTES + " bytes");
            }
            if (dirAt + dirSize != eocdAt) {
                throw new Inconsistent(null, "the central directory (" + dirSize + " bytes at " + dirAt
                        + ") does not end where its end record starts (" + eocdAt + ")");
            }
            ByteBuffer dir = read(ch, dirAt, (int) dirSize, "the central directory");
            List<String> names = new ArrayList<>();
            Set<String> seen = new HashSet<>();
            long expectedAt = 0; // the entries tile the bytes before the directory
            for (int i = 0; i < count; i++) {
                Central c = central(dir, i);
                if (!seen.add(c.name)) {
                    throw new Inconsistent(c.name, "appears twice in the zip: expected each entry once (readers disagree"
                            + " on which of the two they read)");
                }
                if (c.localAt != expectedAt) {
                    throw new Inconsistent(c.name, "its local header is at byte " + c.localAt + ": expected " + expectedAt
                            + " (nothing may lie between or before the entries)");
                }
                expectedAt = local(ch, c, dirAt);
                names.add(c.name);
            }
            if (expectedAt != dirAt) {
                throw new Inconsistent(null, (dirAt - expectedAt) + " bytes between the last entry and the central"
                        + " directory: expected none (they would be an entry only streaming readers see)");
            }
            return names;
        }
    }

    private record Central(String name, byte[] nameBytes, int flags, int method, int crc, long compressed, long size,
                           long localAt) {
    }

    private static Central central(ByteBuffer dir, int index) throws Inconsistent {
        if (dir.remaining() < CENTRAL_SIZE || dir.getInt(dir.position()) != CENTRAL) {
            throw new Inconsistent(null, "directory entry " + index + " is cut short or has no signature");
        }
        int at = dir.position();
        int nameLength = dir.getShort(at + 28) & 0xffff;
        int skip = nameLength + (dir.getShort(at + 30) & 0xffff) + (dir.getShort(at + 32) & 0xffff);
        if (dir.remaining() < CENTRAL_SIZE + skip) {
            throw new Inconsistent(null, "directory entry " + index + " runs past the directory");
        }
        byte[] name = new byte[nameLength];
        dir.get(at + CENTRAL_SIZE, name);
        long compressed = dir.getInt(at + 20) & 0xffffffffL;
        long size = dir.getInt(at + 24) & 0xffffffffL;
        Central c = new Central(new String(name, StandardCharsets.UTF_8), name, dir.getShort(at + 8) & 0xffff,
                dir.getShort(at + 10) & 0xffff, dir.getInt(at + 16), compressed, size, dir.getInt(at + 42) & 0xffffffffL);
        if (compressed == 0xffffffffL || size == 0xffffffffL || c.localAt == 0xffffffffL) {
            throw new Inconsistent(c.name, "ZIP64 sizes: expected a plain zip entry");
        }
        dir.position(at + CENTRAL_SIZE + skip);
        return c;
    }

    /** Compares the local header with the directory's entry; returns where the next entry must start. */
    private static long local(FileChannel ch, Central c, long dirAt) throws IOException {
        if (c.localAt + LOCAL_SIZE > dirAt) throw new Inconsistent(c.name, "its local header lies past the entries");
        ByteBuffer h = read(ch, c.localAt, LOCAL_SIZE, "a local header");
        int nameLength = h.getShort(26) & 0xffff;
        int extraLength = h.getShort(28) & 0xffff;
        byte[] name = new byte[nameLength];
        if (c.localAt + LOCAL_SIZE + nameLength <= dirAt) {
            read(ch, c.localAt + LOCAL_SIZE, nameLength, "a local header").get(name);
        }
        boolean descriptor = (c.flags & DATA_DESCRIPTOR_FLAG) != 0;
        List<String> differ = new ArrayList<>();
        if (h.getInt(0) != LOCAL) differ.add("signature");
        if (!java.util.Arrays.equals(name, c.nameBytes)) differ.add("name '" + new String(name, StandardCharsets.UTF_8) + "'");
        if ((h.getShort(6) & 0xffff) != c.flags) differ.add("flags");
        if ((h.getShort(8) & 0xffff) != c.method) differ.add("compression method");
        // with a data descriptor the local header may leave CRC and sizes zero: they follow the data
        if (!agrees(h.getInt(14), c.crc, descriptor)) differ.add("CRC");
        if (!agrees(h.getInt(18), (int) c.compressed, descriptor)) differ.add("compressed size");
        if (!agrees(h.getInt(22), (int) c.size, descriptor)) differ.add("size");
        if (!differ.isEmpty()) {
            throw new Inconsistent(c.name, "its local header disagrees with the central directory ("
                    + String.join(", ", differ) + "): expected one description of each entry");
        }
        long end = c.localAt + LOCAL_SIZE + nameLength + extraLength + c.compressed;
        if (descriptor && end + 4 <= dirAt) {
            end += read(ch, end, 4, "a data descriptor").getInt(0) == DESCRIPTOR ? 16 : 12;
        }
        if (end > dirAt) throw new Inconsistent(c.name, "its data runs into the central directory");
        return end;
    }

    private static boolean agrees(int local, int central, boolean descriptor) {
        return local == central || descriptor && local == 0;
    }

    /** The end-of-central-directory record (the last one whose comment reaches the file's end), then its offset. */
    private static ByteBuffer endOfDirectory(FileChannel ch, long size) throws IOException {
        if (size < EOCD_SIZE) throw new Inconsistent(null, "too short for a zip (" + size + " bytes)");
        int tail = (int) Math.min(size, EOCD_SIZE + 0xffff);
        ByteBuffer b = read(ch, size - tail, tail, "the end of the zip");
        for (int at = tail - EOCD_SIZE; at >= 0; at--) {
            if (b.getInt(at) == EOCD && (b.getShort(at + 20) & 0xffff) == tail - at - EOCD_SIZE) {
                ByteBuffer record = ByteBuffer.allocate(EOCD_SIZE + 8).order(ByteOrder.LITTLE_ENDIAN);
                record.put(0, b, at, EOCD_SIZE);
                record.putLong(EOCD_SIZE, size - tail + at);
                return record;
            }
        }
        throw new Inconsistent(null, "no end-of-central-directory record: not a complete zip");
    }

    private static ByteBuffer read(FileChannel ch, long at, int length, String what) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, at + b.position()) < 0) throw new Inconsistent(null, what + " is cut short");
        }
        return b.flip();
    }
}
