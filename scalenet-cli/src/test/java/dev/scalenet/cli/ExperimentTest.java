package dev.scalenet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.io.Npy;
import dev.scalenet.io.NpyArray;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExperimentTest {
    /** The bundled Fashion-MNIST; tests run in the module directory, one level below the repository root. */
    private static final Path FASHION_MNIST = Path.of("../data/fashion-mnist").toAbsolutePath().normalize();

    @Test
    @DisplayName("--arms picks the named arms, in the order given, in any case")
    void armsInOrder() {
        assertEquals(List.of(Experiment.Arm.SCALENET, Experiment.Arm.BASE_MORE), Experiment.arms("scalenet, BASE_MORE"));
    }

    @Test
    @DisplayName("base_2e, the convergence check, continues the trained base for E more epochs")
    void baseTwoE() {
        assertEquals(List.of(Experiment.Arm.BASE_2E), Experiment.arms("base_2e"));
        assertTrue(Experiment.Arm.BASE_2E.fromBase());
        assertEquals(3, Experiment.Arm.BASE_2E.thirds);
        assertTrue(!Experiment.Arm.BASE_2E.deep());
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
    @DisplayName("mean and sample standard deviation (n - 1) over seeds; one seed has no spread, shown as n/a, not 0")
    void meanAndStd() {
        assertEquals(2.0, Experiment.mean(new double[] {1, 2, 3}));
        assertEquals(1.0, Experiment.std(new double[] {1, 2, 3}), 1e-12);
        assertEquals("2.00 ± 1.00%", Experiment.meanStd(new double[] {1, 2, 3}));
        assertTrue(Double.isNaN(Experiment.std(new double[] {5})));
        assertEquals("5.00% ± n/a", Experiment.meanStd(new double[] {5}));
    }

    @Test
    @DisplayName("an arm grown from a base whose result was kept without its model says which result.json to delete")
    void baseResultWithoutItsModel(@TempDir Path out) throws Exception {
        Experiment.run(tiny(out, "base", false, 1e-3));
        Path result = out.resolve("seed0/base/result.json");
        JsonNode first = new ObjectMapper().readTree(result.toFile());
        Files.delete(out.resolve("seed0/base/model.zip"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Experiment.run(tiny(out, "base,scalenet", false, 1e-3)));
        assertTrue(e.getMessage().startsWith("scalenet (seed 0) starts from this seed's trained base, but ")
                && e.getMessage().contains(result + " does: delete that result.json"), e.getMessage());

        Files.delete(result);
        Experiment.run(tiny(out, "base,scalenet", false, 1e-3));
        JsonNode again = new ObjectMapper().readTree(result.toFile());
        for (String key : List.of("validationTop1PerEpoch", "validation")) assertEquals(first.get(key), again.get(key), key);
        assertTrue(Files.isRegularFile(out.resolve("seed0/base/model.zip")) && Files.isRegularFile(out.resolve("seed0/scalenet/result.json")));
    }

    @Test
    @DisplayName("depth at about equal compute is paired: scratch 2L for E minus base L for 2E, seed by seed on validation")
    void depthAtEqualComputeIsPaired(@TempDir Path out) throws Exception {
        Experiment.run(tiny(out, "base,base_2e,scratch_full", false, 3e-3));
        ObjectMapper json = new ObjectMapper();
        double scratch = json.readTree(out.resolve("seed0/scratch_full/result.json").toFile()).get("validation").get("top1").asDouble();
        double base2e = json.readTree(out.resolve("seed0/base_2e/result.json").toFile()).get("validation").get("top1").asDouble();
        assertNotEquals(scratch, base2e, "the two runs must differ for the difference below to say anything");
        JsonNode pair = null;
        for (JsonNode p : json.readTree(out.resolve("results.json").toFile()).get("paired")) {
            if (p.get("a").asText().equals("scratch_full") && p.get("b").asText().equals("base_2e")) pair = p;
        }
        assertTrue(pair != null, "no (scratch_full, base_2e) pair in results.json");
        // the paired difference is the two runs' difference in points, up to the rounding of one subtraction
        assertEquals(100 * scratch - 100 * base2e, pair.get("validation").get("meanDifference").asDouble(), 1e-9);
        assertTrue(Files.readString(out.resolve("results.md")).contains("**scratch 2L, E minus base L, E + E (2E)** (points)"));
    }

    /** A tiny experiment: 256 training images, 128 held out, width 32, L = 2, batch 64, E = 3 epochs. */
    private static Experiment.Settings tiny(Path out, String arms, boolean finalTest, double learningRate) {
        return new Experiment.Settings(3, 1, 0, 8, arms, FASHION_MNIST, out, 32, 2, 2, null, 128, 256, null, finalTest,
                Experiment.RECIPE.toBuilder().batchSize(64).checkpointEvery(0).learningRate(learningRate).build());
    }

    @Test
    @DisplayName("a tiny experiment: the base trains E, grown arms start from it; finished runs are skipped; --final adds the test set once")
    void tinyExperimentResumesAndAggregates(@TempDir Path out) throws Exception {
        Experiment.run(tiny(out, "base,base_more,scalenet_fp,untied", false, 1e-3));
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
        Experiment.run(tiny(out, "base,base_more,scalenet_fp,untied", true, 1e-3));
        JsonNode again = json.readTree(out.resolve("seed0/base/result.json").toFile());
        assertEquals(base.get("validation"), again.get("validation"), "a finished run is not trained again");
        assertTrue(again.get("test").get("examples").asLong() == 10_000, "--final evaluates on the official test set");
        assertTrue(Files.getLastModifiedTime(out.resolve("seed0/base/result.json")).toMillis() >= before);

        // every test-evaluated run keeps its per-image predictions: [10000, 2] of (predicted, label), whose
        // agreement is the run's test top-1
        NpyArray predictions = Npy.read(out.resolve("seed0/base/" + Experiment.PREDICTIONS));
        assertArrayEquals(new long[] {10_000, 2}, predictions.shape());
        boolean[] right = Experiment.correct(out.resolve("seed0/base/" + Experiment.PREDICTIONS));
        long hits = 0;
        for (boolean r : right) if (r) hits++;
        assertEquals(again.get("test").get("top1").asDouble(), hits / 10_000.0, 1e-12);
        // the aggregation pairs the runs: the grown arms against the control, with McNemar per seed
        String paired = Files.readString(out.resolve("results.md"));
        assertTrue(paired.contains("**ScaleNet 2L, E/3, function-preserving minus base L, E + E/3** (points)")
                && paired.contains("McNemar exact p"), paired);
        JsonNode first = json.readTree(out.resolve("results.json").toFile()).get("paired").get(0);
        assertEquals("scalenet_fp", first.get("a").asText());
        assertEquals("base_more", first.get("b").asText());
        // one seed: the results claim no spread, neither per arm nor per pair
        JsonNode arms = json.readTree(out.resolve("results.json").toFile()).get("arms");
        assertEquals(1, arms.get(0).get("seeds").asInt());
        assertTrue(!arms.get(0).has("validationStd") && !arms.get(0).has("testStd"), arms.get(0).toString());
        assertTrue(!first.get("validation").has("std") && !first.get("test").has("std"), first.toString());
        assertTrue(paired.contains("% ± n/a |") && !paired.contains("± 0.00%"), paired);
        JsonNode mcnemar = first.get("mcnemar").get(0);
        assertEquals(10_000, mcnemar.get("bothRight").asLong() + mcnemar.get("onlyA").asLong()
                + mcnemar.get("onlyB").asLong() + mcnemar.get("bothWrong").asLong());

        InvalidSettingException other = assertThrows(InvalidSettingException.class,
                () -> Experiment.run(tiny(out, "base", false, 0.01)));
        assertEquals("--out", other.setting());
    }
}
