package dev.scalenet.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class CheckpointTest {
    private static Tensor scalar(String name) {
        return Tensor.of(name, new long[0], new float[] {1});
    }

    @Test
    @DisplayName("tensors are ordered by name as strings (blocks.10 before blocks.2), whatever order they came in")
    void orderedByName() {
        Checkpoint c = new Checkpoint(null, List.of(scalar("blocks.2.w"), scalar("blocks.10.w"), scalar("a")), Map.of());
        assertEquals(List.of("a", "blocks.10.w", "blocks.2.w"), new ArrayList<>(c.names()));
        assertEquals(List.of("a", "blocks.10.w", "blocks.2.w"), new ArrayList<>(c.asMap().keySet()));
        assertEquals(3, c.size());
        assertNull(c.source());
    }

    @Test
    @DisplayName("find() is empty for a missing name; require() returns the tensor")
    void findAndRequire() {
        Tensor a = scalar("a");
        Checkpoint c = new Checkpoint(null, List.of(a), Map.of());
        assertSame(a, c.find("a").orElseThrow());
        assertFalse(c.find("b").isPresent());
        assertSame(a, c.require("a"));
    }

    @Test
    @DisplayName("require() of a missing name names it, the file, and up to ten of the names present")
    void requireMissingListsNames() {
        List<Tensor> tensors = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            tensors.add(scalar("t" + (char) ('a' + i)));
        }
        Path file = Path.of("/models/vit.safetensors");
        Checkpoint c = new Checkpoint(file, tensors, Map.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.require("head.weight"));
        String m = e.getMessage();
        assertTrue(m.startsWith("tensor 'head.weight' not found in " + file.toAbsolutePath() + "; it has: ta, tb, "), m);
        assertTrue(m.contains("tj") && !m.contains("tk") && m.contains("(12 in all)"), m);
    }

    @Test
    @DisplayName("views are unmodifiable and metadata keeps its order")
    void unmodifiable() {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("source", "timm");
        metadata.put("format", "pt");
        Checkpoint c = new Checkpoint(null, List.of(scalar("a")), metadata);
        metadata.put("late", "x");
        assertEquals(List.of("source", "format"), new ArrayList<>(c.metadata().keySet()));
        assertThrows(UnsupportedOperationException.class, () -> c.asMap().remove("a"));
        assertThrows(UnsupportedOperationException.class, () -> c.names().clear());
        assertThrows(UnsupportedOperationException.class, () -> c.metadata().put("k", "v"));
    }

    @Test
    @DisplayName("two tensors with the same name are rejected")
    void duplicateNames() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Checkpoint(null, List.of(scalar("a"), scalar("a")), Map.of()));
        assertTrue(e.getMessage().contains("'a'"), e.getMessage());
    }
}
