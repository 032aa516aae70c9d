package dev.scalenet.io;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("a valid value reads as Jackson reads it, from text, bytes and a file")
    void validReads() throws IOException {
        String text = "{\"a\": [1, 2], \"b\": {\"c\": \"d\"}}\n";
        JsonNode node = Json.parse(text);
        assertEquals(2, node.get("a").get(1).intValue());
        assertEquals("d", node.get("b").get("c").textValue());
        assertEquals(node, Json.parse(text.getBytes(StandardCharsets.UTF_8)));
        assertEquals(node, Json.read(Files.writeString(dir.resolve("ok.json"), text)));
    }

    @Test
    @DisplayName("empty or blank text is the missing node, for the caller to say what it expected")
    void emptyIsMissing() throws IOException {
        assertTrue(Json.parse("").isMissingNode());
        assertTrue(Json.parse(" \n").isMissingNode());
        assertTrue(Json.read(Files.writeString(dir.resolve("empty.json"), "")).isMissingNode());
    }

    @Test
    @DisplayName("a key given twice is refused, naming the key and where the second one is, at any depth")
    void duplicateKey() {
        JsonFormatException top = assertThrows(JsonFormatException.class, () -> Json.parse("{\"num_classes\": 10, \"num_classes\": 1000}"));
        assertEquals("the key 'num_classes' appears a second time at line 1, column 34: expected each key once", top.getMessage());
        JsonFormatException nested = assertThrows(JsonFormatException.class,
                () -> Json.parse("{\"cfg\": {\"mean\": [0.5],\n \"mean\": [0.1]}}".getBytes(StandardCharsets.UTF_8)));
        assertTrue(nested.getMessage().startsWith("the key 'mean' appears a second time at line 2, column "), nested.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "'{\"a\": 1} {\"a\": 2}' | 10", // a second value
            "'[1, 2] 3' | 8",               // a number after an array
    })
    @DisplayName("a second value after the first is refused, saying where it starts")
    void trailingValue(String text, int column) {
        JsonFormatException e = assertThrows(JsonFormatException.class, () -> Json.parse(text));
        assertEquals("content after the JSON value at line 1, column " + column + ": expected one value and nothing after it",
                e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "'{\"a\": 1}}' | Unexpected close marker '}'",
            "'{\"a\": 1} garbage' | Unrecognized token 'garbage'",
    })
    @DisplayName("content after the value that is not even JSON is refused as content after the value, with the parser's word for it")
    void trailingGarbage(String text, String parserSays) {
        JsonFormatException e = assertThrows(JsonFormatException.class, () -> Json.parse(text));
        assertTrue(e.getMessage().startsWith("content after the JSON value (" + parserSays), e.getMessage());
        assertTrue(e.getMessage().endsWith(": expected one value and nothing after it"), e.getMessage());
    }

    @Test
    @DisplayName("nesting deeper than MAX_DEPTH is refused, not walked")
    void nestingBound() throws IOException {
        assertEquals(Json.MAX_DEPTH, depth(Json.parse("[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH))));
        String deeper = "[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1);
        JsonFormatException e = assertThrows(JsonFormatException.class, () -> Json.parse(deeper));
        // the position is where the parser stands: just past the opening bracket one level too deep
        assertEquals("nested deeper than " + Json.MAX_DEPTH + " levels at line 1, column " + (Json.MAX_DEPTH + 2)
                + ": expected at most " + Json.MAX_DEPTH, e.getMessage());
    }

    @Test
    @DisplayName("Jackson's other read limits keep their own message: a 1,001-digit number is not called too deep")
    void otherLimitsAreNotNesting() {
        JsonFormatException e = assertThrows(JsonFormatException.class, () -> Json.parse("{\"a\": " + "1".repeat(1001) + "}"));
        assertTrue(e.getMessage().startsWith("Number value length (1001) exceeds the maximum allowed"), e.getMessage());
    }

    @Test
    @DisplayName("bytes that are not text in the encoding they announce are a format error, from bytes and from a file")
    void notText() throws IOException {
        byte[] utf32 = {0, 0, 0, 0x7b, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0, 0, 0, 0x7d}; // '{', no character, '}'
        JsonFormatException e = assertThrows(JsonFormatException.class, () -> Json.parse(utf32));
        assertTrue(e.getMessage().startsWith("not text: "), e.getMessage());
        Path file = Files.write(dir.resolve("state.json"), utf32);
        IOException f = assertThrows(IOException.class, () -> Json.read(file));
        assertTrue(f.getMessage().startsWith(file.toAbsolutePath() + ": not valid JSON: not text: "), f.getMessage());
    }

    @Test
    @DisplayName("a file that is not valid JSON fails naming the file (absolute) and the problem; so does one that cannot be read")
    void fileErrorsNameTheFile() throws IOException {
        Path dup = Files.writeString(dir.resolve("config.json"), "{\"depth\": 4, \"depth\": 12}");
        IOException e = assertThrows(IOException.class, () -> Json.read(dup));
        assertEquals(dup.toAbsolutePath() + ": not valid JSON: the key 'depth' appears a second time at line 1, column 21:"
                + " expected each key once", e.getMessage());
        Path trailing = Files.writeString(dir.resolve("trailing.json"), "{\"depth\": 4}\n{\"depth\": 12}\n");
        e = assertThrows(IOException.class, () -> Json.read(trailing));
        assertEquals(trailing.toAbsolutePath() + ": not valid JSON: content after the JSON value at line 2, column 1:"
                + " expected one value and nothing after it", e.getMessage());
        Path missing = dir.resolve("missing.json");
        e = assertThrows(IOException.class, () -> Json.read(missing));
        assertEquals(missing.toAbsolutePath() + ": cannot be read: no such file", e.getMessage());
        e = assertThrows(IOException.class, () -> Json.read(dir));
        assertTrue(e.getMessage().startsWith(dir.toAbsolutePath() + ": cannot be read: "), e.getMessage());
    }

    private static int depth(JsonNode node) {
        int deepest = 0;
        for (JsonNode child : node) deepest = Math.max(deepest, depth(child));
        return node.isContainerNode() ? deepest + 1 : 0;
    }
}
