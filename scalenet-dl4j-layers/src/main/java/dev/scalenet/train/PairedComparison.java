package dev.scalenet.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.commons.math3.distribution.TDistribution;
import org.apache.commons.math3.special.Gamma;

import java.util.Locale;

/**
 * Paired comparisons of two models, A against B, on the same data: over seeds (the difference of their scores per
 * seed, with a Student t-interval) and over images (McNemar's test on the images one gets right and the other
 * wrong, with a confidence interval for the difference of the two correlated accuracies).
 */
public final class PairedComparison {
    /** Two-sided confidence level of every interval here. */
    public static final double CONFIDENCE = 0.95;
    /** The standard normal quantile of that two-sided level, 1.96 at 95%. */
    private static final double Z = new NormalDistribution(null, 0, 1).inverseCumulativeProbability(1 - (1 - CONFIDENCE) / 2);

    private PairedComparison() {}

    /**
     * The per-seed differences {@code a[k] - b[k]}: their mean, sample standard deviation and the 95% t-interval
     * of the mean, {@code mean ± t(0.975, n - 1) · sd / sqrt(n)}. With one seed the standard deviation and the
     * interval are undefined: NaN here, and left out of the JSON and the text (a 0 would claim seeds that agree).
     */
    public record Seeds(int n, double mean, double std, double low, double high) {
        public boolean excludesZero() {
            return low > 0 || high < 0;
        }

        public ObjectNode toJson() {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("seeds", n);
            o.put("meanDifference", mean);
            if (n > 1) {
                o.put("std", std);
                o.put("ci95Low", low);
                o.put("ci95High", high);
            }
            return o;
        }

        @Override
        public String toString() {
            return n < 2 ? String.format(Locale.ROOT, "%+.2f (1 seed, no interval)", mean)
                    : String.format(Locale.ROOT, "%+.2f [%+.2f, %+.2f] (%d seeds)", mean, low, high, n);
        }
    }

    /** @param a, b the two arms' scores, seed by seed (same length, at least 1) */
    public static Seeds seeds(double[] a, double[] b) {
        if (a.length != b.length || a.length == 0) {
            throw new IllegalArgumentException("paired scores need the same seeds on both sides: " + a.length + " and " + b.length);
        }
        int n = a.length;
        double mean = 0;
        for (int k = 0; k < n; k++) mean += (a[k] - b[k]) / n;
        if (n < 2) return new Seeds(1, mean, Double.NaN, Double.NaN, Double.NaN);
        double ss = 0;
        for (int k = 0; k < n; k++) ss += (a[k] - b[k] - mean) * (a[k] - b[k] - mean);
        double std = Math.sqrt(ss / (n - 1));
        double half = tQuantile(n - 1) * std / Math.sqrt(n);
        return new Seeds(n, mean, std, mean - half, mean + half);
    }

    /** t(0.975, df), the two-sided 95% quantile of Student's t. */
    static double tQuantile(int df) {
        return new TDistribution(null, df).inverseCumulativeProbability(1 - (1 - CONFIDENCE) / 2);
    }

    /**
     * A and B on the same images: the counts of the 2 x 2 table, each accuracy, the difference A - B, its 95%
     * interval, and McNemar's exact two-sided p-value and mid-p-value on the discordant images.
     *
     * <p>The interval is Agresti and Min's adjusted Wald interval for two correlated proportions (Statistics in Medicine 24,
     * 2005): half an image added to each of the four cells, then {@code d ± 1.96 · sqrt(b + c - (b - c)²/n) / n}
     * with the adjusted counts {@code b = onlyA + 1/2}, {@code c = onlyB + 1/2}, {@code n = images + 2} and
     * {@code d = (b - c) / n}. The plain Wald interval collapses to [0, 0] when no image is discordant (two models
     * that agree everywhere are not thereby known to be equal); the adjusted one keeps a width.
     *
     * @param onlyA images A gets right and B wrong; {@code onlyB} the reverse
     */
    public record Images(long n, long bothRight, long onlyA, long onlyB, long bothWrong) {
        public double accuracyA() {
            return (double) (bothRight + onlyA) / n;
        }

