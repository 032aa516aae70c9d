package dev.scalenet.train;

import dev.scalenet.layers.ScaleNetBlocks;
import dev.scalenet.layers.SoftmaxCrossEntropy;
import dev.scalenet.layers.VitLayerConf;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a {@link TrainConfig} recipe sets on a graph before its first step: optimizer and schedule, weight decay,
 * frozen parameters, stochastic depth and loss (the list is on {@link Trainer#prepare}). It sets them on DL4J's own
 * configuration objects, so a plain {@code graph.fit} loop trains with the same recipe as the {@link Trainer}.
 */
final class RecipeSetup {
    private final TrainConfig config;

    RecipeSetup(TrainConfig config) {
        this.config = config;
    }

    /** Sets the optimizer, schedule, weight decay, frozen parameters, stochastic depth and label smoothing. */
    void apply(ComputationGraph graph, long stepsPerEpoch) {
        IUpdater adamW = new Adam.Builder()
                .learningRateSchedule(new WarmupCosineSchedule(config.learningRate(), config.minLearningRate(),
                        warmupSteps(stepsPerEpoch), config.totalSteps(stepsPerEpoch)))
                .build();
        for (Layer layer : graph.getLayers()) {
            org.deeplearning4j.nn.conf.layers.Layer conf = layer.conf().getLayer();
            if (!(conf instanceof BaseLayer)) continue;
            BaseLayer base = (BaseLayer) conf;
            base.setIUpdater(adamW.clone());
            base.setBiasUpdater(null);
            base.setRegularization(config.weightDecay() > 0
                    ? new ArrayList<>(List.of(new DecoupledWeightDecay(config.weightDecay()))) : new ArrayList<>());
            base.setRegularizationBias(new ArrayList<>());
            if (conf instanceof VitLayerConf) {
                ((VitLayerConf) conf).freeze(config.trainable().frozenParams((VitLayerConf) conf));
            }
            if (conf instanceof ScaleNetBlocks) {
                ((ScaleNetBlocks) conf).setDropPathRate(config.dropPath());
                ((ScaleNetBlocks) conf).setRecompute(config.recompute());
            }
            if (conf instanceof BaseOutputLayer) {
                ((BaseOutputLayer) conf).setLossFn(new SoftmaxCrossEntropy(config.labelSmoothing()));
            }
        }
        graph.getConfiguration().setIterationCount(0);
        graph.getConfiguration().setEpochCount(0);
        graph.setUpdater(new InPlaceGraphUpdater(graph)); // fresh optimizer state for the new recipe
    }

    /** What {@link #apply} changes on {@code graph}, one entry per change, in words with this recipe's values. */
    List<String> changes(ComputationGraph graph, long stepsPerEpoch) {
        List<String> c = new ArrayList<>();
        c.add(String.format(Locale.ROOT, "updater of every layer: Adam, learning rate warm-up over %d steps to %.3g then"
                + " cosine to %.3g at step %d; fresh optimizer state (DL4J's graph updater, on its in-place path); iteration and"
                + " epoch counters reset to 0", warmupSteps(stepsPerEpoch),
                config.learningRate(), config.minLearningRate(), config.totalSteps(stepsPerEpoch)));
        c.add(config.weightDecay() > 0 ? "regularization: decoupled weight decay " + config.weightDecay()
                + " on weights, none on biases (replaces the graph's own)" : "regularization: none (removes the graph's own)");
        long frozen = 0;
        for (Layer layer : graph.getLayers()) {
            if (layer.conf().getLayer() instanceof VitLayerConf v) {
                for (String p : config.trainable().frozenParams(v)) {
                    INDArray a = layer.paramTable().get(p);
                    if (a != null) frozen += a.length();
                }
            }
        }
        c.add("frozen: " + frozen + " of " + graph.numParams() + " parameters (trainable=" + config.trainable().spelling() + ")");
        c.add("stochastic depth of the block stack: " + config.dropPath()
                + (config.recompute() ? "; activations recomputed in the backward pass (only each block's input kept)" : ""));
        c.add("loss: softmax cross-entropy, label smoothing " + config.labelSmoothing());
        return c;
    }

    /** The parameters the recipe's updates reach: all but the frozen ones. */
    static long trainableParams(ComputationGraph graph) {
        long n = 0;
        for (Layer layer : graph.getLayers()) {
            org.deeplearning4j.nn.conf.layers.Layer conf = layer.conf().getLayer();
            for (Map.Entry<String, INDArray> p : layer.paramTable().entrySet()) {
                if (!(conf instanceof VitLayerConf && ((VitLayerConf) conf).isFrozen(p.getKey()))) n += p.getValue().length();
            }
        }
        return n;
    }

    /** The warm-up's length: {@code warmupEpochs} of the schedule, at most all of it. */
    private long warmupSteps(long stepsPerEpoch) {
        return Math.min(config.totalSteps(stepsPerEpoch), Math.round(config.warmupEpochs() * stepsPerEpoch));
    }
}
