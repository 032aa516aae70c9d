package dev.scalenet.data;

import dev.scalenet.io.AtomicFiles;

import java.io.BufferedInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;

/**
 * An MNIST-style dataset in IDX files: an images file (magic {@code 0x00000803}, big-endian sizes
 * {@code [count, rows, cols]}, then unsigned bytes) and a labels file (magic {@code 0x00000801},
 * {@code [count]}, then one unsigned byte per image). Either file may be gzipped, recognised by the
 * gzip magic {@code 1f 8b} rather than by its name. All pixels are held in memory as bytes (60,000
 * Fashion-MNIST images take 47 MB).
 *
 * <p>Class names come from a {@code classes.txt} beside the images file (one name per line, line
 * {@code k} naming label {@code k}), which also fixes the number of classes; without one, the
 * classes are named {@code "0" .. "K-1"} with {@code K} = the largest label + 1.
 *
 * <p>Images are grey, one channel, pixels {@code byte / 255}.
 */
public final class IdxDataset implements ImageDataset {
    static final int IMAGES_MAGIC = 0x00000803;
    static final int LABELS_MAGIC = 0x00000801;
    private static final String IMAGES_LAYOUT = "IDX images: unsigned bytes, 3 dimensions [count, rows, cols]";
    private static final String LABELS_LAYOUT = "IDX labels: unsigned bytes, 1 dimension [count]";
    private static final int BUFFER_BYTES = 1 << 16;
    private static final long MAX_BYTES = Integer.MAX_VALUE - 8;

    private final String description;
    private final int rows;
    private final int cols;
    private final byte[] pixels;
    private final byte[] labels;
    private final List<String> classNames;

    private record Idx(int[] sizes, byte[] data) {
    }

    private IdxDataset(String description, int rows, int cols, byte[] pixels, byte[] labels, List<String> classNames) {
        this.description = description;
        this.rows = rows;
        this.cols = cols;
        this.pixels = pixels;
        this.labels = labels;
        this.classNames = classNames;
    }

    /**
     * Reads and validates both files: magic numbers, sizes against the data actually present, one
     * label per image, and labels within the classes of {@code classes.txt} when there is one.
     *
     * @throws DatasetException naming the file and what was expected, if anything does not fit
     */
    public static IdxDataset read(Path images, Path labels) throws DatasetException {
        String imagesWhere = images.toAbsolutePath().toString();
        String labelsWhere = labels.toAbsolutePath().toString();
        Idx imageIdx = readIdx(images, IMAGES_MAGIC, IMAGES_LAYOUT);
        Idx labelIdx = readIdx(labels, LABELS_MAGIC, LABELS_LAYOUT);
        int count = imageIdx.sizes()[0];
        int rows = imageIdx.sizes()[1];
        int cols = imageIdx.sizes()[2];
        if (rows == 0 || cols == 0) {
            throw new DatasetException(imagesWhere + ": image size " + rows + "x" + cols
                    + ": expected positive rows and cols");
        }
        if (count == 0) {
            throw new DatasetException(imagesWhere + ": holds no images: expected at least one");
        }
        if (labelIdx.sizes()[0] != count) {
            throw new DatasetException("images file " + imagesWhere + " has " + count + " images but labels file "
                    + labelsWhere + " has " + labelIdx.sizes()[0] + " labels: expected one label per image");
        }
        byte[] labelBytes = labelIdx.data();
        Path classesFile = images.toAbsolutePath().resolveSibling(ClassNames.FILE_NAME);
        List<String> classNames;
        if (Files.isRegularFile(classesFile)) {
            classNames = ClassNames.read(classesFile);
            for (int i = 0; i < count; i++) {
                int label = labelBytes[i] & 0xff;
                if (label >= classNames.size()) {
                    throw new DatasetException(labelsWhere + ": label " + label + " at index " + i
                            + " is out of range: " + classesFile + " lists " + classNames.size()
                            + " classes, expected labels 0.." + (classNames.size() - 1));
                }
            }
        } else {
            int max = 0;
            for (byte b : labelBytes) {
                max = Math.max(max, b & 0xff);
            }
            classNames = ClassNames.numbered(max + 1);
        }
        return new IdxDataset("IDX images " + imagesWhere + " with labels " + labelsWhere,
                rows, cols, imageIdx.data(), labelBytes, classNames);
    }

