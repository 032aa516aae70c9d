package dev.scalenet.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class BatchLoaderTest {
    private static final int CLASSES = 5;
    /** 1x2x2 input, identity normalisation: the features are the dataset's pixels unchanged. */
    private static final DataConfig PLAIN = DataConfig.of(1, 2, 2, new double[] {0}, new double[] {1});

    /**
     * Example {@code i} is a 1x2x2 image whose first pixel is {@code i / 1000} (so each batch row
     * tells which example it is) with label {@code i % 5}; example {@code broken} cannot be read.
     */
    private record Numbered(int size, int broken) implements ImageDataset {
        Numbered(int size) {
            this(size, -1);
        }

        @Override
        public List<String> classNames() {
            return List.of("a", "b", "c", "d", "e");
        }

        @Override
        public int label(int index) {
            return index % CLASSES;
        }

        @Override
        public Image image(int index) throws IOException {
            if (index == broken) {
                throw new DatasetException("/data/" + index + ".png: cannot decode the image");
            }
            return new Image(1, 2, 2, new float[] {index / 1000f, 0.25f, 0.5f, 0.75f});
        }

        @Override
        public String describe() {
            return "numbered test images";
        }
    }

    /** Training batches of 10 without augmentation, so the features show which examples they are. */
    private static BatchLoader.Builder train(int size) {
        return BatchLoader.training(new Numbered(size), PLAIN, 10).augmentation(Augmentation.NONE);
    }

    /** The example indices in a batch, read back from the features. */
    private static List<Integer> indices(DataSet batch) {
        float[] f = batch.getFeatures().data().asFloat();
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < f.length; i += 4) {
            out.add(Math.round(f[i] * 1000));
        }
        return out;
    }

    private static List<Integer> epochIndices(BatchLoader loader, int epoch) {
        List<Integer> all = new ArrayList<>();
        try (BatchLoader.Batches batches = loader.epoch(epoch)) {
            batches.forEachRemaining(b -> all.addAll(indices(b)));
        }
        return all;
    }

    /** Every batch of an epoch from {@code fromStep}, as exact float arrays {features, labels}. */
    private static List<float[][]> arrays(BatchLoader loader, int epoch, int fromStep) {
        List<float[][]> out = new ArrayList<>();
        try (BatchLoader.Batches batches = loader.epoch(epoch, fromStep)) {
            while (batches.hasNext()) {
                DataSet d = batches.next();
                out.add(new float[][] {d.getFeatures().data().asFloat(), d.getLabels().data().asFloat()});
            }
        }
        return out;
    }

    private static void assertSameBatches(List<float[][]> expected, List<float[][]> actual) {
        assertEquals(expected.size(), actual.size());
        for (int s = 0; s < expected.size(); s++) {
            assertArrayEquals(expected.get(s)[0], actual.get(s)[0], "features of batch " + s);
            assertArrayEquals(expected.get(s)[1], actual.get(s)[1], "labels of batch " + s);
        }
    }

    @Test
    @DisplayName("batches are float32 NCHW features and one-hot float32 [batch, classes] labels")
    void shapesAndOneHot() {
        BatchLoader loader = train(103).seed(1).build();
        assertEquals(10, loader.stepsPerEpoch());
        try (BatchLoader.Batches batches = loader.epoch(0)) {
            DataSet d = batches.next();
            assertArrayEquals(new long[] {10, 1, 2, 2}, d.getFeatures().shape());
            assertArrayEquals(new long[] {10, CLASSES}, d.getLabels().shape());
            assertEquals(DataType.FLOAT, d.getFeatures().dataType());
            assertEquals(DataType.FLOAT, d.getLabels().dataType());
            List<Integer> indices = indices(d);
            for (int row = 0; row < 10; row++) {
                float[] oneHot = new float[CLASSES];
                oneHot[indices.get(row) % CLASSES] = 1;
                assertArrayEquals(oneHot, d.getLabels().getRow(row).toFloatVector());
                assertArrayEquals(new float[] {indices.get(row) / 1000f, 0.25f, 0.5f, 0.75f},
                        d.getFeatures().get(NDArrayIndex.point(row)).dup().data().asFloat());
            }
        }
    }

    @Test
    @DisplayName("a training epoch visits each example once, in a shuffled order, dropping the last incomplete batch")
    void eachExampleOnce() {
        BatchLoader loader = train(103).seed(3).build();
        List<Integer> seen = epochIndices(loader, 0);
        assertEquals(100, seen.size());
        assertEquals(100, new HashSet<>(seen).size());
        int[] order = loader.order(0);
        assertEquals(Arrays.stream(order).limit(100).boxed().toList(), seen);
        Set<Integer> all = new HashSet<>(seen);
        for (int i = 100; i < 103; i++) {
            all.add(order[i]); // the dropped tail is the rest of the permutation
        }
        assertEquals(103, all.size());
        assertNotEquals(seen.subList(0, 20), List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19));
    }

    @Test
    @DisplayName("the order differs per epoch and per seed, and is the same for the same seed")
    void orderPerEpochAndSeed() {
        BatchLoader a = train(103).seed(3).build();
        BatchLoader b = train(103).seed(3).build();
        BatchLoader other = train(103).seed(4).build();
        assertNotEquals(epochIndices(a, 0), epochIndices(a, 1));
        assertEquals(epochIndices(a, 1), epochIndices(b, 1));
        assertNotEquals(epochIndices(a, 1), epochIndices(other, 1));
    }

    @Test
    @DisplayName("real data with augmentation: same seed gives identical arrays; resuming at step k gives the tail exactly")
    void deterministicAndResumable() throws IOException {
        IdxDataset test = FashionMnist.test();
        Augmentation aug = Augmentation.DEFAULT.withPadding(2);
        BatchLoader first = BatchLoader.training(test, DataConfig.fashionMnist(), 64).augmentation(aug).seed(11)
                .limit(640).build();
        BatchLoader second = BatchLoader.training(test, DataConfig.fashionMnist(), 64).augmentation(aug).seed(11)
                .limit(640).build();
        assertEquals(10, first.stepsPerEpoch());
        List<float[][]> full = arrays(first, 3, 0);
        assertEquals(10, full.size());
        assertSameBatches(full, arrays(second, 3, 0));
        for (int k : new int[] {1, 6, 9, 10}) {
            assertSameBatches(full.subList(k, 10), arrays(second, 3, k));
        }
        List<float[][]> nextEpoch = arrays(first, 4, 0);
        assertFalse(Arrays.equals(full.get(0)[0], nextEpoch.get(0)[0]), "epoch 4 repeats epoch 3's first batch");
        try (BatchLoader.Batches resumed = first.epoch(3, 6)) {
            assertEquals(6, resumed.nextStep());
            resumed.next();
            assertEquals(7, resumed.nextStep());
        }
    }

    @Test
    @DisplayName("augmented training features are the transform of each example, at its dataset index")
    void featuresAreTransformedExamples() throws IOException {
        IdxDataset test = FashionMnist.test();
        Augmentation aug = Augmentation.of(2, 0.5);
        BatchLoader loader = BatchLoader.training(test, DataConfig.fashionMnist(), 16).augmentation(aug).seed(5)
                .limit(200).build();
        int[] order = loader.order(2);
        ImageTransform transform = ImageTransform.train(DataConfig.fashionMnist(), aug);
        try (BatchLoader.Batches batches = loader.epoch(2, 3)) {
            float[] features = batches.next().getFeatures().data().asFloat();
            for (int row = 0; row < 16; row++) {
                int index = order[3 * 16 + row];
                float[] expected = transform.apply(test.image(index), 5, 2, index).data();
                assertArrayEquals(expected, Arrays.copyOfRange(features, row * 784, (row + 1) * 784));
            }
        }
    }

    @Test
    @DisplayName("evaluation goes in index order and keeps the partial last batch; the epoch number changes nothing")
    void evaluation() {
        BatchLoader loader = BatchLoader.evaluation(new Numbered(103), PLAIN, 10).build();
        assertEquals(11, loader.stepsPerEpoch());
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < 103; i++) {
            expected.add(i);
        }
        assertEquals(expected, epochIndices(loader, 0));
        assertEquals(expected, epochIndices(loader, 5));
        List<float[][]> batches = arrays(loader, 0, 0);
        assertEquals(3 * 4, batches.get(10)[0].length);
        assertEquals(3 * CLASSES, batches.get(10)[1].length);
    }

    @Test
    @DisplayName("limit uses only the first N examples")
    void limit() {
        BatchLoader train = train(103).limit(25).build();
        assertEquals(25, train.size());
        assertEquals(2, train.stepsPerEpoch());
        assertTrue(epochIndices(train, 0).stream().allMatch(i -> i < 25));
        BatchLoader eval = BatchLoader.evaluation(new Numbered(103), PLAIN, 10).limit(25).build();
        assertEquals(3, eval.stepsPerEpoch());
        assertEquals(24, epochIndices(eval, 0).get(24));
    }

    @Test
    @DisplayName("bad arguments fail, saying what was expected")
    void badArguments() {
        IllegalArgumentException tooBig = assertThrows(IllegalArgumentException.class,
                () -> BatchLoader.training(new Numbered(9), PLAIN, 10).build());
        assertTrue(tooBig.getMessage().contains("batch size 10 is larger than the 9 examples"), tooBig.getMessage());
        assertTrue(tooBig.getMessage().contains("numbered test images"), tooBig.getMessage());
        assertEquals(1, BatchLoader.evaluation(new Numbered(9), PLAIN, 10).build().stepsPerEpoch());
        assertThrows(IllegalArgumentException.class, () -> BatchLoader.training(new Numbered(9), PLAIN, 0));
        assertThrows(IllegalArgumentException.class, () -> BatchLoader.training(new Numbered(9), PLAIN, 1).limit(0));
        assertThrows(IllegalStateException.class,
                () -> BatchLoader.evaluation(new Numbered(9), PLAIN, 1).augmentation(Augmentation.NONE));
        BatchLoader loader = BatchLoader.training(new Numbered(30), PLAIN, 10).build();
        assertThrows(IllegalArgumentException.class, () -> loader.epoch(0, 4));
        assertThrows(IllegalArgumentException.class, () -> loader.epoch(-1));
    }

    @Test
    @DisplayName("an unreadable image surfaces at its batch, naming the file; the batches then end")
    void readFailure() {
        BatchLoader loader = BatchLoader.evaluation(new Numbered(100, 57), PLAIN, 10).build();
        try (BatchLoader.Batches batches = loader.epoch(0)) {
            for (int s = 0; s < 5; s++) {
                assertEquals(10, indices(batches.next()).size());
            }
            UncheckedIOException e = assertThrows(UncheckedIOException.class, batches::next);
            assertTrue(e.getMessage().contains("batch 5 of epoch 0"), e.getMessage());
            assertTrue(e.getMessage().contains("/data/57.png"), e.getMessage());
            assertFalse(batches.hasNext());
        }
    }

    @Test
    @DisplayName("closing mid-epoch stops the background thread; further next() calls fail")
    void close() throws InterruptedException {
        BatchLoader loader = BatchLoader.training(new Numbered(1000), PLAIN, 10).build();
        BatchLoader.Batches batches = loader.epoch(7);
        batches.next();
        Thread.sleep(50); // let the worker fill the queue and block
        assertTrue(workerAlive("scalenet-batches-epoch-7"));
        batches.close();
        assertFalse(workerAlive("scalenet-batches-epoch-7"));
        assertFalse(batches.hasNext());
        assertThrows(IllegalStateException.class, batches::next);
        batches.close(); // idempotent
    }

    private static boolean workerAlive(String name) {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals(name) && t.isAlive());
    }

    @Test
    @DisplayName("batches taken inside a workspace are detached from it, so they outlive it")
    void outsideWorkspaces() {
        BatchLoader loader = BatchLoader.evaluation(new Numbered(20), PLAIN, 10).build();
        DataSet batch;
        try (BatchLoader.Batches batches = loader.epoch(0);
                MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace("BATCH_LOADER_TEST")) {
            batch = batches.next();
            assertTrue(Nd4j.getMemoryManager().getCurrentWorkspace() != null, "the test should run inside a workspace");
            assertFalse(batch.getFeatures().isAttached());
            assertFalse(batch.getLabels().isAttached());
        }
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), indices(batch)); // still readable after the workspace closed
    }
}
