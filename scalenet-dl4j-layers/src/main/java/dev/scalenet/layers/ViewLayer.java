package dev.scalenet.layers;

import dev.scalenet.engine.ComputeThreads;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Base of the ViT layers: hand-written forward and backward over named parameter views.
 *
 * <p>Why workspaces matter here: ND4J allocates off-heap arrays outside a workspace in milliseconds, inside
 * one in microseconds. A training forward pass therefore keeps its intermediates in the activation
 * workspace, which DL4J holds open until backprop has run; inference uses the per-layer working memory.
 * Backward adds into the gradient views, so they are zeroed first.
 */
abstract class ViewLayer<C extends VitLayerConf> extends BaseLayer<C> {
    private boolean forwardStateValid;
    /** The workspaces of the {@link #activate} call under way (null outside one). */
    private LayerWorkspaceMgr activating;

    ViewLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    /** Forward pass; when {@code training}, keep what {@link #backward} needs. */
    protected abstract INDArray forward(INDArray input, boolean training);

    /** Adds parameter gradients into {@link #gradientViews} and returns dL/dinput. */
    protected abstract INDArray backward(INDArray epsilon);

    /** The activation elements one thread works on, from which {@link ComputeThreads} chooses the call's threads. */
    protected long threadingElements(INDArray activations) {
        return activations.length();
    }

    /** Drops the state kept for backward. */
    protected abstract void clearForwardState();

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        clearForwardState();
        forwardStateValid = false;
        INDArray out;
        activating = workspaceMgr;
        try (MemoryWorkspace ws = borrow(workspaceMgr, training ? ArrayType.ACTIVATIONS : ArrayType.FF_WORKING_MEM);
             ComputeThreads threads = ComputeThreads.forElements(threadingElements(input))) {
            out = forward(input, training);
        } finally {
            activating = null;
        }
        forwardStateValid = training;
        return workspaceMgr.leverageTo(ArrayType.ACTIVATIONS, out);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        if (!forwardStateValid) {
            throw new IllegalStateException(layerId() + ": backprop needs a training forward pass first");
        }
        gradientsFlattened.assign(0);
        INDArray dx;
        try (MemoryWorkspace ws = borrow(workspaceMgr, ArrayType.ACTIVATION_GRAD);
             ComputeThreads threads = ComputeThreads.forElements(threadingElements(epsilon))) {
            dx = backward(epsilon);
        }
        Gradient gradient = new DefaultGradient(gradientsFlattened);
        for (Map.Entry<String, INDArray> e : gradientViews.entrySet()) {
            gradient.setGradientFor(e.getKey(), e.getValue());
        }
        return new Pair<>(gradient, workspaceMgr.leverageTo(ArrayType.ACTIVATION_GRAD, dx));
    }

    /**
     * A new array for {@link #forward}'s result, made where DL4J keeps activations. In inference forward's temporaries
     * live in the layer's working memory, and a result made there is copied out when forward returns (a tenth of a
     * millisecond a batch for the grown micro model's blocks); one made here is not.
     */
    protected INDArray createActivations(DataType type, long... shape) {
        return activating == null ? Nd4j.createUninitialized(type, shape) : activating.createUninitialized(ArrayType.ACTIVATIONS, type, shape);
    }

    /** The gradient views of the parameters that train; frozen ones are left out, so backward skips their work. */
    protected Map<String, INDArray> trainableGradientViews() {
        return trainableOnly(gradientViews);
    }

    /** {@code views} without the frozen parameters' entries. */
    protected Map<String, INDArray> trainableOnly(Map<String, INDArray> views) {
        List<String> frozen = layerConf().getFrozenParams();
        if (frozen.isEmpty()) return views;
        Map<String, INDArray> m = new LinkedHashMap<>(views);
        m.keySet().removeAll(frozen);
        return m;
    }

    /** One parameter's gradient view, or null if it is frozen. */
    protected INDArray trainableGradient(String param) {
        return layerConf().isFrozen(param) ? null : gradientViews.get(param);
    }

    /**
     * The inverse of {@link #params()}: copies a flat vector laid out as {@code params()} gives it. DL4J's own
     * {@code BaseLayer.setParams} reshapes each tensor's slice in 'f' order, while these layers keep c-order views
     * ({@link LayoutParamInitializer}), so every DL4J path that copies parameters through it ({@code TransferLearning},
     * early-stopping savers, parameter averaging, {@code clone}) would transpose them.
     */
    @Override
    public void setParams(INDArray params) {
        if (params == paramsFlattened) return;
        if (params.length() != paramsFlattened.length()) {
            throw new IllegalArgumentException(layerId() + ": setParams got " + params.length() + " values, expected "
                    + paramsFlattened.length() + " (this layer's numParams())");
        }
        paramsFlattened.assign(params.reshape('c', paramsFlattened.shape()));
    }

    /**
     * The first call (from {@link VitLayerConf#instantiate}) installs the views of the flat parameter slice; later calls
     * copy values into those views. DL4J's {@code BaseLayer} would replace the views with the given arrays, after which
     * the layer reads tensors that {@link #params()}, the updater and the gradients no longer see.
     */
    @Override
    public void setParamTable(Map<String, INDArray> paramTable) {
        if (params == null || params.isEmpty()) {
            super.setParamTable(paramTable);
            return;
        }
        if (!params.keySet().equals(paramTable.keySet())) {
            throw new IllegalArgumentException(layerId() + ": setParamTable got parameters " + paramTable.keySet() + ", expected " + params.keySet());
        }
        for (Map.Entry<String, INDArray> e : paramTable.entrySet()) {
            INDArray view = params.get(e.getKey());
            if (!java.util.Arrays.equals(view.shape(), e.getValue().shape())) {
                throw new IllegalArgumentException(layerId() + ": setParamTable got " + e.getKey() + " of shape "
                        + java.util.Arrays.toString(e.getValue().shape()) + ", expected " + java.util.Arrays.toString(view.shape()));
            }
        }
        for (Map.Entry<String, INDArray> e : paramTable.entrySet()) params.get(e.getKey()).assign(e.getValue());
    }

    private static MemoryWorkspace borrow(LayerWorkspaceMgr mgr, ArrayType type) {
        // null is a valid try-with-resources resource: allocate in whatever workspace is current
        return mgr.isWorkspaceOpen(type) ? mgr.notifyScopeBorrowed(type) : null;
    }

    @Override
    public void clear() {
        super.clear();
        clearForwardState();
        forwardStateValid = false;
    }

    @Override
    public boolean isPretrainLayer() {
        return false;
    }

    @Override
    public Type type() {
        return Type.FEED_FORWARD;
    }
}