    @Override
    public int size() {
        return labels.length;
    }

    @Override
    public List<String> classNames() {
        return classNames;
    }

    @Override
    public int label(int index) {
        return labels[Objects.checkIndex(index, labels.length)] & 0xff;
    }

    /** Image height in pixels (the IDX {@code rows}); every image has the same size. */
    public int height() {
        return rows;
    }

    /** Image width in pixels (the IDX {@code cols}). */
    public int width() {
        return cols;
    }

    /** One grey channel, {@code byte / 255}. Never fails: the pixels are already in memory. */
    @Override
    public Image image(int index) {
        int pixelsPerImage = rows * cols;
        int offset = Objects.checkIndex(index, labels.length) * pixelsPerImage;
        float[] data = new float[pixelsPerImage];
        for (int i = 0; i < pixelsPerImage; i++) {
            data[i] = (pixels[offset + i] & 0xff) / 255f;
        }
        return new Image(1, rows, cols, data);
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public String toString() {
        return description + " (" + size() + " images of " + rows + "x" + cols + ", " + numClasses() + " classes)";
    }

    /**
     * Writes {@code data} as gzipped IDX files {@code <prefix>-images-idx3-ubyte.gz} and
     * {@code <prefix>-labels-idx1-ubyte.gz} in {@code dir}, each atomically. IDX holds grey bytes: every image must
     * have one channel and the first image's size, every pixel must be a multiple of 1/255 (as IDX and 8-bit PNG
     * pixels are) and every label one of {@code data}'s classes and below 256; anything else fails naming the example,
     * before a file is written. The class names are the caller's to write ({@link ClassNames#write}).
     */
    static void write(ImageDataset data, Path dir, String prefix) throws IOException {
        int count = data.size();
        if (count == 0) {
            throw new DatasetException(data.describe() + ": holds no images: IDX files need at least one");
        }
        int classes = data.classNames().size();
        if (classes > 256) {
            throw new DatasetException(data.describe() + ": " + classes + " classes: IDX labels are bytes, at most 256 classes");
        }
        Image first = data.image(0);
        int rows = first.height();
        int cols = first.width();
        if ((long) count * rows * cols > MAX_BYTES) {
            throw new DatasetException(data.describe() + ": " + count + " images of " + rows + "x" + cols
                    + " need more than " + MAX_BYTES + " bytes, more than a Java array holds");
        }
        byte[] pixels = new byte[count * rows * cols];
        byte[] labels = new byte[count];
        for (int i = 0; i < count; i++) {
            Image image = i == 0 ? first : data.image(i);
            if (image.channels() != 1 || image.height() != rows || image.width() != cols) {
                throw new DatasetException(data.source(i) + ": a " + image.channels() + "-channel " + image.height() + "x"
                        + image.width() + " image: IDX needs every image grey and of one size, " + rows + "x" + cols
                        + (i == 0 ? "" : " as the first"));
            }
            float[] values = image.data();
            for (int p = 0; p < values.length; p++) {
                float level = values[p] * 255f;
                int b = Math.round(level);
                if (!(b >= 0 && b <= 255 && Math.abs(level - b) <= 1e-3f)) { // written so that NaN fails too
                    throw new DatasetException(data.source(i) + ": pixel " + p + " is " + values[p]
                            + ": IDX holds bytes, expected a multiple of 1/255 in [0, 1]");
                }
                pixels[i * values.length + p] = (byte) b;
            }
            int label = data.label(i);
            if (label < 0 || label >= classes) {
                throw new DatasetException(data.source(i) + ": label " + label + ": expected a class index, 0 to " + (classes - 1));
            }
            labels[i] = (byte) label;
        }
        writeIdx(dir.resolve(prefix + Datasets.IMAGES_SUFFIX + ".gz"), IMAGES_MAGIC, new int[] {count, rows, cols}, pixels);
        writeIdx(dir.resolve(prefix + Datasets.LABELS_SUFFIX + ".gz"), LABELS_MAGIC, new int[] {count}, labels);
    }

    private static void writeIdx(Path file, int magic, int[] sizes, byte[] data) throws IOException {
        AtomicFiles.write(file, out -> {
            GZIPOutputStream gzip = new GZIPOutputStream(out, BUFFER_BYTES);
            DataOutputStream idx = new DataOutputStream(gzip); // big-endian, as IDX is
            idx.writeInt(magic);
            for (int size : sizes) {
                idx.writeInt(size);
            }
            idx.write(data);
            idx.flush();
            gzip.finish();
        });
    }

    /** Reads one IDX file of unsigned bytes whose magic must be {@code magic}; its low byte is the rank. */
    private static Idx readIdx(Path file, int magic, String layout) throws DatasetException {
        String where = file.toAbsolutePath().toString();
        int rank = magic & 0xff;
        // both resources: the file is closed on every path, also when the gzip header is refused before in exists
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), BUFFER_BYTES);
             InputStream in = decompressed(raw)) {
            byte[] header = new byte[4 + 4 * rank];
            int got = in.readNBytes(header, 0, header.length);
            if (got < 4) {
                throw fail(where, "truncated: " + got + " bytes, too few for the 4-byte magic of " + layout);
            }
            ByteBuffer h = ByteBuffer.wrap(header); // IDX is big-endian, ByteBuffer's default
            int found = h.getInt();
            if (found != magic) {
                throw fail(where, badMagic(found, magic, layout));
            }
            if (got < header.length) {
                throw fail(where, "truncated: the file ends inside its " + header.length
                        + "-byte header (magic and " + rank + " sizes)");
            }
            int[] sizes = new int[rank];
            long count = 1;
            for (int i = 0; i < rank; i++) {
                sizes[i] = h.getInt();
                if (sizes[i] < 0) {
                    throw fail(where, "size " + Integer.toUnsignedString(sizes[i]) + " of dimension " + i
                            + " is absurdly large: expected at most " + Integer.MAX_VALUE);
                }
                count *= sizes[i];
                if (count > MAX_BYTES) {
                    throw fail(where, "sizes " + shape(sizes, i + 1) + " need more than " + MAX_BYTES
                            + " bytes, more than a Java array holds");
                }
            }
            // grows with the bytes actually there, so a header claiming 2 GB in a small file allocates nothing big
            byte[] data = in.readNBytes((int) count);
            if (data.length < count) {
                throw fail(where, "truncated: expected " + count + " data bytes for sizes " + shape(sizes, rank)
                        + ", found " + data.length);
            }
            if (in.read() >= 0) {
                throw fail(where, "trailing bytes after the " + count + " data bytes for sizes "
                        + shape(sizes, rank) + ": expected the file to end there");
            }
            return new Idx(sizes, data);
        } catch (DatasetException e) {
            throw e;
        } catch (NoSuchFileException e) {
            throw fail(where, "does not exist: expected a file of " + layout);
        } catch (EOFException e) {
            // GZIPInputStream's way of saying the compressed stream was cut short
            throw fail(where, "truncated: the gzip stream ends early (" + e.getMessage() + ")");
        } catch (ZipException e) {
            throw fail(where, "corrupt gzip data: " + e.getMessage());
        } catch (IOException e) {
            throw new DatasetException(where + ": cannot read: " + e, e);
        }
    }

    /** {@code raw} decompressed when it starts with the gzip magic {@code 1f 8b}, else {@code raw} itself. */
    private static InputStream decompressed(InputStream raw) throws IOException {
        raw.mark(2);
        boolean gzip = raw.read() == 0x1f && raw.read() == 0x8b;
        raw.reset();
        return gzip ? new BufferedInputStream(new GZIPInputStream(raw, BUFFER_BYTES), BUFFER_BYTES) : raw;
    }

    private static String badMagic(int found, int expected, String layout) {
        String problem = String.format("bad magic 0x%08x: expected 0x%08x (%s)", found, expected, layout);
        if (found == LABELS_MAGIC) {
            return problem + "; this is an IDX labels file";
        }
        if (found == IMAGES_MAGIC) {
            return problem + "; this is an IDX images file";
        }
        if ((found >>> 16) == 0) {
            return problem + String.format("; found IDX type 0x%02x with %d dimensions", (found >>> 8) & 0xff,
                    found & 0xff);
        }
        return problem + "; not an IDX file (nor gzip)";
    }

    private static String shape(int[] sizes, int length) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < length; i++) {
            s.append(i == 0 ? "" : ", ").append(sizes[i]);
        }
        return s.append(']').toString();
    }

    private static DatasetException fail(String where, String problem) {
        return new DatasetException(where + ": " + problem);
    }
}
