package dev.scalenet.spark;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.TrainingHook;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * Puts the round's iteration and epoch counts on each task's graph before its step. dl4j-spark 1.0.0-M2's
 * {@code ParameterAveragingTrainingWorker.getInitialModelGraph} rebuilds the graph from
 * {@code ComputationGraphConfiguration.clone()}, which does not copy the iteration and epoch counts: without this every
 * task would train at iteration 0, so the learning-rate schedule would never leave its first step, Adam's bias
 * correction would restart every round and stochastic depth would draw the same masks every round. The counts travel
 * with the task (the hook is serialised with the training master's worker at each round), so the engine sets them on
 * the driver just before each round.
 */
final class RoundHook implements TrainingHook {
    private static final long serialVersionUID = 1L;
    private int iteration;
    private int epoch;

    /** The counts of the next round. */
    void round(int iteration, int epoch) {
        this.iteration = iteration;
        this.epoch = epoch;
    }

    private void apply(Model model) {
        ComputationGraph graph = (ComputationGraph) model; // the engine trains ComputationGraphs only
        graph.getConfiguration().setIterationCount(iteration);
        graph.getConfiguration().setEpochCount(epoch);
    }

    @Override
    public void preUpdate(DataSet minibatch, Model model) {
        apply(model);
    }

    @Override
    public void preUpdate(MultiDataSet minibatch, Model model) {
        apply(model);
    }

    @Override
    public void postUpdate(DataSet minibatch, Model model) {
        // nothing: the averaged weights and Adam state go back to the driver, the counts stay the engine's
    }

    @Override
    public void postUpdate(MultiDataSet minibatch, Model model) {
        // as above
    }
}
