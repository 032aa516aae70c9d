package dev.scalenet.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.Activation;

/** The graph the layer tests run a stack in: tokens {@code [batch, tokens, dim]} -> the stack -> average pooling with fc_norm -> logits. */
final class TokenGraph {
    private TokenGraph() {}

    /** Built on {@code base} (seed, data type, updater, workspace modes), initialised. */
    static ComputationGraph of(NeuralNetConfiguration.Builder base, ScaleNetBlocks stack, int tokens, int classes) {
        int dim = stack.getEmbedDim();
        ComputationGraph g = new ComputationGraph(base.graphBuilder()
                .addInputs("tokens")
                .setInputTypes(InputType.recurrent(dim, tokens, RNNFormat.NWC))
                .addLayer("blocks", stack, "tokens")
                .addLayer("pool", new VitPooling.Builder().embedDim(dim).numPrefixTokens(0)
                        .globalPool(GlobalPool.AVG).fcNorm(true).build(), "blocks")
                .addLayer("head", new OutputLayer.Builder().nIn(dim).nOut(classes).activation(Activation.IDENTITY)
                        .lossFunction(new SoftmaxCrossEntropy()).build(), "pool")
                .setOutputs("head")
                .build());
        g.init();
        return g;
    }
}
