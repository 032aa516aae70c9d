package dev.scalenet.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.data.DataConfig;
import dev.scalenet.data.ImageDataset;
import dev.scalenet.io.AtomicFiles;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A run's {@link TrainingCheckpoint}s in its folder: saved as it trains, and restored only into the same run. A run is
 * its identity: the recipe (less the settings that do not change the weights), the data settings, the data sets and
 * the starting model's fingerprint. A checkpoint of another identity is refused, naming what differs, rather than
 * silently continuing someone else's weights.
 */
final class RunCheckpoints {
    /** Where a restored run stands. */
    record Position(long step, double trainSeconds) {}

    private final Path file;
    private final ObjectNode identity;

    private RunCheckpoints(Path file, ObjectNode identity) {
        this.file = file;
        this.identity = identity;
    }

    /**
     * The checkpoints of the run training {@code startModel} with {@code recipe} on {@code train} (evaluating on
     * {@code eval}, may be null), in {@code file}. Deletes a killed run's half-written checkpoint.
     */
    static RunCheckpoints of(Path file, TrainConfig recipe, DataConfig data, ImageDataset train, ImageDataset eval,
                             String startModel) throws IOException {
        AtomicFiles.deleteLeftovers(file);
        return new RunCheckpoints(file, identity(recipe, data, train, eval, startModel));
    }

    Path file() {
        return file;
    }

    /**
     * Restores the last checkpoint into {@code graph} (weights and optimizer state) and {@code ema} (may be null), and
     * returns where it stood; null when there is none. Throws if it was written by a different run.
     */
    Position restore(ComputationGraph graph, INDArray ema) throws IOException {
        if (!Files.exists(file)) return null;
        // the run's identity first: another run's checkpoint is named as such, not by the first size that differs
        requireSameRun(file, TrainingCheckpoint.state(file).get("identity"), identity);
        TrainingCheckpoint c = TrainingCheckpoint.load(file, graph, ema != null); // exactly this graph's parts
        graph.setParams(c.params);
        if (c.updater != null) graph.getUpdater().setStateViewArray(c.updater);
        if (ema != null) ema.assign(c.ema);
        return new Position(c.step(), c.trainSeconds());
    }

    /** Saves the state after {@code step} steps, atomically: a kill while writing keeps the previous checkpoint. */
    void save(long step, double trainSeconds, ComputationGraph graph, INDArray ema) throws IOException {
        new TrainingCheckpoint(state(step, trainSeconds), graph.params(), graph.getUpdater().getStateViewArray(), ema).save(file);
    }

    private ObjectNode state(long step, double trainSeconds) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("format", 1);
        o.put("step", step);
        o.put("trainSeconds", trainSeconds);
        o.set("identity", identity);
        return o;
    }

    /**
     * Identity fields that checkpoints of earlier versions lack: such a checkpoint resumes without them, as it did.
     * The image counts catch a folder whose images changed under the same path (the schedule's steps would differ).
     */
    private static final List<String> ADDED_LATER = List.of("trainImages", "evalImages");

    /** What must not change between a checkpoint and a resume. */
    static ObjectNode identity(TrainConfig recipe, DataConfig data, ImageDataset train, ImageDataset eval, String startModel) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.set("recipe", recipe.toTrainingJson());
        o.set("data", data.toJson());
        o.put("trainData", train.describe());
        o.put("trainImages", train.size());
        o.put("evalData", eval == null ? "" : eval.describe());
        o.put("evalImages", eval == null ? 0 : eval.size());
        o.put("startModel", startModel);
        return o;
    }

    /** A saved recipe's training settings: a checkpoint of an older version may hold the others. */
    private static JsonNode trainingSettings(JsonNode recipe) {
        if (!(recipe instanceof ObjectNode)) return recipe;
        ObjectNode r = ((ObjectNode) recipe).deepCopy();
        r.remove(TrainConfig.NOT_TRAINING);
        return r;
    }

    /** Throws, naming the fields of {@code now} that differ from {@code saved} (an identity as written, may be null). */
    static void requireSameRun(Path checkpoint, JsonNode saved, ObjectNode now) {
        List<String> differ = new ArrayList<>();
        now.fieldNames().forEachRemaining(f -> {
            if (saved != null && !saved.has(f) && ADDED_LATER.contains(f)) return;
            JsonNode before = saved == null ? null : f.equals("recipe") ? trainingSettings(saved.get(f)) : saved.get(f);
            // compared as text: a number read back from the file may be another node type than the one written
            if (saved == null || !now.get(f).toString().equals(String.valueOf(before))) differ.add(f);
        });
        if (!differ.isEmpty()) {
            throw new IllegalStateException(checkpoint + " was written by a different run (" + String.join(", ", differ)
                    + " differ" + (differ.size() == 1 ? "s" : "") + "); delete it, or train without resume, to start afresh");
        }
    }
}
