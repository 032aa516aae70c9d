package dev.scalenet.expand;

import dev.scalenet.InvalidSettingException;

import java.util.Arrays;
import java.util.Locale;

/**
 * How to grow a ViT of depth L: which source block runs at each position of the deeper stack, and which
 * adjustment parameters each inserted block gets. Immutable.
 * <ul>
 *   <li>{@code cyclic}: the paper's map; after the original stack, position l' copies block l' mod L:
 *       {@code [0, 1, 2, 3, 0, 1, 2, 3]} for L = 4 and depth 8.</li>
 *   <li>{@code interleave}: each block is followed by its copies, position j copies block ⌊j·L/depth⌋:
 *       {@code [0, 0, 1, 1, 2, 2, 3, 3]}.</li>
 *   <li>an explicit order of source indices, each base block at least once.</li>
 * </ul>
 * Options on top of the map:
 * <ul>
 *   <li>{@link #withAdapterRank adapter rank} and {@link #withAdapterPositions where adapters go}: the
 *       paper's adjustment parameters, on inserted blocks (default) or on every position;</li>
 *   <li>{@link #withFunctionPreserving function-preserving start} (beyond the paper): zero-initialised
 *       LayerScale gates on both branches of every inserted block, so the grown model computes exactly the
 *       base model's function at step 0 and learns how much of each inserted block to use;</li>
 *   <li>{@link #withUntiedBlocks untied growth}: inserted blocks get their own copies of their source's tensors
 *       instead of sharing them (the stacking baseline of StackBERT and bert2BERT);</li>
 *   <li>{@link #withUntiedNorms untied norms}: inserted blocks get their own LayerNorms.</li>
 * </ul>
 */
public final class ExpansionPlan {

    /** How positions map to source blocks. */
    public enum Strategy {
        CYCLIC, INTERLEAVE, EXPLICIT;

        /** Parses {@code cyclic} or {@code interleave} (any case). */
        public static Strategy parse(String value) {
            switch (value.toLowerCase(Locale.ROOT)) {
                case "cyclic": return CYCLIC;
                case "interleave": return INTERLEAVE;
                default: throw new InvalidSettingException("strategy", value, "cyclic or interleave (or give an explicit order)");
            }
        }
    }

    /** Which positions of the grown stack get adapters. */
    public enum AdapterPositions {
        /** Only inserted blocks (a source block's second and later uses). */
        INSERTED,
        /** Every position, the original blocks too: "adjustment parameters for each layer". */
        ALL;

        /** Parses {@code inserted} or {@code all} (any case). */
        public static AdapterPositions parse(String value) {
            switch (value.toLowerCase(Locale.ROOT)) {
                case "inserted": return INSERTED;
                case "all": return ALL;
                default: throw new InvalidSettingException("adapterPositions", value, "inserted or all");
            }
        }
    }

    /** Default adapter rank: small next to the width, as the paper's "incremental parameters". */
    public static final int DEFAULT_ADAPTER_RANK = 8;

    private final Strategy strategy;
    private final int depth;
    private final int[] order;
    private final int adapterRank;
    private final double adapterScale;
    private final boolean untiedNorms;
    private final AdapterPositions adapterPositions;
    private final boolean functionPreserving;
    private final boolean untiedBlocks;
    private final long seed;

    private ExpansionPlan(Strategy strategy, int depth, int[] order, int adapterRank, double adapterScale,
                          boolean untiedNorms, AdapterPositions adapterPositions, boolean functionPreserving,
                          boolean untiedBlocks, long seed) {
        if (adapterRank < 0) {
            throw new InvalidSettingException("adapterRank", adapterRank, "0 (no adapters) or a positive rank");
        }
        this.strategy = strategy;
        this.depth = depth;
        this.order = order;
        this.adapterRank = adapterRank;
        this.adapterScale = adapterScale;
        this.untiedNorms = untiedNorms;
        this.adapterPositions = java.util.Objects.requireNonNull(adapterPositions, "adapterPositions");
        this.functionPreserving = functionPreserving;
        this.untiedBlocks = untiedBlocks;
        this.seed = seed;
    }

    private static ExpansionPlan defaults(Strategy strategy, int depth, int[] order) {
        return new ExpansionPlan(strategy, depth, order, DEFAULT_ADAPTER_RANK, 1.0, false, AdapterPositions.INSERTED,
                false, false, 42);
    }

    /** A {@code depth} meaning "twice the base model's depth", ScaleNet's usual 2x growth. */
    public static final int DOUBLE_DEPTH = 0;

    public static ExpansionPlan cyclic(int depth) {
        return defaults(Strategy.CYCLIC, depth, null);
    }

    public static ExpansionPlan interleave(int depth) {
        return defaults(Strategy.INTERLEAVE, depth, null);
    }

    public static ExpansionPlan of(Strategy strategy, int depth) {
        if (strategy == Strategy.EXPLICIT) {
            throw new IllegalArgumentException("an explicit strategy needs an order: use ExpansionPlan.order(...)");
        }
        return defaults(strategy, depth, null);
    }

