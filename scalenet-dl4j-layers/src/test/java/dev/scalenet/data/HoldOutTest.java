package dev.scalenet.data;

import dev.scalenet.InvalidSettingException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
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
}
