package dev.scalenet.onnx;

/**
 * The ONNX exporter met a graph it cannot translate: a vertex that is not one of the ViT's four layers, or one of
 * them configured in a way the exporter does not write. Says which vertex and why, so nothing is exported wrongly.
 */
public class UnsupportedLayerException extends IllegalArgumentException {
    private final String vertex;

    public UnsupportedLayerException(String vertex, String reason) {
        super("cannot export vertex '" + vertex + "' to ONNX: " + reason);
        this.vertex = vertex;
    }

    /** The graph vertex that could not be exported. */
    public String vertex() {
        return vertex;
    }
}
