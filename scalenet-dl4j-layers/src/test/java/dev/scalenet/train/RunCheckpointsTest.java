package dev.scalenet.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.RawBits;
import dev.scalenet.data.DataConfig;
import dev.scalenet.data.FashionMnist;
import dev.scalenet.data.Image;
import dev.scalenet.data.ImageDataset;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A run's checkpoints come back into the same run only; the settings that do not change the weights do not count. */
class RunCheckpointsTest {
    @TempDir
    Path dir;

    private RunCheckpoints checkpoints(TrainConfig recipe, String startModel) throws Exception {
        return RunCheckpoints.of(dir.resolve(Trainer.CHECKPOINT), recipe, DataConfig.fashionMnist(), FashionMnist.train(),
                FashionMnist.test(), startModel);
    }

    private static ComputationGraph prepared(TrainConfig recipe) {
        ComputationGraph graph = TinyRun.model();
        new RecipeSetup(recipe).apply(graph, 20);
        return graph;
    }

    @Test
    @DisplayName("restores the weights, Adam's state, the EMA weights and the position it saved; without a checkpoint, nothing")
    void restoresWhatItSaved() throws Exception {
        TrainConfig recipe = TinyRun.recipe().emaDecay(0.9).build();
        RunCheckpoints run = checkpoints(recipe, "start");
        ComputationGraph saved = prepared(recipe);
        saved.params().addi(0.25);
        saved.getUpdater().getStateViewArray().assign(0.5);
        INDArray ema = saved.params().mul(3);
        assertNull(run.restore(prepared(recipe), null), "nothing saved yet");
        run.save(15, 4.5, saved, ema);

        ComputationGraph fresh = prepared(recipe);
        INDArray freshEma = fresh.params().dup();
        RunCheckpoints.Position at = checkpoints(recipe, "start").restore(fresh, freshEma);
        assertEquals(new RunCheckpoints.Position(15, 4.5), at);
        assertArrayEquals(RawBits.of(saved.params()), RawBits.of(fresh.params()));
        assertArrayEquals(RawBits.of(saved.getUpdater().getStateViewArray()), RawBits.of(fresh.getUpdater().getStateViewArray()));
        assertArrayEquals(RawBits.of(ema), RawBits.of(freshEma));
    }

    @Test
    @DisplayName("a checkpoint of another recipe or starting model is refused, naming every part that differs")
    void refusesAnotherRun() throws Exception {
        TrainConfig recipe = TinyRun.recipe().build();
        checkpoints(recipe, "start").save(5, 1, prepared(recipe), null);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> checkpoints(TinyRun.recipe().learningRate(1e-3).build(), "other start").restore(prepared(recipe), null));
        assertTrue(e.getMessage().startsWith(dir.resolve(Trainer.CHECKPOINT) + " was written by a different run (recipe,"
                + " startModel differ); delete it, or train without resume"), e.getMessage());
    }

    @Test
    @DisplayName("control, evalsPerEpoch and recompute leave the weights alone, so a checkpoint resumes across them")
    void resumesAcrossSettingsThatKeepTheWeights() throws Exception {
        TrainConfig recipe = TinyRun.recipe().build();
        checkpoints(recipe, "start").save(5, 1, prepared(recipe), null);
        TrainConfig other = TinyRun.recipe().control(true).evalsPerEpoch(4).recompute(true).build();
        assertEquals(5, checkpoints(other, "start").restore(prepared(other), null).step());
    }

    @Test
    @DisplayName("a checkpoint of the same data path with another number of images is refused; one written before the counts were recorded resumes")
    void imageCounts() throws Exception {
        TrainConfig recipe = TinyRun.recipe().build();
        ObjectNode saved = RunCheckpoints.identity(recipe, DataConfig.fashionMnist(), FashionMnist.train(), FashionMnist.test(), "start");
        ObjectNode fewer = RunCheckpoints.identity(recipe, DataConfig.fashionMnist(), first(FashionMnist.train(), 100), FashionMnist.test(), "start");
        fewer.put("trainData", saved.get("trainData").asText()); // the same path, other contents
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> RunCheckpoints.requireSameRun(dir, saved, fewer));
        assertTrue(e.getMessage().contains("(trainImages differs)"), e.getMessage());

        ObjectNode older = saved.deepCopy();
        older.remove(List.of("trainImages", "evalImages")); // as a checkpoint of an earlier version holds it
        RunCheckpoints.requireSameRun(dir, older, saved);
    }

    /** The first {@code n} examples of {@code data}, described as it is. */
    private static ImageDataset first(ImageDataset data, int n) {
        return new ImageDataset() {
            @Override public int size() { return n; }
            @Override public List<String> classNames() { return data.classNames(); }
            @Override public int label(int index) { return data.label(index); }
            @Override public Image image(int index) throws IOException { return data.image(index); }
            @Override public String describe() { return data.describe(); }
        };
    }
}
