package dev.scalenet.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * timm's patch embedding plus token assembly: a convolution with kernel = stride = patch over
 * {@code [batch, channels, H, W]}, patch tokens in row-major order, the class token prepended (if any)
 * and the position embedding added. Output {@code [batch, tokens, embedDim]}.
 * Parameters: {@code proj.weight [D, C, p, p]}, {@code proj.bias}, {@code clsToken [1, 1, D]},
 * {@code posEmbed [1, tokens, D]} (timm's shapes).
 */
public class PatchEmbedding extends VitLayerConf {
    private int imgSize;
    private int patchSize;
    private int inChans;
    private int embedDim;
    private boolean classToken = true;

    /** For DL4J's JSON deserialisation. */
    public PatchEmbedding() {}

    private PatchEmbedding(Builder b) {
        super(b);
        this.imgSize = b.imgSize;
        this.patchSize = b.patchSize;
        this.inChans = b.inChans;
        this.embedDim = b.embedDim;
        this.classToken = b.classToken;
        validate();
    }

    @Override
    public void validate() {
        require(imgSize > 0, "imgSize", imgSize, "a positive number of pixels");
        require(patchSize > 0 && imgSize % patchSize == 0, "patchSize", patchSize, "a positive divisor of imgSize " + imgSize);
        require(inChans > 0, "inChans", inChans, "at least 1");
        require(embedDim > 0, "embedDim", embedDim, "positive");
        // in long: (imgSize / patchSize)^2 overflows int for large images and small patches
        long grid = imgSize / patchSize;
        long tokens = grid * grid + numPrefixTokens();
        require(tokens * embedDim <= MAX_TENSOR_VALUES, "imgSize / patchSize", imgSize + " / " + patchSize,
                "a token count (" + tokens + ") whose position embedding of width " + embedDim + " holds at most "
                        + MAX_TENSOR_VALUES + " values");
        requireTensorSizes();
    }

    public int gridSize() { return imgSize / patchSize; }
    public int numPrefixTokens() { return classToken ? 1 : 0; }
    public int numTokens() { return gridSize() * gridSize() + numPrefixTokens(); }

    @Override
    public Map<String, long[]> paramShapes() {
        Map<String, long[]> m = new LinkedHashMap<>();
        if (classToken) {
            m.put("clsToken", new long[] {1, 1, embedDim});
        }
        m.put("posEmbed", new long[] {1, numTokens(), embedDim});
        m.put("proj.weight", new long[] {embedDim, inChans, patchSize, patchSize});
        m.put("proj.bias", new long[] {embedDim});
        return m;
    }

    @Override
    public boolean isWeightParam(String name) {
        return name.equals("proj.weight");
    }

    @Override
    public void initParams(Map<String, INDArray> views) {
        // timm: pos_embed ~ N(0, .02), cls_token ~ N(0, 1e-6), conv as a linear layer
        for (Map.Entry<String, INDArray> e : views.entrySet()) {
            switch (e.getKey()) {
                case "clsToken": normal(e.getValue()); e.getValue().muli(1e-6 / INIT_STD); break;
                case "posEmbed": case "proj.weight": normal(e.getValue()); break;
                default: e.getValue().assign(0.0);
            }
        }
    }

    @Override
    ViewLayer<?> createLayer(NeuralNetConfiguration conf, DataType dataType) {
        return new PatchEmbeddingLayer(conf, dataType);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        if (!(inputType instanceof InputType.InputTypeConvolutional)) {
            throw wrongInput(layerName, inputType, "images [batch, " + inChans + ", " + imgSize + ", " + imgSize + "]");
        }
        InputType.InputTypeConvolutional in = (InputType.InputTypeConvolutional) inputType;
        if (in.getChannels() != inChans || in.getHeight() != imgSize || in.getWidth() != imgSize) {
            throw wrongInput(layerName, inputType, "images [batch, " + inChans + ", " + imgSize + ", " + imgSize + "]");
        }
        return InputType.recurrent(embedDim, numTokens(), RNNFormat.NWC);
    }

    @Override
    public void setNIn(InputType inputType, boolean override) {
        getOutputType(-1, inputType);
    }

    public int getImgSize() { return imgSize; }
    public void setImgSize(int imgSize) { this.imgSize = imgSize; }
    public int getPatchSize() { return patchSize; }
    public void setPatchSize(int patchSize) { this.patchSize = patchSize; }
    public int getInChans() { return inChans; }
    public void setInChans(int inChans) { this.inChans = inChans; }
    public int getEmbedDim() { return embedDim; }
    public void setEmbedDim(int embedDim) { this.embedDim = embedDim; }
    public boolean isClassToken() { return classToken; }
    public void setClassToken(boolean classToken) { this.classToken = classToken; }

    public static class Builder extends org.deeplearning4j.nn.conf.layers.BaseLayer.Builder<Builder> {
        private int imgSize = 224;
        private int patchSize = 16;
        private int inChans = 3;
        private int embedDim;
        private boolean classToken = true;

        public Builder imgSize(int v) { imgSize = v; return this; }
        public Builder patchSize(int v) { patchSize = v; return this; }
        public Builder inChans(int v) { inChans = v; return this; }
        public Builder embedDim(int v) { embedDim = v; return this; }
        public Builder classToken(boolean v) { classToken = v; return this; }

        @Override
        @SuppressWarnings("unchecked")
        public PatchEmbedding build() {
            return new PatchEmbedding(this);
        }
    }
}
