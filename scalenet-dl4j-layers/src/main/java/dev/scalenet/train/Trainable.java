package dev.scalenet.train;

import dev.scalenet.layers.ScaleNetBlocks;
import dev.scalenet.layers.VitLayerConf;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Which parameters of a ViT a training run updates. */
public enum Trainable {
    /** Every parameter: embeddings, shared blocks, adjustment parameters, norms, head. */
    ALL,
    /**
     * ScaleNet's cheap mode: the adjustment parameters (adapters, untied norms), every LayerNorm and the head;
     * the shared block tensors and the patch/position embeddings stay frozen.
     */
    ADJUSTMENTS;

    /** Parses {@code all} or {@code adjustments} (any case). */
    public static Trainable parse(String value) {
        for (Trainable t : values()) {
            if (t.name().equalsIgnoreCase(value)) return t;
        }
        throw new dev.scalenet.InvalidSettingException("trainable", value, "all or adjustments");
    }

    public String spelling() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The parameters of one of our layers that this mode freezes. */
    List<String> frozenParams(VitLayerConf layer) {
        List<String> frozen = new ArrayList<>();
        if (this == ALL) return frozen;
        for (String name : layer.paramShapes().keySet()) {
            if (!trains(layer, name)) frozen.add(name);
        }
        return frozen;
    }

    private static boolean trains(VitLayerConf layer, String name) {
        if (!(layer instanceof ScaleNetBlocks)) {
            return name.toLowerCase(Locale.ROOT).contains("norm"); // pooling norms train; patch embedding does not
        }
        String relative = name.substring(name.indexOf('.') + 1);
        return name.startsWith("use") || relative.startsWith("norm"); // adjustment parameters and block norms
    }
}
