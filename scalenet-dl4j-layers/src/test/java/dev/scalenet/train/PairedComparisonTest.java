package dev.scalenet.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The paired statistics against values worked out by hand (and Student's t from its published table). */
class PairedComparisonTest {
    @Test
    void studentsTQuantilesMatchThePublishedTable() {
        assertEquals(12.7062, PairedComparison.tQuantile(1), 1e-4);
        assertEquals(2.7764, PairedComparison.tQuantile(4), 1e-4);
        assertEquals(2.0423, PairedComparison.tQuantile(30), 1e-4);
    }

    @Test
    void seedDifferencesOneTwoThreeHaveMeanTwoSdOneAndATIntervalOfWidthTwoTimesTOverRootThree() {
        PairedComparison.Seeds s = PairedComparison.seeds(new double[] {81, 82, 83}, new double[] {80, 80, 80});
        assertEquals(3, s.n());
        assertEquals(2.0, s.mean(), 1e-12);
        assertEquals(1.0, s.std(), 1e-12);
        // t(0.975, 2) = 4.302653, / sqrt(3) = 2.484138
        assertEquals(2 - 2.484138, s.low(), 1e-6);
        assertEquals(2 + 2.484138, s.high(), 1e-6);
        assertFalse(s.excludesZero());
    }

    @Test
    void aConsistentGainExcludesZero() {
        PairedComparison.Seeds s = PairedComparison.seeds(new double[] {1.1, 1.2, 0.9, 1.0, 1.3}, new double[] {0, 0, 0, 0, 0});
        assertEquals(1.1, s.mean(), 1e-12);
        assertTrue(s.low() > 0, s.toString());
        assertTrue(s.excludesZero());
    }

    @Test
    void oneSeedHasAMeanButNoInterval() {
        PairedComparison.Seeds s = PairedComparison.seeds(new double[] {87.46}, new double[] {87.42});
        assertEquals(0.04, s.mean(), 1e-9);
        assertTrue(Double.isNaN(s.low()) && Double.isNaN(s.high()));
        assertFalse(s.excludesZero());
        assertFalse(s.toJson().has("ci95Low"));
    }

    @Test
    void oneSeedClaimsNoSpreadInItsJsonOrText() {
        PairedComparison.Seeds s = PairedComparison.seeds(new double[] {87.46}, new double[] {87.42});
        assertTrue(Double.isNaN(s.std()), "the spread of one difference is unknown, not 0: " + s.std());
        var json = s.toJson();
        assertEquals(1, json.get("seeds").asInt());
        assertEquals(0.04, json.get("meanDifference").asDouble(), 1e-9);
        assertFalse(json.has("std") || json.has("ci95Low") || json.has("ci95High"), json.toString());
        assertEquals("+0.04 (1 seed, no interval)", s.toString());
        assertEquals(1.0, PairedComparison.seeds(new double[] {81, 82, 83}, new double[] {80, 80, 80}).toJson().get("std").asDouble(),
                1e-12, "two seeds or more have a spread");
    }

    @Test
    void seedsMustPairUp() {
        assertThrows(IllegalArgumentException.class, () -> PairedComparison.seeds(new double[] {1, 2}, new double[] {1}));
        assertThrows(IllegalArgumentException.class, () -> PairedComparison.seeds(new double[0], new double[0]));
    }

    /** 100 images: both right on 80, only A on 10, only B on 2, neither on 8. */
    private static PairedComparison.Images tenAgainstTwo() {
        boolean[] a = new boolean[100];
        boolean[] b = new boolean[100];
        for (int i = 0; i < 80; i++) a[i] = b[i] = true;
        for (int i = 80; i < 90; i++) a[i] = true;
        for (int i = 90; i < 92; i++) b[i] = true;
        return PairedComparison.images(a, b);
    }

    @Test
    void imagesAreCountedIntoTheTwoByTwoTable() {
        PairedComparison.Images t = tenAgainstTwo();
        assertEquals(100, t.n());
        assertEquals(80, t.bothRight());
        assertEquals(10, t.onlyA());
        assertEquals(2, t.onlyB());
        assertEquals(8, t.bothWrong());
        assertEquals(0.90, t.accuracyA(), 1e-12);
        assertEquals(0.82, t.accuracyB(), 1e-12);
        assertEquals(0.08, t.difference(), 1e-12);
    }

    @Test
    void mcNemarExactAndMidPOfTenAgainstTwo() {
        PairedComparison.Images t = tenAgainstTwo();
        // X ~ Bin(12, 1/2): P[X <= 2] = (1 + 12 + 66) / 4096, P[X = 2] = 66 / 4096
        assertEquals(2 * 79 / 4096.0, t.exactP(), 1e-12);
        assertEquals(2 * (79 - 33) / 4096.0, t.midP(), 1e-12);
    }

    @Test
    void farTailsStayPositiveAndOrdered() {
        // 1009 against 419 discordant images: 2 · P[X <= 419], X ~ Bin(1428, 1/2), is about 1e-55, not 0
        PairedComparison.Images t = new PairedComparison.Images(10_000, 1800, 1009, 419, 6772);
        assertTrue(t.exactP() > 0 && t.exactP() < 1e-40, "exact p " + t.exactP());
        assertTrue(t.midP() > 0 && t.midP() < t.exactP(), "mid-p " + t.midP());
        // one discordant image: exact p = min(1, 2 · 1/2) = 1, mid-p = 2 · (1/4) = 0.5
        PairedComparison.Images one = new PairedComparison.Images(10, 5, 0, 1, 4);
        assertEquals(1.0, one.exactP(), 1e-12);
        assertEquals(0.5, one.midP(), 1e-12);
    }

    @Test
    void intervalOfTwoCorrelatedProportions() {
        PairedComparison.Images t = tenAgainstTwo();
        // Agresti-Min: b = 10.5, c = 2.5, n = 102; centre 8/102 = 0.0784314, half-width
        // 1.959964 * sqrt(13 - 64/102) / 102 = 0.0675892
        assertEquals(0.0108421, t.low(), 1e-7);
        assertEquals(0.1460206, t.high(), 1e-7);
        assertTrue(t.excludesZero());
    }

    @Test
    void aBalancedOrEmptyDisagreementHasPOne() {
        boolean[] a = {true, true, true, false, false, false, true};
        boolean[] b = {false, false, false, true, true, true, true};
        PairedComparison.Images t = PairedComparison.images(a, b);
        // Bin(6, 1/2): 2 * P[X <= 3] = 2 * 42/64 > 1; mid-p 2 * (42 - 10)/64 = 1
        assertEquals(1.0, t.exactP(), 1e-12);
        assertEquals(1.0, t.midP(), 1e-12);
        assertFalse(t.excludesZero());
        // b = c = 3.5, n = 9: 1.959964 * sqrt(7) / 9 = 0.5761753 either side of 0
        assertEquals(-0.5761753, t.low(), 1e-7);
        assertEquals(0.5761753, t.high(), 1e-7);
        PairedComparison.Images same = PairedComparison.images(a, a);
        assertEquals(0, same.onlyA() + same.onlyB());
        assertEquals(1.0, same.exactP());
        assertEquals(0.0, same.difference());
        // no discordant image of 7 still leaves an interval: b = c = 1/2, n = 9: +-1.959964 * sqrt(1) / 9
        assertEquals(-0.2177738, same.low(), 1e-7);
        assertEquals(0.2177738, same.high(), 1e-7);
    }

    @Test
    void imagesMustPairUp() {
        assertThrows(IllegalArgumentException.class, () -> PairedComparison.images(new boolean[3], new boolean[2]));
    }
}
