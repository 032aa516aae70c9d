package dev.scalenet.expand;

import dev.scalenet.InvalidSettingException;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

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

    /** A plan's settings; the {@code with...} methods copy them, change one and build a new plan. */
    private static final class Settings {
        Strategy strategy;
        int depth;
        int[] order;
        int adapterRank = DEFAULT_ADAPTER_RANK;
        double adapterScale = 1.0;
        boolean untiedNorms;
        AdapterPositions adapterPositions = AdapterPositions.INSERTED;
        boolean functionPreserving;
        boolean untiedBlocks;
        long seed = 42;

        Settings copy() {
            Settings c = new Settings();
            c.strategy = strategy;
            c.depth = depth;
            c.order = order;
            c.adapterRank = adapterRank;
            c.adapterScale = adapterScale;
            c.untiedNorms = untiedNorms;
            c.adapterPositions = adapterPositions;
            c.functionPreserving = functionPreserving;
            c.untiedBlocks = untiedBlocks;
            c.seed = seed;
            return c;
        }
    }

    private final Settings s;

    private ExpansionPlan(Settings settings) {
        if (settings.adapterRank < 0) {
            throw new InvalidSettingException("adapterRank", settings.adapterRank, "0 (no adapters) or a positive rank");
        }
        java.util.Objects.requireNonNull(settings.adapterPositions, "adapterPositions");
        this.s = settings;
    }

    private static ExpansionPlan defaults(Strategy strategy, int depth, int[] order) {
        Settings d = new Settings();
        d.strategy = strategy;
        d.depth = depth;
        d.order = order;
        return new ExpansionPlan(d);
    }

    private ExpansionPlan with(java.util.function.Consumer<Settings> change) {
        Settings c = s.copy();
        change.accept(c);
        return new ExpansionPlan(c);
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

    /** A plan from the settings as the front ends take them by name (see {@link Builder}). */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A plan from named settings, as the command line, the Maven plugin and the Spark job take them: each unset (or
     * null) one at its default, text parsed here, and the settings checked together. A bad value is an
     * {@link InvalidSettingException} naming the setting ({@code strategy}, {@code depth}, {@code order},
     * {@code adapterRank}, {@code adapterPositions}), which each front end reports in its own spelling.
     */
    public static final class Builder {
        private String strategy;
        private Integer depth;
        private String order;
        private Integer adapterRank;
        private String adapterPositions;
        private Boolean functionPreserving;
        private Boolean untiedBlocks;
        private Boolean untiedNorms;
        private Long seed;

        private Builder() {}

        /**
         * The project's recommended growth, every front end's default: cyclic to twice the depth, rank-8 adapters on the
         * inserted blocks, a function-preserving start (zero gates: the grown model starts as the base), shared blocks
         * and norms. Declared here once; the plugin, the command line and the Spark job leave unset settings to it.
         */
        public static final boolean DEFAULT_FUNCTION_PRESERVING = true;

        /** Every setting's default, by its front-end name, for help texts: the plan an empty builder builds. */
        public static java.util.Map<String, String> defaults() {
            ExpansionPlan p = new Builder().build();
            java.util.Map<String, String> d = new java.util.LinkedHashMap<>();
            d.put("strategy", p.strategy().name().toLowerCase(Locale.ROOT));
            d.put("depth", String.valueOf(DOUBLE_DEPTH));
            d.put("adapterRank", String.valueOf(p.adapterRank()));
            d.put("adapterPositions", p.adapterPositions().name().toLowerCase(Locale.ROOT));
            d.put("functionPreserving", String.valueOf(p.functionPreserving()));
            d.put("untiedBlocks", String.valueOf(p.untiedBlocks()));
            d.put("untiedNorms", String.valueOf(p.untiedNorms()));
            return d;
        }

        /** {@code cyclic} (default) or {@code interleave}; ignored when an order is given. */
        public Builder strategy(String v) { strategy = v; return this; }
        /** Target depth; null or {@link #DOUBLE_DEPTH}: twice the base's (with an order: its length). */
        public Builder depth(Integer v) { depth = v; return this; }
        /** An explicit order of source block indices, comma- or space-separated, optionally in brackets; null or blank: none. */
        public Builder order(String v) { order = v; return this; }
        /** Adapter rank; null: {@link #DEFAULT_ADAPTER_RANK}. */
        public Builder adapterRank(Integer v) { adapterRank = v; return this; }
        /** {@code inserted} (default) or {@code all}. */
        public Builder adapterPositions(String v) { adapterPositions = v; return this; }
        /** Inserted blocks start as the identity; null: {@link #DEFAULT_FUNCTION_PRESERVING}. */
        public Builder functionPreserving(Boolean v) { functionPreserving = v; return this; }
        /** Inserted blocks get their own copies instead of sharing; null: false. */
        public Builder untiedBlocks(Boolean v) { untiedBlocks = v; return this; }
        /** Inserted blocks get their own norms; null: false. */
        public Builder untiedNorms(Boolean v) { untiedNorms = v; return this; }
        /** Seed of the adapters' initialisation; null: the default. */
        public Builder seed(Long v) { seed = v; return this; }

        public ExpansionPlan build() {
            ExpansionPlan plan;
            if (order != null && !order.isBlank()) {
                int[] sources = parseOrder(order);
                if (depth != null && depth != DOUBLE_DEPTH && depth != sources.length) {
                    throw new InvalidSettingException("depth", depth, "nothing, or the length of the order (" + sources.length + ")");
                }
                plan = ExpansionPlan.order(sources);
            } else {
                plan = of(strategy == null ? Strategy.CYCLIC : Strategy.parse(strategy), depth == null ? DOUBLE_DEPTH : depth);
            }
            if (adapterRank != null) plan = plan.withAdapterRank(adapterRank);
            if (seed != null) plan = plan.withSeed(seed);
            return plan.withAdapterPositions(adapterPositions == null ? AdapterPositions.INSERTED : AdapterPositions.parse(adapterPositions))
                    .withFunctionPreserving(functionPreserving == null ? DEFAULT_FUNCTION_PRESERVING : functionPreserving)
                    .withUntiedBlocks(Boolean.TRUE.equals(untiedBlocks)).withUntiedNorms(Boolean.TRUE.equals(untiedNorms));
        }

        private static int[] parseOrder(String value) {
            String[] parts = value.trim().replaceAll("^\\[|\\]$", "").trim().split("[,\\s]+");
            int[] sources = new int[parts.length];
            for (int i = 0; i < parts.length; i++) {
                try {
                    sources[i] = Integer.parseInt(parts[i]);
                } catch (NumberFormatException e) {
                    throw new InvalidSettingException("order", value, "source block indices separated by commas, e.g. "
                            + "0,1,2,3,0,1,2,3 ('" + parts[i] + "' is not a whole number)");
                }
            }
            return sources;
        }
    }

    /** Rank of the two parallel adapters per adapted position; 0 for pure weight sharing. */
    public ExpansionPlan withAdapterRank(int rank) {
        return with(c -> c.adapterRank = rank);
    }

    public ExpansionPlan withAdapterScale(double scale) {
        return with(c -> c.adapterScale = scale);
    }

    /** Give each inserted block its own LayerNorms, initialised from its source's. */
    public ExpansionPlan withUntiedNorms(boolean untied) {
        return with(c -> c.untiedNorms = untied);
    }

    /** Adapters on inserted blocks only (default) or on every position. */
    public ExpansionPlan withAdapterPositions(AdapterPositions positions) {
        return with(c -> c.adapterPositions = positions);
    }

    /**
     * Start inserted blocks as the identity: zero-initialised LayerScale gates on both of their branches, so the
     * grown model computes exactly the base model's function until the gates learn to open.
     */
    public ExpansionPlan withFunctionPreserving(boolean preserving) {
        return with(c -> c.functionPreserving = preserving);
    }

    /** Give inserted blocks their own copies of their source's tensors instead of sharing them. */
    public ExpansionPlan withUntiedBlocks(boolean untied) {
        return with(c -> c.untiedBlocks = untied);
    }

    /** Seed of the adapters' random down-projections. */
    public ExpansionPlan withSeed(long newSeed) {
        return with(c -> c.seed = newSeed);
    }

    public Strategy strategy() { return s.strategy; }
    /** The target depth, or {@link #DOUBLE_DEPTH}. */
    public int depth() { return s.depth; }

    /** The depth this plan gives a base of {@code baseDepth} blocks. */
    public int depthFor(int baseDepth) {
        return s.strategy == Strategy.EXPLICIT ? s.order.length : s.depth == DOUBLE_DEPTH ? 2 * baseDepth : s.depth;
    }
    public int adapterRank() { return s.adapterRank; }
    public double adapterScale() { return s.adapterScale; }
    public boolean untiedNorms() { return s.untiedNorms; }
    public AdapterPositions adapterPositions() { return s.adapterPositions; }
    public boolean functionPreserving() { return s.functionPreserving; }
    public boolean untiedBlocks() { return s.untiedBlocks; }
    public long seed() { return s.seed; }

    /** The source block of each position for a base of {@code baseDepth} blocks; validates the plan. */
    public int[] resolveOrder(int baseDepth) {
        int depth = depthFor(baseDepth);
        if (depth < baseDepth) {
            throw new InvalidSettingException("depth", depth, "at least the base model's depth " + baseDepth
                    + " (an expansion only adds blocks)");
        }
        int[] o = new int[depth];
        switch (s.strategy) {
            case CYCLIC:
                for (int j = 0; j < depth; j++) o[j] = j % baseDepth;
                return o;
            case INTERLEAVE:
                for (int j = 0; j < depth; j++) o[j] = (int) ((long) j * baseDepth / depth);
                return o;
            default:
                boolean[] used = new boolean[baseDepth];
                for (int j = 0; j < depth; j++) {
                    if (s.order[j] < 0 || s.order[j] >= baseDepth) {
                        throw new InvalidSettingException("order", dev.scalenet.Capped.list(s.order), "source block indices 0.."
                                + (baseDepth - 1) + " of the base model (order[" + j + "] = " + s.order[j] + ")");
                    }
                    used[s.order[j]] = true;
                }
                for (int k = 0; k < baseDepth; k++) {
                    if (!used[k]) {
                        throw new InvalidSettingException("order", dev.scalenet.Capped.list(s.order), "every base block 0.."
                                + (baseDepth - 1) + " at least once (block " + k + " is missing)");
                    }
                }
                return s.order.clone();
        }
    }

    /** The plan's shape as a file-name part: {@code cyclic-2x}, {@code interleave-8}, {@code order-0-1-2-3-3-2-1-0}. */
    public String fileNamePart() {
        return s.strategy == Strategy.EXPLICIT
                ? "order-" + Arrays.stream(s.order).mapToObj(String::valueOf).collect(Collectors.joining("-"))
                : s.strategy.name().toLowerCase(Locale.ROOT) + "-" + (s.depth == DOUBLE_DEPTH ? "2x" : String.valueOf(s.depth));
    }

    @Override
    public String toString() {
        return (s.strategy == Strategy.EXPLICIT ? "order" + Arrays.toString(s.order) : fileNamePart())
                + ", adapter rank " + s.adapterRank
                + (s.adapterRank > 0 && s.adapterPositions == AdapterPositions.ALL ? " on every position" : "")
                + (s.functionPreserving ? ", function-preserving" : "")
                + (s.untiedBlocks ? ", untied blocks" : "")
                + (s.untiedNorms ? ", untied norms" : "");
    }
}
