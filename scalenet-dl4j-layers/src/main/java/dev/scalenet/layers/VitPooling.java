package dev.scalenet.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The end of timm's ViT before the head: {@code norm}, pooling, {@code fc_norm}. Exactly one LayerNorm
 * exists: {@code norm.*} before pooling, or with {@code fcNorm} {@code fcNorm.*} after it.
 * {@code [batch, tokens, D]} in, {@code [batch, D]} out.
 */
public class VitPooling extends VitLayerConf {
    private int embedDim;
    private int numPrefixTokens = 1;
    private GlobalPool globalPool = GlobalPool.TOKEN;
    private boolean fcNorm;

    /** For DL4J's JSON deserialisation. */
    public VitPooling() {}

    private VitPooling(Builder b) {
        super(b);
        this.embedDim = b.embedDim;
        this.numPrefixTokens = b.numPrefixTokens;
        this.globalPool = b.globalPool;
        this.fcNorm = b.fcNorm;
        validate();
    }

    @Override
    public void validate() {
        require(embedDim > 0, "embedDim", embedDim, "positive");
        require(numPrefixTokens == 0 || numPrefixTokens == 1, "numPrefixTokens", numPrefixTokens,
                "1 with a class token, else 0");
        require(globalPool != null, "globalPool", null, "one of TOKEN, AVG");
        require(globalPool != GlobalPool.TOKEN || numPrefixTokens == 1, "numPrefixTokens", numPrefixTokens,
                "1 for token pooling (it takes the class token)");
    }

    /** Name prefix of the one LayerNorm. */
    public String normName() {
        return fcNorm ? "fcNorm" : "norm";
    }

    @Override
    public Map<String, long[]> paramShapes() {
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put(normName() + ".weight", new long[] {embedDim});
        m.put(normName() + ".bias", new long[] {embedDim});
        return m;
    }

    @Override
    public boolean isWeightParam(String name) {
        return false;
    }

    @Override
    public void initParams(Map<String, INDArray> views) {
        initNormsAndLinears(views);
    }

    @Override
    ViewLayer<?> createLayer(NeuralNetConfiguration conf, DataType dataType) {
        return new VitPoolingLayer(conf, dataType);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        if (!(inputType instanceof InputType.InputTypeRecurrent)
                || ((InputType.InputTypeRecurrent) inputType).getSize() != embedDim) {
            throw wrongInput(layerName, inputType, "tokens [batch, tokens, " + embedDim + "]");
        }
        return InputType.feedForward(embedDim);
    }

    @Override
    public void setNIn(InputType inputType, boolean override) {
        getOutputType(-1, inputType);
    }

    public int getEmbedDim() { return embedDim; }
    public void setEmbedDim(int embedDim) { this.embedDim = embedDim; }
    public int getNumPrefixTokens() { return numPrefixTokens; }
    public void setNumPrefixTokens(int numPrefixTokens) { this.numPrefixTokens = numPrefixTokens; }
    public GlobalPool getGlobalPool() { return globalPool; }
    public void setGlobalPool(GlobalPool globalPool) { this.globalPool = globalPool; }
    public boolean isFcNorm() { return fcNorm; }
    public void setFcNorm(boolean fcNorm) { this.fcNorm = fcNorm; }

    public static class Builder extends org.deeplearning4j.nn.conf.layers.BaseLayer.Builder<Builder> {
        private int embedDim;
        private int numPrefixTokens = 1;
        private GlobalPool globalPool = GlobalPool.TOKEN;
        private boolean fcNorm;

        public Builder embedDim(int v) { embedDim = v; return this; }
        /** Tokens before the patch tokens: 1 with a class token, else 0. */
        public Builder numPrefixTokens(int v) { numPrefixTokens = v; return this; }
        public Builder globalPool(GlobalPool v) { globalPool = v; return this; }
        public Builder fcNorm(boolean v) { fcNorm = v; return this; }

        @Override
        @SuppressWarnings("unchecked")
        public VitPooling build() {
            return new VitPooling(this);
        }
    }
}
