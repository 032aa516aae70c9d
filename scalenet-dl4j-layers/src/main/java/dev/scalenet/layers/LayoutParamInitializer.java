package dev.scalenet.layers;

import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Lays out the named tensors of a {@link TensorLayout} layer as c-order views of its flat parameter slice. */
final class LayoutParamInitializer implements ParamInitializer {
    static final LayoutParamInitializer INSTANCE = new LayoutParamInitializer();

    private LayoutParamInitializer() {}

    private static TensorLayout layout(Layer layer) {
        return (TensorLayout) layer;
    }

    static long count(long[] shape) {
        long n = 1;
        for (long s : shape) n *= s;
        return n;
    }

    @Override
    public long numParams(NeuralNetConfiguration conf) {
        return numParams(conf.getLayer());
    }

    @Override
    public long numParams(Layer layer) {
        long n = 0;
        for (long[] shape : layout(layer).paramShapes().values()) n += count(shape);
        return n;
    }

    @Override
    public List<String> paramKeys(Layer layer) {
        return new ArrayList<>(layout(layer).paramShapes().keySet());
    }

    @Override
    public List<String> weightKeys(Layer layer) {
        List<String> keys = new ArrayList<>();
        for (String k : paramKeys(layer)) if (layout(layer).isWeightParam(k)) keys.add(k);
        return keys;
    }

    @Override
    public List<String> biasKeys(Layer layer) {
        List<String> keys = new ArrayList<>();
        for (String k : paramKeys(layer)) if (isBiasParam(layer, k)) keys.add(k);
        return keys;
    }

    @Override
    public boolean isWeightParam(Layer layer, String key) {
        return layout(layer).isWeightParam(key);
    }

    /** Everything that is not a weight matrix is treated like a bias: no weight decay. */
    @Override
    public boolean isBiasParam(Layer layer, String key) {
        return layout(layer).paramShapes().containsKey(key) && !layout(layer).isWeightParam(key);
    }

    @Override
    public Map<String, INDArray> init(NeuralNetConfiguration conf, INDArray paramsView, boolean initializeParams) {
        Map<String, INDArray> views = views(conf.getLayer(), paramsView);
        if (initializeParams) {
            layout(conf.getLayer()).initParams(views);
        }
        for (Map.Entry<String, INDArray> e : views.entrySet()) {
            conf.addVariable(e.getKey());
        }
        return views;
    }

    @Override
    public Map<String, INDArray> getGradientsFromFlattened(NeuralNetConfiguration conf, INDArray gradientView) {
        return views(conf.getLayer(), gradientView);
    }

    private Map<String, INDArray> views(Layer layer, INDArray flat) {
        Map<String, long[]> shapes = layout(layer).paramShapes();
        if (flat.length() != numParams(layer)) {
            throw new IllegalStateException(layer.getLayerName() + ": expected " + numParams(layer)
                    + " parameters, the view has " + flat.length());
        }
        INDArray row = flat.reshape(flat.length());
        Map<String, INDArray> views = new LinkedHashMap<>();
        long offset = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long n = count(e.getValue());
            views.put(e.getKey(), row.get(NDArrayIndex.interval(offset, offset + n)).reshape('c', e.getValue()));
            offset += n;
        }
        return Collections.unmodifiableMap(views);
    }
}
