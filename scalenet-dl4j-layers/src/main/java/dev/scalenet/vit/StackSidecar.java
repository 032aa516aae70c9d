package dev.scalenet.vit;

import com.fasterxml.jackson.databind.JsonNode;
import dev.scalenet.Capped;
import dev.scalenet.io.Checkpoint;
import dev.scalenet.io.Tensor;
import dev.scalenet.layers.ScaleNetBlocks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code scalenet} section of a timm sidecar JSON: the stack of an exported expansion (base depth, order, adapter
 * rank, gates, ...), which sizes the graph built for the import. Its numbers are checked against the checkpoint's
 * tensors before anything is allocated: the order has one entry per exported block, the adapter rank is the rank of the
 * adapter tensors, gates exist exactly when the gate tensors do. Errors are {@link IOException}s naming the sidecar,
 * the field, the value and what was expected.
 */
final class StackSidecar {
    private static final Pattern ADAPTER_DOWN = Pattern.compile("blocks\\.(\\d+)\\.adapter\\.attn\\.down\\.weight");
    private static final Pattern GATE = Pattern.compile("blocks\\.(\\d+)\\.ls1\\.gamma");

    private final Path sidecar;
    private final JsonNode section;

    private StackSidecar(Path sidecar, JsonNode section) {
        this.sidecar = sidecar;
        this.section = section;
    }

    /**
     * Sets {@code builder}'s stack from {@code section}. {@code config} is what the tensors say, at the exported
     * (deep) depth.
     */
    static void apply(Path sidecar, JsonNode section, Checkpoint ckpt, VitConfig config, VisionTransformer.Builder builder)
            throws IOException {
        new StackSidecar(sidecar, section).apply(ckpt, config, builder);
    }

    private void apply(Checkpoint ckpt, VitConfig config, VisionTransformer.Builder builder) throws IOException {
        require(section.isObject(), "", section.getNodeType(), "an object");
        int blocks = config.depth(); // blocks.0 .. blocks.<depth-1> in the tensors, counted by TimmCheckpoint
        JsonNode orderNode = section.get("order");
        require(orderNode.isArray() && orderNode.size() == blocks, ".order",
                orderNode.isArray() ? "an array of " + orderNode.size() + " entries" : orderNode.getNodeType(),
                "one source block per block of " + ckpt.source() + " (" + blocks + ")");
        int baseDepth = integer("base_depth", blocks, 1, blocks);
        int[] order = new int[blocks];
        for (int j = 0; j < blocks; j++) order[j] = integer(orderNode.get(j), "order[" + j + "]", 0, baseDepth - 1);
        int rank = integer("adapter_rank", 0, 0, config.embedDim());
        int tensorRank = adapterRank(ckpt);
        require(rank == tensorRank, ".adapter_rank", rank, tensorRank == 0 ? "0: " + ckpt.source()
                + " has no adapter tensors (blocks.<j>.adapter.*)" : tensorRank + ", the rank of its adapter tensors");
        boolean gates = bool("gates");
        boolean gateTensors = ckpt.names().stream().anyMatch(n -> GATE.matcher(n).matches());
        require(gates == gateTensors, ".gates", gates, gateTensors + ": " + ckpt.source() + (gateTensors ? " has" : " has no")
                + " gate tensors (blocks.<j>.ls1.gamma)");
        JsonNode scale = section.path("adapter_scale");
        require(scale.isMissingNode() || scale.isNumber() && Math.abs(scale.doubleValue()) <= ScaleNetBlocks.MAX_ADAPTER_SCALE,
                ".adapter_scale", scale, "a number from -" + (long) ScaleNetBlocks.MAX_ADAPTER_SCALE + " to "
                        + (long) ScaleNetBlocks.MAX_ADAPTER_SCALE + " (the layer's bound)");
        builder.config(config.withDepth(baseDepth)).order(order).adapterRank(rank).adapterScale(scale.asDouble(1.0))
                .untiedNorms(bool("untied_norms")).gates(gates).adaptersEverywhere(bool("adapters_everywhere"));
        JsonNode inserted = section.get("inserted_positions");
        if (inserted != null && !inserted.isNull()) {
            require(inserted.isArray() && inserted.size() <= blocks, ".inserted_positions",
                    inserted.isArray() ? "an array of " + inserted.size() + " entries" : inserted.getNodeType(),
                    "at most one entry per block (" + blocks + ")");
            int[] positions = new int[inserted.size()];
            for (int i = 0; i < positions.length; i++) {
                positions[i] = integer(inserted.get(i), "inserted_positions[" + i + "]", 0, blocks - 1);
            }
            builder.insertedPositions(positions);
        }
    }

    /** The rank the adapter tensors have (their down-projections' rows), 0 without adapters. */
    private int adapterRank(Checkpoint ckpt) {
        for (String name : ckpt.names()) {
            Matcher m = ADAPTER_DOWN.matcher(name);
            if (m.matches()) {
                Tensor t = ckpt.require(name);
                return t.shape().length == 2 ? (int) Math.min(Integer.MAX_VALUE, t.shape()[0]) : -1;
            }
        }
        return 0;
    }

    private int integer(String field, int absent, int min, int max) throws IOException {
        JsonNode v = section.get(field);
        return v == null ? absent : integer(v, field, min, max);
    }

    private int integer(JsonNode v, String field, int min, int max) throws IOException {
        require(v.canConvertToExactIntegral() && v.canConvertToLong() && v.longValue() >= min && v.longValue() <= max,
                "." + field, v, "an integer in " + min + ".." + max);
        return v.intValue();
    }

    private boolean bool(String field) throws IOException {
        JsonNode v = section.path(field);
        require(v.isMissingNode() || v.isBoolean(), "." + field, v, "true or false");
        return v.asBoolean(false);
    }

    private void require(boolean ok, String field, Object value, String expected) throws IOException {
        if (!ok) {
            String shown = value instanceof JsonNode && ((JsonNode) value).isArray()
                    ? Capped.list(java.util.stream.StreamSupport.stream(((JsonNode) value).spliterator(), false).toList())
                    : String.valueOf(value);
            throw new IOException(sidecar.toAbsolutePath() + ": scalenet" + field + " = " + shown + ": expected " + expected);
        }
    }
}
