package dev.scalenet.expand;

import org.deeplearning4j.nn.graph.ComputationGraph;

import java.util.Arrays;

/** The result of {@link ScaleNet#expand}: the deeper graph and what the expansion cost in parameters. */
public final class ExpandedModel {
    private final ComputationGraph graph;
    private final int[] order;
    private final long baseParams;

    ExpandedModel(ComputationGraph graph, int[] order, long baseParams) {
        this.graph = graph;
        this.order = order.clone();
        this.baseParams = baseParams;
    }

    public ComputationGraph graph() { return graph; }
    /** Source block of each position. */
    public int[] order() { return order.clone(); }
    public int depth() { return order.length; }
    public long baseParams() { return baseParams; }
    public long totalParams() { return graph.numParams(); }
    /** Parameters the expansion added: adapters (and untied norms) of the inserted blocks. */
    public long adjustmentParams() { return totalParams() - baseParams; }

    @Override
    public String toString() {
        return "expanded to depth " + depth() + " " + Arrays.toString(order) + ": " + totalParams() + " parameters = "
                + baseParams + " base + " + adjustmentParams() + " adjustment ("
                + String.format(java.util.Locale.ROOT, "%.2f%%", 100.0 * adjustmentParams() / baseParams) + ")";
    }
}
