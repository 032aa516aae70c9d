package dev.scalenet.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.InvalidSettingException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    @DisplayName("control is off by default and round-trips through the recipe's JSON, so it is part of every front end and of the configuration hash")
    void controlRoundTrips() {
        assertFalse(TrainConfig.builder().build().control());
        TrainConfig on = TrainConfig.builder().control(true).build();
        assertTrue(on.toJson().get("control").booleanValue());
        assertTrue(TrainConfig.fromJson(on.toJson()).build().control());
        assertFalse(on.equals(TrainConfig.builder().build()), "a recipe with the control differs from one without");
    }

    @Test
    @DisplayName("control reads JSON booleans and the text true/false a command line gives; anything else fails naming it")
    void controlParsing() {
        ObjectNode text = JSON.createObjectNode().put("control", "true");
        assertTrue(TrainConfig.fromJson(text).build().control());
        assertFalse(TrainConfig.fromJson(JSON.createObjectNode().put("control", false)).build().control());
        InvalidSettingException e = assertThrows(InvalidSettingException.class,
                () -> TrainConfig.fromJson(JSON.createObjectNode().put("control", "yes")));
        assertEquals("control", e.setting());
        assertTrue(e.getMessage().contains("true or false"), e.getMessage());
    }

    @Test
    @DisplayName("an int setting beyond an int is refused naming it, not wrapped round to another number")
    void intSettingsDoNotWrap() {
        InvalidSettingException e = assertThrows(InvalidSettingException.class,
                () -> TrainConfig.fromJson(JSON.createObjectNode().put("batchSize", 4294967424L))); // 2^32 + 128
        assertEquals("batchSize = 4294967424: expected a whole number up to 2147483647", e.getMessage());
        assertEquals(2147483647, TrainConfig.fromJson(JSON.createObjectNode().put("trainLimit", 2147483647L)).build().trainLimit());
        assertEquals(3_000_000_000L, TrainConfig.fromJson(JSON.createObjectNode().put("steps", 3_000_000_000L)).build().steps(),
                "steps is a long");
    }
}
