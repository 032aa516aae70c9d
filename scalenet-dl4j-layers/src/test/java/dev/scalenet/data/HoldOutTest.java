package dev.scalenet.data;

import dev.scalenet.InvalidSettingException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A validation split carved from the training set: disjoint, seeded, and a view of the same examples. */
class HoldOutTest {

    /** The underlying index of each example of a view, recovered through its pixels' identity. */
    private static Set<String> keys(ImageDataset d) throws Exception {
        Set<String> keys = new HashSet<>();
        for (int i = 0; i < d.size(); i++) keys.add(d.label(i) + ":" + Arrays.hashCode(d.image(i).data()));
        return keys;
    }

    @Test
    @DisplayName("held-out and kept examples are disjoint, of the requested sizes, with the same labels as the source")
    void disjointAndSized() throws Exception {
        IdxDataset train = FashionMnist.train();
        HoldOut h = HoldOut.carve(train, 500, 2000, 7);
        assertEquals(500, h.validation().size());
        assertEquals(2000, h.train().size());
        assertEquals(train.classNames(), h.validation().classNames());
        Set<String> val = keys(h.validation());
        Set<String> kept = keys(h.train());
        int overlap = 0;
        for (String k : val) if (kept.contains(k)) overlap++;
        // Fashion-MNIST has a handful of duplicate images; distinct indices may share pixels, but not many
        assertTrue(overlap <= 2, "held-out examples also in the kept part: " + overlap);
        assertTrue(h.validation().describe().startsWith("500 validation examples of "), h.validation().describe());
    }

    @Test
    @DisplayName("the same seed gives the same split; another seed another one")
    void seeded() throws Exception {
        IdxDataset train = FashionMnist.train();
        int[] a = labels(HoldOut.carve(train, 300, 0, 1).validation());
        assertArrayEquals(a, labels(HoldOut.carve(train, 300, 0, 1).validation()));
        assertTrue(!Arrays.equals(a, labels(HoldOut.carve(train, 300, 0, 2).validation())));
        assertEquals(train.size() - 300, HoldOut.carve(train, 300, 0, 1).train().size());
    }

    private static int[] labels(ImageDataset d) {
        int[] l = new int[d.size()];
        for (int i = 0; i < l.length; i++) l[i] = d.label(i);
        return l;
    }

    @Test
    @DisplayName("sizes out of range name the setting and the limits")
    void badSizes() throws Exception {
        IdxDataset train = FashionMnist.train();
        InvalidSettingException e = assertThrows(InvalidSettingException.class, () -> HoldOut.carve(train, 0, 0, 1));
        assertEquals("validationSize", e.setting());
        e = assertThrows(InvalidSettingException.class, () -> HoldOut.carve(train, 1000, 59_001, 1));
        assertEquals("trainSize", e.setting());
        assertTrue(e.getMessage().contains("at most the 59000 examples left"), e.getMessage());
    }

    @Test
    @DisplayName("save writes a dataset folder whose train and evaluation splits are the kept and held-out examples, pixel for pixel")
    void saveRoundTrips(@TempDir Path tmp) throws Exception {
        HoldOut h = HoldOut.carve(FashionMnist.train(), 300, 1000, HoldOut.DEFAULT_SEED);
        Path dir = tmp.resolve("split");
        h.save(dir);
        assertSameExamples(h.train(), Datasets.open(dir, Split.TRAIN));
        assertSameExamples(h.validation(), Datasets.open(dir, Split.EVAL));
        assertTrue(Files.exists(dir.resolve("val-images-idx3-ubyte.gz")), "the held-out part is named val-*");
        assertEquals(Set.of(dir), Set.copyOf(list(tmp)), "nothing but the folder is left beside it");
    }

