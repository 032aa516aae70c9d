package dev.scalenet.expand;

import dev.scalenet.InvalidSettingException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The plan the front ends build from named settings: defaults, parsing, and errors that name the setting. */
class ExpansionPlanBuilderTest {

    @Test
    @DisplayName("nothing set: a cyclic doubling with rank-8 adapters on inserted blocks, shared and not function-preserving")
    void defaults() {
        ExpansionPlan p = ExpansionPlan.builder().build();
        assertEquals(ExpansionPlan.Strategy.CYCLIC, p.strategy());
        assertArrayEquals(new int[] {0, 1, 2, 3, 0, 1, 2, 3}, p.resolveOrder(4));
        assertEquals(ExpansionPlan.DEFAULT_ADAPTER_RANK, p.adapterRank());
        assertEquals(ExpansionPlan.AdapterPositions.INSERTED, p.adapterPositions());
        assertTrue(p.functionPreserving(), "the recommended start: zero gates, the grown model starts as the base");
        assertFalse(p.untiedBlocks() || p.untiedNorms());
        assertEquals(java.util.Map.of("strategy", "cyclic", "depth", "0", "adapterRank", "8", "adapterPositions", "inserted",
                "functionPreserving", "true", "untiedBlocks", "false", "untiedNorms", "false"), ExpansionPlan.Builder.defaults(),
                "the defaults the front ends show");
        assertEquals(ExpansionPlan.cyclic(ExpansionPlan.DOUBLE_DEPTH).seed(), p.seed());
    }

    @Test
    @DisplayName("every setting reaches the plan")
    void settings() {
        ExpansionPlan p = ExpansionPlan.builder().strategy("Interleave").depth(6).adapterRank(2).adapterPositions("all")
                .functionPreserving(true).untiedBlocks(true).untiedNorms(true).seed(7L).build();
        assertArrayEquals(new int[] {0, 0, 1, 2, 2, 3}, p.resolveOrder(4));
        assertEquals(2, p.adapterRank());
        assertEquals(ExpansionPlan.AdapterPositions.ALL, p.adapterPositions());
        assertTrue(p.functionPreserving() && p.untiedBlocks() && p.untiedNorms());
        assertEquals(7L, p.seed());
    }

    @Test
    @DisplayName("an order, in brackets or not, replaces strategy and depth; a depth of its length or none is accepted")
    void order() {
        assertArrayEquals(new int[] {0, 1, 1, 2, 3, 3},
                ExpansionPlan.builder().order("[0, 1, 1, 2, 3, 3]").strategy("interleave").build().resolveOrder(4));
        assertArrayEquals(new int[] {3, 2, 1, 0, 0}, ExpansionPlan.builder().order("3 2 1 0 0").depth(5).build().resolveOrder(4));
        assertEquals(ExpansionPlan.Strategy.CYCLIC, ExpansionPlan.builder().order(" ").build().strategy(), "blank: no order");
    }

    @Test
    @DisplayName("bad values name their setting, the value and what is allowed")
    void errors() {
        InvalidSettingException depth = assertThrows(InvalidSettingException.class,
                () -> ExpansionPlan.builder().order("0,1,1,2,3,3").depth(8).build());
        assertEquals("depth", depth.setting());
        assertEquals("8", depth.value());
        assertEquals("nothing, or the length of the order (6)", depth.expected());
        InvalidSettingException order = assertThrows(InvalidSettingException.class,
                () -> ExpansionPlan.builder().order("0,1,two").build());
        assertEquals("order", order.setting());
        assertTrue(order.expected().endsWith("('two' is not a whole number)"), order.expected());
        assertEquals("strategy", assertThrows(InvalidSettingException.class,
                () -> ExpansionPlan.builder().strategy("spiral").build()).setting());
        assertEquals("adapterPositions", assertThrows(InvalidSettingException.class,
                () -> ExpansionPlan.builder().adapterPositions("everywhere").build()).setting());
        assertEquals("adapterRank", assertThrows(InvalidSettingException.class,
                () -> ExpansionPlan.builder().adapterRank(-1).build()).setting());
    }
}
