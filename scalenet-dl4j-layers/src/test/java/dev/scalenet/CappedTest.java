package dev.scalenet;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.Collections;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;

class CappedTest {
    @Test
    @DisplayName("a short list is shown whole")
    void shortList() {
        assertEquals("[1, 2, 3]", Capped.list(new int[] {1, 2, 3}));
        assertEquals("[]", Capped.list(List.of()));
    }

    @Test
    @DisplayName("a long list shows its first items, then how many more there are")
    void longList() {
        int[] many = IntStream.range(0, 100_000).toArray();
        assertEquals("[0, 1, 2, 3, 4, 5, 6, 7, ... and 99992 more]", Capped.list(many));
    }

    @Test
    @DisplayName("lines: one indented line per shown item, the rest counted")
    void lines() {
        List<String> problems = Collections.nCopies(10, "missing tensor 'x'");
        String text = Capped.lines(problems);
        assertEquals(Capped.SHOWN + 1, text.split("\n  ", -1).length - 1);
        assertEquals("\n  ... and 2 more", text.substring(text.lastIndexOf("\n  ")));
    }
}
