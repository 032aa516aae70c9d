package dev.scalenet.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxDatasetTest {
    private static final List<String> FASHION_CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    @TempDir
    Path dir;

    /** An IDX file: big-endian magic and sizes, then the bytes. */
    static byte[] idx(int magic, int[] sizes, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * sizes.length + data.length).putInt(magic);
        for (int s : sizes) {
            b.putInt(s);
        }
        return b.put(data).array();
    }

    static byte[] images(int count, int rows, int cols) {
        byte[] pixels = new byte[count * rows * cols];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i * 37);
        }
        return idx(IdxDataset.IMAGES_MAGIC, new int[] {count, rows, cols}, pixels);
    }

    static byte[] labels(int... labels) {
        byte[] data = new byte[labels.length];
        for (int i = 0; i < labels.length; i++) {
            data[i] = (byte) labels[i];
        }
        return idx(IdxDataset.LABELS_MAGIC, new int[] {labels.length}, data);
    }

    static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (OutputStream gz = new GZIPOutputStream(out)) {
            gz.write(raw);
        }
        return out.toByteArray();
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    /** Reading fails with a message naming {@code file} and containing every fragment. */
    private static void rejects(Path images, Path labels, Path file, String... fragments) {
        DatasetException e = assertThrows(DatasetException.class, () -> IdxDataset.read(images, labels));
        assertTrue(e.getMessage().contains(file.toAbsolutePath().toString()), e.getMessage());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), () -> "no \"" + fragment + "\" in: " + e.getMessage());
        }
    }

    private static int[] histogram(ImageDataset d) {
        int[] counts = new int[d.numClasses()];
        for (int i = 0; i < d.size(); i++) {
            counts[d.label(i)]++;
        }
        return counts;
    }

    /** Pixel bytes back from [0, 1] floats; exact for b / 255f. */
    private static int sumOfBytes(Image image) {
        int sum = 0;
        for (float v : image.data()) {
            sum += Math.round(v * 255);
        }
        return sum;
    }

    @Test
    @DisplayName("the bundled training set: 60000 28x28 grey images, 10 named classes of 6000, first label 9 (Ankle boot)")
    void fashionMnistTrain() throws IOException {
        IdxDataset train = FashionMnist.train();
        assertEquals(60000, train.size());
        assertEquals(28, train.height());
        assertEquals(28, train.width());
        assertEquals(FASHION_CLASSES, train.classNames());
        assertEquals(10, train.numClasses());
        int[] sixThousandEach = new int[10];
        Arrays.fill(sixThousandEach, 6000);
        assertArrayEquals(sixThousandEach, histogram(train));
        assertEquals(9, train.label(0));
        assertEquals("Ankle boot", train.classNames().get(train.label(0)));
        assertEquals(5, train.label(59999));
        assertTrue(train.describe().contains("train-images-idx3-ubyte.gz"), train.describe());
        assertTrue(train.describe().contains("train-labels-idx1-ubyte.gz"), train.describe());
    }

    @Test
    @DisplayName("training pixels match numpy's reading of the same files: image 0 row 14, image sums, the total")
    void fashionMnistTrainPixels() throws IOException {
        IdxDataset train = FashionMnist.train();
        Image first = train.image(0);
        assertEquals(1, first.channels());
        assertEquals(28, first.height());
        assertEquals(28, first.width());
        // numpy: np.frombuffer(gzip.open(f).read(), np.uint8, offset=16).reshape(-1, 28, 28)[0, 14]
        int[] row14 = {0, 0, 1, 4, 6, 7, 2, 0, 0, 0, 0, 0, 237, 226, 217, 223, 222, 219, 222, 221, 216, 223, 229, 215,
                218, 255, 77, 0};
        for (int x = 0; x < 28; x++) {
            assertEquals(row14[x] / 255f, first.get(0, 14, x), "row 14, column " + x);
        }
        assertEquals(1 / 255f, first.get(0, 3, 12)); // the first non-zero pixel in row-major order
        assertEquals(0f, first.get(0, 3, 11));
        assertEquals(76247, sumOfBytes(first));
        assertEquals(16684, sumOfBytes(train.image(59999)));
        long total = 0;
        for (int i = 0; i < train.size(); i++) {
            total += sumOfBytes(train.image(i));
        }
        assertEquals(3431114169L, total);
    }

    @Test
    @DisplayName("the bundled test set: 10000 images, 1000 per class, the labels and pixel sums numpy reads")
    void fashionMnistTest() throws IOException {
        IdxDataset test = FashionMnist.test();
        assertEquals(10000, test.size());
        assertEquals(FASHION_CLASSES, test.classNames());
        int[] thousandEach = new int[10];
        Arrays.fill(thousandEach, 1000);
        assertArrayEquals(thousandEach, histogram(test));
        int[] firstLabels = new int[10];
        for (int i = 0; i < 10; i++) {
            firstLabels[i] = test.label(i);
        }
        assertArrayEquals(new int[] {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}, firstLabels);
        assertEquals(33456, sumOfBytes(test.image(0)));
        assertEquals(24390, sumOfBytes(test.image(9999)));
        assertEquals(5, test.label(9999));
    }

    @Test
    @DisplayName("the fashionMnist() preset's mean and std are the training pixels' (0.286041, 0.353024)")
    void presetMatchesTrainingStatistics() throws IOException {
        IdxDataset train = FashionMnist.train();
        double sum = 0;
        double sumOfSquares = 0;
        long n = 0;
        for (int i = 0; i < train.size(); i++) {
            for (float v : train.image(i).data()) {
                sum += v;
                sumOfSquares += (double) v * v;
                n++;
            }
        }
        double mean = sum / n;
        double std = Math.sqrt(sumOfSquares / n - mean * mean);
        assertEquals(0.286041, mean, 1e-6);
        assertEquals(0.353024, std, 1e-6);
        assertEquals(mean, DataConfig.fashionMnist().mean()[0], 5e-5);
        assertEquals(std, DataConfig.fashionMnist().std()[0], 5e-5);
    }

    @Test
    @DisplayName("raw and gzipped files give the same data; gzip is recognised by content, not by name")
    void rawEqualsGzip() throws IOException {
        Path gzImages = FashionMnist.dir().resolve("t10k-images-idx3-ubyte.gz");
        Path gzLabels = FashionMnist.dir().resolve("t10k-labels-idx1-ubyte.gz");
        Path rawImages = dir.resolve("images.gz"); // a misleading name: the content is raw
        Path rawLabels = dir.resolve("labels");
        try (InputStream in = new GZIPInputStream(Files.newInputStream(gzImages))) {
            Files.write(rawImages, in.readAllBytes());
        }
        try (InputStream in = new GZIPInputStream(Files.newInputStream(gzLabels))) {
            Files.write(rawLabels, in.readAllBytes());
        }
        IdxDataset raw = IdxDataset.read(rawImages, rawLabels);
        IdxDataset gz = FashionMnist.test();
        assertEquals(gz.size(), raw.size());
        byte[] rawBytes = Files.readAllBytes(rawImages);
        for (int i = 0; i < gz.size(); i++) {
            assertEquals(gz.label(i), raw.label(i));
            assertArrayEquals(gz.image(i).data(), raw.image(i).data());
        }
        // and both agree with the file's bytes, decoded here by hand: 16 header bytes, then 784 per image
        for (int i : new int[] {0, 1, 4321, 9999}) {
            float[] pixels = raw.image(i).data();
            for (int p = 0; p < 784; p++) {
                assertEquals((rawBytes[16 + i * 784 + p] & 0xff) / 255f, pixels[p]);
            }
        }
        // no classes.txt beside these copies: classes are numbered
        assertEquals(List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"), raw.classNames());
    }

    @Test
    @DisplayName("a small dataset reads its bytes as CHW floats b / 255, in order")
    void smallDataset() throws IOException {
        Path images = write("i", images(3, 2, 4));
        Path labels = write("l", gzip(labels(1, 0, 4)));
        IdxDataset d = IdxDataset.read(images, labels);
        assertEquals(3, d.size());
        assertEquals(5, d.numClasses()); // no classes.txt: largest label + 1
        assertEquals(List.of("0", "1", "2", "3", "4"), d.classNames());
        assertEquals(4, d.label(2));
        Image second = d.image(1);
        assertEquals(2, second.height());
        assertEquals(4, second.width());
        for (int p = 0; p < 8; p++) {
            assertEquals(((8 + p) * 37 & 0xff) / 255f, second.data()[p]);
        }
        assertThrows(IndexOutOfBoundsException.class, () -> d.image(3));
        assertThrows(IndexOutOfBoundsException.class, () -> d.label(-1));
    }

    @Test
    @DisplayName("classes.txt beside the images sets the class names and count, even beyond the largest label")
    void classesFile() throws IOException {
        write(ClassNames.FILE_NAME, "cat\r\ndog\n bird \n\n\n".getBytes(StandardCharsets.UTF_8));
        IdxDataset d = IdxDataset.read(write("i", images(2, 1, 1)), write("l", labels(0, 1)));
        assertEquals(List.of("cat", "dog", "bird"), d.classNames());
        assertEquals(3, d.numClasses());
    }

    @Test
    @DisplayName("a label beyond classes.txt fails, naming the labels file, the label and classes.txt")
    void labelOutOfRange() throws IOException {
        Path classes = write(ClassNames.FILE_NAME, "cat\ndog\nbird\n".getBytes(StandardCharsets.UTF_8));
        Path labels = write("l", labels(0, 3));
        rejects(write("i", images(2, 1, 1)), labels, labels, "label 3 at index 1", classes.toString(),
                "expected labels 0..2");
    }

    @Test
    @DisplayName("a blank line inside classes.txt, or a repeated name, fails naming classes.txt")
    void badClassesFile() throws IOException {
        Path images = write("i", images(2, 1, 1));
        Path labels = write("l", labels(0, 1));
        Path classes = write(ClassNames.FILE_NAME, "cat\n\ndog\n".getBytes(StandardCharsets.UTF_8));
        rejects(images, labels, classes, "line 2 = '': expected a class name (not blank)");
        write(ClassNames.FILE_NAME, "cat\ndog\ncat\n".getBytes(StandardCharsets.UTF_8));
        rejects(images, labels, classes, "line 3 = 'cat' repeats line 1: expected one name per class");
    }

    @Test
    @DisplayName("a labels file given as images (and vice versa) fails on the magic, saying what it is")
    void swappedFiles() throws IOException {
        Path images = write("i", images(2, 1, 1));
        Path labels = write("l", labels(0, 1));
        rejects(labels, images, labels, "bad magic 0x00000801", "expected 0x00000803", "this is an IDX labels file");
        rejects(images, images, images, "bad magic 0x00000803", "expected 0x00000801", "this is an IDX images file");
    }

    @Test
    @DisplayName("other magic numbers fail: an IDX of another type, or not IDX at all")
    void wrongMagic() throws IOException {
        Path labels = write("l", labels(0));
        Path floats = write("f", idx(0x00000d03, new int[] {1, 1, 1}, new byte[4]));
        rejects(floats, labels, floats, "bad magic 0x00000d03", "found IDX type 0x0d with 3 dimensions");
        Path png = write("p", new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10});
        rejects(png, labels, png, "bad magic 0x89504e47", "not an IDX file");
    }

    @Test
    @DisplayName("truncated files fail: no magic, a cut header, missing pixels, a cut gzip stream")
    void truncated() throws IOException {
        Path labels = write("l", labels(0, 1));
        Path empty = write("empty", new byte[0]);
        rejects(empty, labels, empty, "truncated", "0 bytes");
        Path header = write("header", Arrays.copyOf(images(2, 2, 2), 10));
        rejects(header, labels, header, "truncated", "ends inside its 16-byte header");
        Path pixels = write("pixels", Arrays.copyOf(images(2, 2, 2), 16 + 5));
        rejects(pixels, labels, pixels, "truncated", "expected 8 data bytes for sizes [2, 2, 2], found 5");
        byte[] gz = gzip(images(2, 2, 2));
        Path cut = write("cut.gz", Arrays.copyOf(gz, gz.length - 12));
        rejects(cut, labels, cut, "truncated");
        Path gzPixels = write("short.gz", gzip(Arrays.copyOf(images(2, 2, 2), 16 + 7)));
        rejects(gzPixels, labels, gzPixels, "truncated", "expected 8 data bytes", "found 7");
        Path cutLabels = write("cutlabels", Arrays.copyOf(labels(0, 1), 9));
        rejects(write("i", images(2, 2, 2)), cutLabels, cutLabels, "truncated", "found 1");
    }

    @Test
    @DisplayName("bytes after the data fail rather than being ignored")
    void trailingBytes() throws IOException {
        byte[] ok = images(2, 2, 2);
        Path longer = write("longer", Arrays.copyOf(ok, ok.length + 1));
        rejects(longer, write("l", labels(0, 1)), longer, "trailing bytes");
    }

    @Test
    @DisplayName("corrupt gzip data fails, naming the file")
    void corruptGzip() throws IOException {
        byte[] gz = gzip(images(2, 2, 2));
        gz[gz.length - 5] ^= 0x55; // inside the CRC/size trailer
        Path bad = write("bad.gz", gz);
        rejects(bad, write("l", labels(0, 1)), bad, "gzip");
    }

    @Test
    @DisplayName("every file a read opens is closed again, read or refused: a bad gzip header, a cut or corrupt gzip stream, a bad magic")
    void closesWhatItOpens() throws IOException {
        assumeTrue(Files.isDirectory(OPEN_FILES), "lists open files through Linux's " + OPEN_FILES);
        byte[] gz = gzip(images(2, 2, 2));
        byte[] badHeader = gz.clone();
        badHeader[2] = 9; // compression method 9: GZIPInputStream's constructor refuses it, before any stream over the file exists
        byte[] cut = Arrays.copyOf(gz, gz.length - 10);
        byte[] corrupt = gz.clone();
        corrupt[gz.length - 5] ^= 0x55;
        Path labels = write("l", gzip(labels(0, 1)));
        Path images = write("i", gz);
        assertEquals(2, IdxDataset.read(images, labels).size());
        assertEquals(List.of(), openFilesIn(dir));
        for (byte[] bad : List.of(badHeader, cut, corrupt, "not an IDX file".getBytes(StandardCharsets.US_ASCII))) {
            write("i", bad);
            assertThrows(DatasetException.class, () -> IdxDataset.read(images, labels));
            assertEquals(List.of(), openFilesIn(dir));
        }
    }

    private static final Path OPEN_FILES = Path.of("/proc/self/fd");

    /** The files in {@code folder} this process holds open. */
    private static List<Path> openFilesIn(Path folder) throws IOException {
        Path real = folder.toRealPath();
        List<Path> open = new ArrayList<>();
        try (DirectoryStream<Path> descriptors = Files.newDirectoryStream(OPEN_FILES)) {
            for (Path fd : descriptors) {
                try {
                    Path target = Files.readSymbolicLink(fd);
                    if (target.startsWith(real)) open.add(target);
                } catch (IOException closedMeanwhile) { // e.g. the descriptor of the listing itself
                }
            }
        }
        return open;
    }

    @Test
    @DisplayName("different image and label counts fail, naming both files and both counts")
    void countMismatch() throws IOException {
        Path images = write("i", images(3, 1, 1));
        Path labels = write("l", labels(0, 1));
        DatasetException e = assertThrows(DatasetException.class, () -> IdxDataset.read(images, labels));
        assertTrue(e.getMessage().contains(images.toString()) && e.getMessage().contains(labels.toString()),
                e.getMessage());
        assertTrue(e.getMessage().contains("has 3 images") && e.getMessage().contains("has 2 labels"), e.getMessage());
    }

    @Test
    @DisplayName("no images, zero-sized images, absurd sizes and missing files fail, naming the file")
    void degenerate() throws IOException {
        Path labels = write("l", labels(0));
        Path none = write("none", idx(IdxDataset.IMAGES_MAGIC, new int[] {0, 28, 28}, new byte[0]));
        rejects(none, labels, none, "holds no images");
        Path flat = write("flat", idx(IdxDataset.IMAGES_MAGIC, new int[] {1, 0, 28}, new byte[0]));
        rejects(flat, labels, flat, "image size 0x28");
        Path huge = write("huge", idx(IdxDataset.IMAGES_MAGIC, new int[] {-1, 28, 28}, new byte[0]));
        rejects(huge, labels, huge, "4294967295", "absurdly large");
        Path many = write("many", idx(IdxDataset.IMAGES_MAGIC, new int[] {100000, 1000, 1000}, new byte[0]));
        rejects(many, labels, many, "more than a Java array holds");
        Path missing = dir.resolve("missing");
        rejects(missing, labels, missing, "does not exist");
    }

    @Test
    @DisplayName("a header claiming 2 GB of pixels in a 20-byte file fails as truncated without allocating the 2 GB")
    void hugeClaim() throws IOException {
        Path claim = write("claim", idx(IdxDataset.IMAGES_MAGIC, new int[] {1, 46_340, 46_340}, new byte[4]));
        Path labels = write("l", labels(0));
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        rejects(claim, labels, claim, "truncated", "expected 2147395600 data bytes", "found 4");
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        // reading, the message and the assertion take well under a megabyte; the claim alone is 2 GB
        assertTrue(allocated < (64 << 20), "allocated " + allocated + " bytes");
    }
}
