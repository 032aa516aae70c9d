package dev.scalenet.train;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The learning rate per step: linear warm-up to the peak, then a cosine to the floor at the last step. */
class WarmupCosineScheduleTest {
    private final WarmupCosineSchedule schedule = new WarmupCosineSchedule(1e-3, 1e-5, 10, 110);

    @Test
    @DisplayName("warm-up rises linearly from the floor and reaches the peak at its last step")
    void warmup() {
        assertEquals(1e-5 + (1e-3 - 1e-5) / 10, schedule.valueAt(0, 0), 1e-15);
        assertEquals(1e-5 + (1e-3 - 1e-5) * 5 / 10, schedule.valueAt(4, 0), 1e-15);
        assertEquals(1e-3, schedule.valueAt(9, 0), 1e-15);
    }

    @Test
    @DisplayName("after warm-up: the peak, half-way down at the middle, the floor at the last step, never below")
    void cosine() {
        assertEquals(1e-3, schedule.valueAt(10, 0), 1e-15);
        // 100 decay steps: t = (i - 10) / 99; t = 0.5 lies between steps 59 and 60
        double mid = (schedule.valueAt(59, 0) + schedule.valueAt(60, 0)) / 2;
        assertEquals((1e-3 + 1e-5) / 2, mid, 1e-7);
        assertEquals(1e-5, schedule.valueAt(109, 0), 1e-15);
        assertEquals(1e-5, schedule.valueAt(500, 0), 1e-15);
        for (int i = 10; i < 109; i++) {
            assertTrue(schedule.valueAt(i + 1, 0) <= schedule.valueAt(i, 0), "decays monotonically at step " + i);
        }
    }

    @Test
    @DisplayName("no warm-up starts at the peak; a one-step schedule is its floor")
    void edges() {
        assertEquals(2e-3, new WarmupCosineSchedule(2e-3, 0, 0, 50).valueAt(0, 0), 1e-15);
        assertEquals(0.0, new WarmupCosineSchedule(2e-3, 0, 0, 1).valueAt(0, 0), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> new WarmupCosineSchedule(1e-3, 0, 20, 10));
    }
}
