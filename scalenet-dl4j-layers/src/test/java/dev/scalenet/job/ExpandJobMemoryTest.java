package dev.scalenet.job;

import dev.scalenet.data.FashionMnist;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.train.MemoryCheck;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.vit.TimmFixtures;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The expand job's memory check: it runs before the fine-tuning and fails it with nothing written. */
class ExpandJobMemoryTest {
    private static final TimmFixtures.Model MICRO = TimmFixtures.models().stream()
            .filter(m -> m.name.equals("vit-micro-p7-d4")).findFirst().orElseThrow();

    @TempDir
    Path dir;

    private final List<String> log = new ArrayList<>();

    /** A machine with {@code mb} MB, of which ND4J may use all, on the CPU backend. */
    private MemoryCheck machine(long mb) {
        return new MemoryCheck(new MemoryCheck.Limits(mb << 20, mb << 20, 1L << 30, 0, "CpuBackend", true), log::add);
    }

    private ExpandJob.Builder job(Path out, TrainConfig recipe, MemoryCheck check) {
        return ExpandJob.builder().baseModel(MICRO.weights()).baseModelJson(MICRO.constructorJson())
                .plan(ExpansionPlan.cyclic(8)).outputDir(out).name("micro-x8").recipe(recipe).trainData(FashionMnist.dir())
                .memoryCheck(check);
    }

    private static TrainConfig.Builder recipe() {
        return TrainConfig.builder().epochs(1).batchSize(16).trainLimit(32).evalLimit(16).seed(1);
    }

    @Test
    @DisplayName("a step that cannot fit fails before the first evaluation, naming batchSize and recompute; no output, no run folder, no folder it made")
    void failsEarlyWritingNothing() throws Exception {
        Path fresh = dir.resolve("fresh");
        MemoryCheck.DoesNotFitException e = assertThrows(MemoryCheck.DoesNotFitException.class,
                () -> job(fresh, recipe().build(), machine(64)).build().run());
        assertEquals("batchSize", e.setting());
        assertTrue(e.getMessage().contains("at batch 16 (recompute off) is over the 64 MB this machine has; lower batchSize")
                && e.getMessage().contains("or set recompute (the estimate with it: "), e.getMessage());
        assertFalse(Files.exists(fresh), "the folder the lock made is removed again");
        assertTrue(log.get(0).startsWith("memory: expected peak ") && log.get(0).contains("at batch 16, recompute off"), log.toString());

        Path existing = Files.createDirectories(dir.resolve("existing"));
        assertThrows(MemoryCheck.DoesNotFitException.class, () -> job(existing, recipe().build(), machine(64)).build().run());
        try (Stream<Path> left = Files.list(existing)) {
            assertEquals(List.of(), left.toList(), "nothing written, the lock file removed");
        }
    }

    @Test
    @DisplayName("memoryCheck false: the estimate is logged as over, and the job trains and writes its outputs")
    void escapeHatch() throws Exception {
        Path out = dir.resolve("out");
        job(out, recipe().memoryCheck(false).build(), machine(64)).build().run();
        assertTrue(Files.isRegularFile(out.resolve("micro-x8.zip")));
        assertTrue(log.stream().anyMatch(l -> l.contains("is over the 64 MB this machine has") && l.endsWith("memoryCheck is false, so training starts anyway")),
                log.toString());
    }

    @Test
    @DisplayName("expanding without training data checks nothing")
    void expandOnlyIsNotChecked() throws Exception {
        Path out = dir.resolve("out");
        ExpandJob.builder().baseModel(MICRO.weights()).baseModelJson(MICRO.constructorJson()).plan(ExpansionPlan.cyclic(8))
                .outputDir(out).name("micro-x8").memoryCheck(machine(1)).build().run();
        assertTrue(Files.isRegularFile(out.resolve("micro-x8.zip")));
        assertEquals(List.of(), log);
    }
}
