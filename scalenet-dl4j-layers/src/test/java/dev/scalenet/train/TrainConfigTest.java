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
}