    @Test
    @DisplayName("save refuses an existing folder and leaves it as it was")
    void saveRefusesExisting(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("split"));
        Files.writeString(dir.resolve("mine.txt"), "keep");
        HoldOut h = HoldOut.carve(FashionMnist.train(), 10, 20, 1);
        DatasetException e = assertThrows(DatasetException.class, () -> h.save(dir));
        assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("already exists"), e.getMessage());
        assertEquals(List.of(dir.resolve("mine.txt")), list(dir));
    }

    @Test
    @DisplayName("a colour image cannot be IDX: save fails naming the example and writes nothing")
    void saveRefusesColourAndLeavesNothing(@TempDir Path tmp) throws Exception {
        ImageDataset colour = new ImageDataset() {
            @Override public int size() { return 40; }
            @Override public List<String> classNames() { return List.of("a", "b"); }
            @Override public int label(int index) { return index % 2; }
            @Override public Image image(int index) {
                return index == 17 ? new Image(3, 4, 4, new float[48]) : new Image(1, 4, 4, new float[16]);
            }
            @Override public String describe() { return "colour test set"; }
        };
        HoldOut h = HoldOut.carve(colour, 10, 0, 3);
        DatasetException e = assertThrows(DatasetException.class, () -> h.save(tmp.resolve("split")));
        assertTrue(e.getMessage().startsWith("colour test set, example 17: a 3-channel 4x4 image: IDX needs every image grey"
                + " and of one size, 4x4"), "names the example by its index in the whole dataset: " + e.getMessage());
        assertEquals(List.of(), list(tmp), "no folder and no partial folder");
    }

    @Test
    @DisplayName("save clears what a killed save into the same folder left beside it")
    void saveClearsAKilledSavesLeftovers(@TempDir Path tmp) throws Exception {
        Path leftover = Files.createDirectories(tmp.resolve(".split.tmp-1f2e3d"));
        Files.writeString(leftover.resolve("train-images-idx3-ubyte.gz"), "half");
        HoldOut.carve(FashionMnist.train(), 10, 20, 1).save(tmp.resolve("split"));
        assertEquals(List.of(tmp.resolve("split")), list(tmp));
    }

    @Test
    @DisplayName("a NaN pixel or a label outside the dataset's classes cannot be written: the error names the example")
    void writeRefusesNaNAndLabelsOutsideTheClasses(@TempDir Path tmp) {
        DatasetException nan = assertThrows(DatasetException.class, () -> IdxDataset.write(oneImage(Float.NaN, 0), tmp, "train"));
        assertEquals("one image, example 0: pixel 1 is NaN: IDX holds bytes, expected a multiple of 1/255 in [0, 1]", nan.getMessage());
        DatasetException above = assertThrows(DatasetException.class, () -> IdxDataset.write(oneImage(0f, 2), tmp, "train"));
        assertEquals("one image, example 0: label 2: expected a class index, 0 to 1", above.getMessage());
        DatasetException negative = assertThrows(DatasetException.class, () -> IdxDataset.write(oneImage(0f, -1), tmp, "train"));
        assertEquals("one image, example 0: label -1: expected a class index, 0 to 1", negative.getMessage());
        assertEquals(0, tmp.toFile().list().length);
    }

    /** One 1x2 grey image of class {@code label} out of two, its second pixel {@code pixel}. */
    private static ImageDataset oneImage(float pixel, int label) {
        return new ImageDataset() {
            @Override public int size() { return 1; }
            @Override public List<String> classNames() { return List.of("a", "b"); }
            @Override public int label(int index) { return label; }
            @Override public Image image(int index) { return new Image(1, 1, 2, new float[] {0f, pixel}); }
            @Override public String describe() { return "one image"; }
        };
    }

    @Test
    @DisplayName("a pixel that is not a multiple of 1/255 cannot be written as a byte: the error names it")
    void writeRefusesNonBytePixels(@TempDir Path tmp) {
        DatasetException e = assertThrows(DatasetException.class, () -> IdxDataset.write(oneImage(0.5f, 0), tmp, "train"));
        assertEquals("one image, example 0: pixel 1 is 0.5: IDX holds bytes, expected a multiple of 1/255 in [0, 1]", e.getMessage());
        assertEquals(0, tmp.toFile().list().length);
    }

    private static void assertSameExamples(ImageDataset expected, ImageDataset actual) throws Exception {
        assertEquals(expected.size(), actual.size());
        assertEquals(expected.classNames(), actual.classNames());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.label(i), actual.label(i), "label of example " + i);
            assertArrayEquals(expected.image(i).data(), actual.image(i).data(), "pixels of example " + i);
        }
    }

    private static List<Path> list(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            return s.toList();
        }
    }
}
