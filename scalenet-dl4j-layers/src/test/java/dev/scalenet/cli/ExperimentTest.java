package dev.scalenet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scalenet.InvalidSettingException;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

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
}
