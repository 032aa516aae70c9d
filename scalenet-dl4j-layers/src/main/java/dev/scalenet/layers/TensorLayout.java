package dev.scalenet.layers;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/** A layer configuration whose parameters are a fixed, ordered set of named tensors. */
interface TensorLayout {

    /** Parameter names (no {@code _}: DL4J's updater splits keys there) and shapes, in layout order. */
    Map<String, long[]> paramShapes();

    /** Whether a parameter is a weight matrix (gets weight decay) rather than a norm, bias or embedding. */
    boolean isWeightParam(String name);

    /** Fills freshly created parameter views with initial values (timm's initialisation). */
    void initParams(Map<String, INDArray> views);
}
