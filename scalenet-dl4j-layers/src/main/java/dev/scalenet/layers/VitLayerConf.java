package dev.scalenet.layers;

import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.regularization.Regularization;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Common configuration plumbing of the ViT layers: named-tensor parameters, no input preprocessing,
 * and instantiation of the matching {@link ViewLayer}. Subclasses keep a no-argument constructor and
 * getters/setters so DL4J's JSON (and so {@code ModelSerializer}) round-trips them.
 */
public abstract class VitLayerConf extends BaseLayer implements TensorLayout {
    /** timm's initialisation scale for linear weights and embeddings (trunc_normal_ std .02). */
    static final double INIT_STD = 0.02;
    /** The most values one tensor may hold: a Java array's bound, which the readers' arrays and ND4J's buffers share. */
    public static final long MAX_TENSOR_VALUES = Integer.MAX_VALUE - 8;

    /** Parameters that do not train: no update, no weight decay, and no gradient is computed for them. */
    private List<String> frozenParams = new ArrayList<>();

    protected VitLayerConf() {}

    protected VitLayerConf(BaseLayer.Builder<?> builder) {
        super(builder);
    }

    /**
     * The Builder's rules. A configuration read from JSON (a model zip) is made by the no-argument constructor and
     * the setters, which check nothing, so loaders call this too. Throws {@link IllegalArgumentException} naming the
     * field, its value and what was expected.
     */
    public abstract void validate();

    /** Throws, naming {@code field}, unless {@code ok}. */
    static void require(boolean ok, String field, Object value, String expected) {
        if (!ok) throw new IllegalArgumentException(field + " = " + value + ": expected " + expected);
    }

    /**
     * Every parameter tensor holds at most {@link #MAX_TENSOR_VALUES} values, its size multiplied in {@code long}
     * without overflow; call once the fields the shapes use are known to be in range.
     */
    void requireTensorSizes() {
        for (Map.Entry<String, long[]> e : paramShapes().entrySet()) {
            long values = 1;
            try {
                for (long d : e.getValue()) values = Math.multiplyExact(values, d);
            } catch (ArithmeticException overflow) {
                values = Long.MAX_VALUE;
            }
            require(values <= MAX_TENSOR_VALUES, "parameter " + e.getKey() + " of shape",
                    dev.scalenet.Capped.list(e.getValue()), "at most " + MAX_TENSOR_VALUES + " values");
        }
    }

    public List<String> getFrozenParams() { return new ArrayList<>(frozenParams); }

    /** For DL4J's JSON deserialisation; {@link #freeze} checks the names. */
    public void setFrozenParams(List<String> names) { this.frozenParams = new ArrayList<>(names); }

    /** Freezes exactly the named parameters (none: everything trains); an unknown name is an error. */
    public void freeze(Collection<String> names) {
        List<String> unknown = new ArrayList<>(names);
        unknown.removeAll(paramShapes().keySet());
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("layer '" + layerName + "': cannot freeze unknown parameters " + unknown
                    + "; it has " + dev.scalenet.Capped.list(paramShapes().keySet()));
        }
        this.frozenParams = new ArrayList<>(names);
    }

    public boolean isFrozen(String param) {
        return frozenParams.contains(param);
    }

    /** A frozen parameter gets DL4J's no-op updater, so its updater state is empty and it never moves. */
    @Override
    public IUpdater getUpdaterByParam(String paramName) {
        return isFrozen(paramName) ? new NoOp() : super.getUpdaterByParam(paramName);
    }

    /**
     * None when frozen; else the weight regularisation for weight matrices and the bias regularisation for every other
     * tensor ({@link LayoutParamInitializer}'s rule), told from the name alone: DL4J asks for every parameter twice a
     * step on the training thread, and its own route through the initializer rebuilt the layer's whole layout to
     * answer for a bias.
     */
    @Override
    public List<Regularization> getRegularizationByParam(String paramName) {
        if (isFrozen(paramName)) return Collections.emptyList();
        return isWeightParam(paramName) ? getRegularization() : getRegularizationBias();
    }

    @Override
    public VitLayerConf clone() {
        VitLayerConf c = (VitLayerConf) super.clone();
        c.frozenParams = new ArrayList<>(frozenParams);
        return c;
    }

    abstract ViewLayer<?> createLayer(NeuralNetConfiguration conf, DataType dataType);

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners,
                                                        int layerIndex, INDArray layerParamsView, boolean initializeParams,
                                                        DataType networkDataType) {
        ViewLayer<?> layer = createLayer(conf, networkDataType);
        layer.setListeners(listeners);
        layer.setIndex(layerIndex);
        layer.setParamsViewArray(layerParamsView);
        layer.setParamTable(initializer().init(conf, layerParamsView, initializeParams));
        layer.setConf(conf);
        return layer;
    }

    @Override
    public ParamInitializer initializer() {
        return LayoutParamInitializer.INSTANCE;
    }

    @Override
    public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
        return null;
    }

    @Override
    public boolean isPretrainParam(String paramName) {
        return false;
    }

    @Override
    public LayerMemoryReport getMemoryReport(InputType inputType) {
        return new LayerMemoryReport.Builder(layerName, getClass(), inputType, getOutputType(-1, inputType))
                .standardMemory(initializer().numParams(this), 0)
                .workingMemory(0, 0, 0, 0)
                .cacheMemory(0, 0)
                .build();
    }

    /** Fills a view with N(0, .02). */
    static void normal(INDArray view) {
        view.assign(Nd4j.randn(view.dataType(), view.shape()).muli(INIT_STD));
    }

    /** timm's init by name: norm weights 1, other weights N(0, .02), everything else 0. */
    static void initNormsAndLinears(Map<String, INDArray> views) {
        for (Map.Entry<String, INDArray> e : views.entrySet()) {
            String name = e.getKey();
            if (name.toLowerCase(java.util.Locale.ROOT).contains("norm") && name.endsWith(".weight")) {
                e.getValue().assign(1.0);
            } else if (name.endsWith(".weight")) {
                normal(e.getValue());
            } else {
                e.getValue().assign(0.0);
            }
        }
    }

    static IllegalStateException wrongInput(String layerName, InputType inputType, String expected) {
        return new IllegalStateException("layer '" + layerName + "': input type " + inputType + ", expected " + expected);
    }
}