    public static ExpansionPlan order(int... sourceIndices) {
        return defaults(Strategy.EXPLICIT, sourceIndices.length, sourceIndices.clone());
    }

    /** Rank of the two parallel adapters per adapted position; 0 for pure weight sharing. */
    public ExpansionPlan withAdapterRank(int rank) {
        return new ExpansionPlan(strategy, depth, order, rank, adapterScale, untiedNorms, adapterPositions,
                functionPreserving, untiedBlocks, seed);
    }

    public ExpansionPlan withAdapterScale(double scale) {
        return new ExpansionPlan(strategy, depth, order, adapterRank, scale, untiedNorms, adapterPositions,
                functionPreserving, untiedBlocks, seed);
    }

    /** Give each inserted block its own LayerNorms, initialised from its source's. */
    public ExpansionPlan withUntiedNorms(boolean untied) {
        return new ExpansionPlan(strategy, depth, order, adapterRank, adapterScale, untied, adapterPositions,
                functionPreserving, untiedBlocks, seed);
    }

    /** Adapters on inserted blocks only (default) or on every position. */
    public ExpansionPlan withAdapterPositions(AdapterPositions positions) {
        return new ExpansionPlan(strategy, depth, order, adapterRank, adapterScale, untiedNorms, positions,
                functionPreserving, untiedBlocks, seed);
    }

    /**
     * Start inserted blocks as the identity: zero-initialised LayerScale gates on both of their branches, so the
     * grown model computes exactly the base model's function until the gates learn to open.
     */
    public ExpansionPlan withFunctionPreserving(boolean preserving) {
        return new ExpansionPlan(strategy, depth, order, adapterRank, adapterScale, untiedNorms, adapterPositions,
                preserving, untiedBlocks, seed);
    }

    /** Give inserted blocks their own copies of their source's tensors instead of sharing them. */
    public ExpansionPlan withUntiedBlocks(boolean untied) {
        return new ExpansionPlan(strategy, depth, order, adapterRank, adapterScale, untiedNorms, adapterPositions,
                functionPreserving, untied, seed);
    }

    /** Seed of the adapters' random down-projections. */
    public ExpansionPlan withSeed(long newSeed) {
        return new ExpansionPlan(strategy, depth, order, adapterRank, adapterScale, untiedNorms, adapterPositions,
                functionPreserving, untiedBlocks, newSeed);
    }

    public Strategy strategy() { return strategy; }
    /** The target depth, or {@link #DOUBLE_DEPTH}. */
    public int depth() { return depth; }

    /** The depth this plan gives a base of {@code baseDepth} blocks. */
    public int depthFor(int baseDepth) {
        return strategy == Strategy.EXPLICIT ? order.length : depth == DOUBLE_DEPTH ? 2 * baseDepth : depth;
    }
    public int adapterRank() { return adapterRank; }
    public double adapterScale() { return adapterScale; }
    public boolean untiedNorms() { return untiedNorms; }
    public AdapterPositions adapterPositions() { return adapterPositions; }
    public boolean functionPreserving() { return functionPreserving; }
    public boolean untiedBlocks() { return untiedBlocks; }
    public long seed() { return seed; }

    /** The source block of each position for a base of {@code baseDepth} blocks; validates the plan. */
    public int[] resolveOrder(int baseDepth) {
        int depth = depthFor(baseDepth);
        if (depth < baseDepth) {
            throw new InvalidSettingException("depth", depth, "at least the base model's depth " + baseDepth
                    + " (an expansion only adds blocks)");
        }
        int[] o = new int[depth];
        switch (strategy) {
            case CYCLIC:
                for (int j = 0; j < depth; j++) o[j] = j % baseDepth;
                return o;
            case INTERLEAVE:
                for (int j = 0; j < depth; j++) o[j] = (int) ((long) j * baseDepth / depth);
                return o;
            default:
                boolean[] used = new boolean[baseDepth];
                for (int j = 0; j < depth; j++) {
                    if (order[j] < 0 || order[j] >= baseDepth) {
                        throw new InvalidSettingException("order", Arrays.toString(order), "source block indices 0.."
                                + (baseDepth - 1) + " of the base model (order[" + j + "] = " + order[j] + ")");
                    }
                    used[order[j]] = true;
                }
                for (int k = 0; k < baseDepth; k++) {
                    if (!used[k]) {
                        throw new InvalidSettingException("order", Arrays.toString(order), "every base block 0.."
                                + (baseDepth - 1) + " at least once (block " + k + " is missing)");
                    }
                }
                return order.clone();
        }
    }

    @Override
    public String toString() {
        return (strategy == Strategy.EXPLICIT ? "order" + Arrays.toString(order) : strategy.name().toLowerCase(Locale.ROOT) + "-" + (depth == DOUBLE_DEPTH ? "2x" : String.valueOf(depth)))
                + ", adapter rank " + adapterRank
                + (adapterRank > 0 && adapterPositions == AdapterPositions.ALL ? " on every position" : "")
                + (functionPreserving ? ", function-preserving" : "")
                + (untiedBlocks ? ", untied blocks" : "")
                + (untiedNorms ? ", untied norms" : "");
    }
}
