package dev.scalenet.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.deeplearning4j.nn.graph.ComputationGraph;

import java.nio.file.Path;
import java.util.Collections;
import java.util.List;

/** What a training run did and reached. The graph holds the final weights (the EMA weights if EMA was on). */
public final class TrainResult {
    private final ComputationGraph graph;
    private final TrainConfig config;
    private final long steps;
    private final long resumedFromStep;
    private final double trainSeconds;
    private final long imagesTrained;
    private final long totalParams;
    private final long trainableParams;
    private final List<EvalResult> evaluations;
    private final Path metricsFile;
    private final Path curveFile;
    private final List<String> recipeChanges;

    TrainResult(ComputationGraph graph, TrainConfig config, long steps, long resumedFromStep, double trainSeconds,
                long imagesTrained, long trainableParams, List<EvalResult> evaluations, Path metricsFile, Path curveFile,
                List<String> recipeChanges) {
        this.graph = graph;
        this.config = config;
        this.steps = steps;
        this.resumedFromStep = resumedFromStep;
        this.trainSeconds = trainSeconds;
        this.imagesTrained = imagesTrained;
        this.totalParams = graph.numParams();
        this.trainableParams = trainableParams;
        this.evaluations = Collections.unmodifiableList(evaluations);
        this.metricsFile = metricsFile;
        this.curveFile = curveFile;
        this.recipeChanges = List.copyOf(recipeChanges);
    }

    public ComputationGraph graph() { return graph; }
    /** What the trainer changed on the graph before training ({@link Trainer#prepare}), one entry per change. */
    public List<String> recipeChanges() { return recipeChanges; }
    public TrainConfig config() { return config; }
    /** Optimizer steps taken in all (including those before a resume). */
    public long steps() { return steps; }
    /** The step this process resumed from; 0 for a fresh run. */
    public long resumedFromStep() { return resumedFromStep; }
    /** Wall time spent in training steps (not evaluation), summed over resumes. */
    public double trainSeconds() { return trainSeconds; }
    public double imagesPerSecond() { return trainSeconds > 0 ? imagesTrained / trainSeconds : 0; }
    public long totalParams() { return totalParams; }
    public long trainableParams() { return trainableParams; }
    /**
     * Held-out results before training (step 0) and after each epoch (and at the end), oldest first; empty
     * without held-out data.
     */
    public List<EvalResult> evaluations() { return evaluations; }
    /** The last held-out result, or null. */
    public EvalResult finalEval() { return evaluations.isEmpty() ? null : evaluations.get(evaluations.size() - 1); }
    public Path metricsFile() { return metricsFile; }
    public Path curveFile() { return curveFile; }

    public ObjectNode toJson() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.set("recipe", config.toJson());
        o.put("steps", steps);
        o.put("resumedFromStep", resumedFromStep);
        o.put("trainSeconds", trainSeconds);
        o.put("imagesPerSecond", imagesPerSecond());
        o.put("totalParams", totalParams);
        o.put("trainableParams", trainableParams);
        ArrayNode evals = o.putArray("evaluations");
        evaluations.forEach(e -> evals.add(e.toJson()));
        if (finalEval() != null) o.set("final", finalEval().toJson());
        return o;
    }
}
