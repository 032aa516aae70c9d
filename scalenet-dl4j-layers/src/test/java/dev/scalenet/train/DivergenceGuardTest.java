package dev.scalenet.train;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** When a run counts as diverged, and what the message tells its user. */
class DivergenceGuardTest {
    @TempDir
    Path dir;

    private DivergenceGuard guard() {
        return new DivergenceGuard("tiny", 10, 5e-3, dir.resolve("checkpoint.zip"));
    }

    @Test
    @DisplayName("NaN or infinite loss or gradient norm diverge; a loss of 20 x ln(classes) or more has exploded")
    void whatDiverges() {
        DivergenceGuard g = guard();
        double exploded = 20 * Math.log(10); // 46.05
        assertNull(g.problem(2.3, 1e6), "a large but finite gradient is clipping's business, not divergence");
        assertNull(g.problem(Math.nextDown(exploded), 1));
        assertEquals("the loss exploded to 46.05", g.problem(exploded, 1));
        assertEquals("the loss became NaN", g.problem(Double.NaN, 1));
        assertEquals("the gradient norm became Infinity", g.problem(2.3, Double.POSITIVE_INFINITY));
        assertNull(new DivergenceGuard("binary", 1, 1e-3, dir).problem(20 * Math.log(2) - 1e-9, 0),
                "uniform guessing over at least 2 classes");
    }

    @Test
    @DisplayName("a diverged step names the run, step, epoch, cause, the checkpoint kept and the learning rate to lower")
    void stepMessage() throws Exception {
        TrainingDivergedException none = assertThrows(TrainingDivergedException.class,
                () -> guard().checkStep(7, 0, Double.NaN, 1));
        assertEquals(7, none.step());
        assertEquals("tiny: training stopped at step 7 (epoch 1): the loss became NaN; this step was not applied and no"
                + " checkpoint had been written yet. Lower learningRate (now 0.005) or set clipGradNorm.", none.getMessage());
        Files.writeString(dir.resolve("checkpoint.zip"), "kept");
        TrainingDivergedException kept = assertThrows(TrainingDivergedException.class,
                () -> guard().checkStep(25, 1, 100, 1));
        assertTrue(kept.getMessage().contains("(epoch 2): the loss exploded to 100.0; this step was not applied and the last"
                + " good checkpoint is kept in " + dir.resolve("checkpoint.zip")), kept.getMessage());
        assertDoesNotThrow(() -> guard().checkStep(8, 0, 2.3, 0.5));
    }

    @Test
    @DisplayName("rounds trained in parallel are checked once, at their last step, by the weights and the last loss")
    void roundsMessage() {
        TrainingDivergedException weights = assertThrows(TrainingDivergedException.class,
                () -> guard().checkRounds(10, 15, 0, false, 2.3));
        assertEquals(14, weights.step());
        assertTrue(weights.getMessage().contains("step 14 (epoch 1): the weights became non-finite; steps 10 to 14 ran in"
                + " parallel and are not saved"), weights.getMessage());
        TrainingDivergedException loss = assertThrows(TrainingDivergedException.class,
                () -> guard().checkRounds(10, 15, 0, true, Double.POSITIVE_INFINITY));
        assertTrue(loss.getMessage().contains("the loss became Infinity"), loss.getMessage());
        assertDoesNotThrow(() -> guard().checkRounds(10, 15, 0, true, 2.3));
    }
}
