package dev.scalenet.data;

import java.util.SplittableRandom;

/**
 * Random streams that are pure functions of their coordinates, so a run resumed mid-epoch draws
 * exactly what an uninterrupted one did: one stream per (seed, epoch) for the example order, one per
 * (seed, epoch, example index) for its augmentation.
 */
final class Seeds {
    private static final long ORDER = 0x6f72646572L; // distinct domains: an order stream never equals an example's
    private static final long EXAMPLE = 0x6578616d706cL;

    private Seeds() {
    }

    static SplittableRandom forOrder(long seed, int epoch) {
        return new SplittableRandom(mix64(mix64(seed ^ ORDER) + epoch));
    }

    static SplittableRandom forExample(long seed, int epoch, int index) {
        return new SplittableRandom(mix64(mix64(mix64(seed ^ EXAMPLE) + epoch) + index));
    }

    /** SplitMix64's finaliser: a bijection that spreads every input bit over the output. */
    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
