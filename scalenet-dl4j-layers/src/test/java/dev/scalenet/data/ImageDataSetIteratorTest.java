package dev.scalenet.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.datasets.iterator.AsyncDataSetIterator;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/** The datasets as DL4J DataSetIterators: the loader's batches, an epoch per reset, reproducible, async-safe. */
class ImageDataSetIteratorTest {
    /** 200 Fashion-MNIST training images, batches of 32 (6 steps an epoch), with the default flip augmentation. */
    private static BatchLoader loader() throws DatasetException {
        return BatchLoader.training(FashionMnist.train(), DataConfig.fashionMnist(), 32).limit(200).seed(5).build();
    }

    private static List<DataSet> rest(java.util.Iterator<DataSet> it) {
        List<DataSet> out = new ArrayList<>();
        while (it.hasNext()) out.add(it.next());
        return out;
    }

    private static List<DataSet> epoch(BatchLoader loader, int epoch, int fromStep) {
        try (BatchLoader.Batches b = loader.epoch(epoch, fromStep)) {
            return rest(b);
        }
    }

    @Test
    @DisplayName("gives exactly the loader's batches; reset() before any batch keeps epoch 0, after a batch moves to the next epoch")
    void epochs() throws Exception {
        BatchLoader loader = loader();
        ImageDataSetIterator it = loader.iterator();
        it.reset(); // DL4J resets before it starts: must not skip epoch 0
        assertEquals(epoch(loader, 0, 0), rest(it));
        assertFalse(it.hasNext());
        it.reset();
        assertEquals(1, it.epoch());
        List<DataSet> second = rest(it);
        assertEquals(epoch(loader, 1, 0), second);
        assertNotEquals(epoch(loader, 0, 0), second, "a new order each epoch");
        it.reset();
        it.next(); // a partial epoch 2, then reset: the next epoch from its start
        it.reset();
        assertEquals(epoch(loader, 3, 0).get(0), it.next());
        it.close();
    }

    @Test
    @DisplayName("deterministic per seed and epoch: two iterators alike agree; startEpoch(e, s) resumes exactly there")
    void deterministic() throws Exception {
        ImageDataSetIterator a = loader().iterator();
        ImageDataSetIterator b = loader().iterator();
        assertEquals(rest(a), rest(b));
        ImageDataSetIterator resumed = loader().iterator();
        resumed.startEpoch(2, 4);
        assertEquals(4, resumed.nextStep());
        assertEquals(epoch(loader(), 2, 4), rest(resumed));
        assertThrows(IllegalArgumentException.class, () -> resumed.startEpoch(0, 7), "6 steps an epoch");
    }

    @Test
    @DisplayName("skip(n) passes over n batches as if next() had given them: the rest of the epoch, then reset() moves to the next epoch")
    void skip() throws Exception {
        BatchLoader loader = loader();
        ImageDataSetIterator it = loader.iterator();
        it.next();
        it.skip(2);
        assertEquals(3, it.nextStep());
        assertEquals(epoch(loader, 0, 3), rest(it));
        ImageDataSetIterator skipped = loader.iterator();
        skipped.skip(6); // a whole epoch built elsewhere
        assertFalse(skipped.hasNext());
        skipped.reset();
        assertEquals(1, skipped.epoch(), "the skipped epoch counts as started");
        assertThrows(IllegalArgumentException.class, () -> skipped.skip(7), "6 steps an epoch");
        skipped.close();
    }

    @Test
    @DisplayName("DL4J's AsyncDataSetIterator (what fit() wraps it in, asyncSupported being true) gives the same batches in order")
    void async() throws Exception {
        ImageDataSetIterator plain = loader().iterator();
        assertTrue(plain.asyncSupported());
        List<DataSet> expected = rest(plain);
        AsyncDataSetIterator async = new AsyncDataSetIterator(loader().iterator(), 2);
        try {
            List<DataSet> got = new ArrayList<>();
            while (async.hasNext()) got.add(async.next().copy());
            assertEquals(expected, got);
        } finally {
            async.shutdown();
        }
    }

    @Test
    @DisplayName("describes itself to DL4J: input columns, outcomes, batch size, class names; applies a preprocessor; next(n) unsupported")
    void metadata() throws Exception {
        ImageDataSetIterator it = loader().iterator();
        assertEquals(28 * 28, it.inputColumns());
        assertEquals(10, it.totalOutcomes());
        assertEquals(32, it.batch());
        assertTrue(it.resetSupported());
        assertEquals("Ankle boot", it.getLabels().get(9));
        it.setPreProcessor(ds -> ds.getFeatures().assign(7));
        assertEquals(7.0, it.next().getFeatures().maxNumber().doubleValue());
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> it.next(5));
        assertTrue(e.getMessage().contains("32"), e.getMessage());
        DataSetIterator asDl4j = it;
        asDl4j.reset();
        it.close();
    }
}
