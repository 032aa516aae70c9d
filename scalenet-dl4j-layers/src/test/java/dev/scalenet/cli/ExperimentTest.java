package dev.scalenet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.data.FashionMnist;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExperimentTest {

    @Test
    @DisplayName("--arms picks the named arms, in the order given, in any case")
    void armsInOrder() {
        assertEquals(List.of(Experiment.Arm.SCALENET, Experiment.Arm.BASE_MORE), Experiment.arms("scalenet, BASE_MORE"));
    }

    @Test
    @DisplayName("an unknown arm fails naming --arms, the value and the arms there are")
    void unknownArm() {
        InvalidSettingException e = assertThrows(InvalidSettingException.class, () -> Experiment.arms("base,scratch"));
        assertEquals("--arms", e.setting());
        assertTrue(e.getMessage().contains("scratch") && e.getMessage().contains("scratch_full")
                && e.getMessage().contains("scratch_third"), e.getMessage());
    }

    @Test
    @DisplayName("mean and sample standard deviation (n - 1) over seeds")
    void meanAndStd() {
        assertEquals(2.0, Experiment.mean(new double[] {1, 2, 3}));
        assertEquals(1.0, Experiment.std(new double[] {1, 2, 3}), 1e-12);
        assertEquals(0.0, Experiment.std(new double[] {5}));
    }

    /** A tiny experiment: 256 training images, 128 held out, width 32, L = 2, batch 64, E = 3 epochs. */
    private static Experiment.Settings tiny(Path out, String arms, boolean finalTest, double learningRate) {
        return new Experiment.Settings(3, 1, 0, 8, arms, FashionMnist.dir(), out, 32, 2, 2, null, 128, 256, null, finalTest,
                Experiment.RECIPE.toBuilder().batchSize(64).checkpointEvery(0).learningRate(learningRate).build());
    }

    @Test
    @DisplayName("a tiny experiment: the base trains E, grown arms start from it; finished runs are skipped; --final adds the test set once")
    void tinyExperimentResumesAndAggregates(@TempDir Path out) throws Exception {
        Experiment.run(tiny(out, "base,scalenet_fp,untied", false, 1e-3));
        ObjectMapper json = new ObjectMapper();
        JsonNode base = json.readTree(out.resolve("seed0/base/result.json").toFile());
        JsonNode fp = json.readTree(out.resolve("seed0/scalenet_fp/result.json").toFile());
        assertEquals(3, base.get("epochs").asInt());
        assertEquals(1, fp.get("epochs").asInt());
        assertEquals(4, fp.get("depth").asInt());
        // the function-preserving start is the trained base: its first validation point equals the base's last
        JsonNode baseCurve = base.get("validationTop1PerEpoch");
        assertEquals(baseCurve.get(baseCurve.size() - 1).asDouble(), fp.get("validationTop1PerEpoch").get(0).asDouble());
        assertTrue(!base.has("test"), "the test set is not touched without --final");
        String table = Files.readString(out.resolve("results.md"));
        assertTrue(table.contains("| base L, E | 2 | 3 |") && table.contains("untied growth 2L, E/3"), table);

        long before = Files.getLastModifiedTime(out.resolve("seed0/base/result.json")).toMillis();
        Experiment.run(tiny(out, "base,scalenet_fp,untied", true, 1e-3));
        JsonNode again = json.readTree(out.resolve("seed0/base/result.json").toFile());
        assertEquals(base.get("validation"), again.get("validation"), "a finished run is not trained again");
        assertTrue(again.get("test").get("examples").asLong() == 10_000, "--final evaluates on the official test set");
        assertTrue(Files.getLastModifiedTime(out.resolve("seed0/base/result.json")).toMillis() >= before);

        InvalidSettingException other = assertThrows(InvalidSettingException.class,
                () -> Experiment.run(tiny(out, "base", false, 0.01)));
        assertEquals("--out", other.setting());
    }
}