        public double accuracyB() {
            return (double) (bothRight + onlyB) / n;
        }

        /** Accuracy of A minus accuracy of B, as a fraction (unadjusted). */
        public double difference() {
            return (double) (onlyA - onlyB) / n;
        }

        private double adjustedCentre() {
            return (double) (onlyA - onlyB) / (n + 2);
        }

        private double halfWidth() {
            double b = onlyA + 0.5;
            double c = onlyB + 0.5;
            double m = n + 2;
            return Z * Math.sqrt(Math.max(0, b + c - (b - c) * (b - c) / m)) / m;
        }

        public double low() {
            return adjustedCentre() - halfWidth();
        }

        public double high() {
            return adjustedCentre() + halfWidth();
        }

        public boolean excludesZero() {
            return low() > 0 || high() < 0;
        }

        /** McNemar's exact test: {@code min(1, 2 · P[X <= min(onlyA, onlyB)])}, X ~ Binomial(onlyA + onlyB, 1/2). */
        public double exactP() {
            long k = Math.min(onlyA, onlyB);
            return Math.min(1, 2 * halfTail(onlyA + onlyB, k, 1.0));
        }

        /** The mid-p version: {@code 2 · (P[X < k] + P[X = k] / 2)}, k = min(onlyA, onlyB). */
        public double midP() {
            long k = Math.min(onlyA, onlyB);
            return Math.min(1, 2 * halfTail(onlyA + onlyB, k, 0.5));
        }

        public ObjectNode toJson() {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("images", n);
            o.put("accuracyA", accuracyA());
            o.put("accuracyB", accuracyB());
            o.put("difference", difference());
            o.put("ci95Low", low());
            o.put("ci95High", high());
            o.put("bothRight", bothRight);
            o.put("onlyA", onlyA);
            o.put("onlyB", onlyB);
            o.put("bothWrong", bothWrong);
            o.put("mcnemarExactP", exactP());
            o.put("mcnemarMidP", midP());
            return o;
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%.2f%% vs %.2f%%: %+.2f points, 95%% CI [%+.2f, %+.2f]; McNemar %d vs %d "
                            + "discordant images, exact p = %.3g, mid-p = %.3g (%d images)", 100 * accuracyA(), 100 * accuracyB(),
                    100 * difference(), 100 * low(), 100 * high(), onlyA, onlyB, exactP(), midP(), n);
        }
    }

    /**
     * {@code P[X < k] + lastWeight · P[X = k]} for X ~ Binomial(m, 1/2), summed in log space so that tails far
     * below double's range of 1 - cdf stay exact (McNemar's counts run to thousands of images).
     */
    static double halfTail(long m, long k, double lastWeight) {
        if (m == 0) return lastWeight;
        double logHalfPowM = m * Math.log(0.5);
        double[] logs = new double[(int) k + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i <= k; i++) {
            logs[i] = logChoose(m, i) + logHalfPowM + (i == k ? Math.log(lastWeight) : 0);
            max = Math.max(max, logs[i]);
        }
        double sum = 0;
        for (double l : logs) sum += Math.exp(l - max);
        return Math.exp(max + Math.log(sum));
    }

    private static double logChoose(long m, long i) {
        return Gamma.logGamma(m + 1.0) - Gamma.logGamma(i + 1.0) - Gamma.logGamma(m - i + 1.0);
    }

    /** @param correctA, correctB whether A and B classify each image right, image by image (same length, not empty) */
    public static Images images(boolean[] correctA, boolean[] correctB) {
        if (correctA.length != correctB.length || correctA.length == 0) {
            throw new IllegalArgumentException("paired images need the same images on both sides: " + correctA.length
                    + " and " + correctB.length);
        }
        long both = 0, onlyA = 0, onlyB = 0, neither = 0;
        for (int i = 0; i < correctA.length; i++) {
            if (correctA[i] && correctB[i]) both++;
            else if (correctA[i]) onlyA++;
            else if (correctB[i]) onlyB++;
            else neither++;
        }
        return new Images(correctA.length, both, onlyA, onlyB, neither);
    }
}
