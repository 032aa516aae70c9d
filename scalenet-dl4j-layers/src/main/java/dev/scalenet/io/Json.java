package dev.scalenet.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.MissingNode;

import java.io.CharConversionException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The one reader of JSON that comes from outside: model sidecars and metadata, timm constructor arguments, data
 * configs, checkpoint state, safetensors headers, reports and results read back. Jackson by default keeps the last of
 * two values for one key and ignores whatever follows the value, so one file could mean one thing here and another to
 * the tool (or person) that wrote or checked it; here both are refused, and nesting is bounded ({@value #MAX_DEPTH}
 * levels), so no file can exhaust the stack of whoever walks the tree. Empty text reads as the missing node, as Jackson
 * reads it, so each caller says what it expected instead.
 */
public final class Json {
    /** Deeper than any file the project reads, shallow enough for every recursive walk of the tree. */
    public static final int MAX_DEPTH = 64;
    private static final ObjectMapper STRICT = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).build())
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION) // messages quote no file content, on every Jackson
            .build(); // trailing content is checked below, not by FAIL_ON_TRAILING_TOKENS: one message whatever follows
    private static final String DUPLICATE = "Duplicate field '";
    private static final String ONE_VALUE = "expected one value and nothing after it";

    private Json() {}

    /** {@code text} as a tree; the exception says what is wrong and where, for the caller to name its source. */
    public static JsonNode parse(String text) throws JsonFormatException {
        return inMemory(() -> STRICT.createParser(text));
    }

    /** UTF-8 (or UTF-16/32, told by the first bytes) {@code bytes} as a tree; see {@link #parse(String)}. */
    public static JsonNode parse(byte[] bytes) throws JsonFormatException {
        return inMemory(() -> STRICT.createParser(bytes));
    }

    /**
     * The JSON file {@code file} as a tree. Every failure is an {@link IOException} naming the file (absolute):
     * {@code <file>: not valid JSON: <what and where>} or {@code <file>: cannot be read: <why>}.
     */
    public static JsonNode read(Path file) throws IOException {
        String where = file.toAbsolutePath().toString();
        try (InputStream in = Files.newInputStream(file)) {
            return tree(STRICT.createParser(in));
        } catch (JsonFormatException e) {
            throw new IOException(where + ": not valid JSON: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new IOException(where + ": cannot be read: " + reason(e), e);
        }
    }

    /** Opens a parser over text already in memory: nothing can fail there but the JSON itself. */
    private interface InMemory {
        JsonParser open() throws IOException;
    }

    private static JsonNode inMemory(InMemory source) throws JsonFormatException {
        try {
            return tree(source.open());
        } catch (JsonFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new IllegalStateException("reading text in memory cannot fail but as JSON", e);
        }
    }

    private static JsonNode tree(JsonParser parser) throws IOException {
        try (JsonParser p = parser) {
            JsonNode node;
            try {
                node = STRICT.readTree(p);
            } catch (JsonProcessingException e) {
                String problem = e.getOriginalMessage();
                if (e instanceof StreamConstraintsException && problem != null && problem.contains("nesting depth")) {
                    throw new JsonFormatException("nested deeper than " + MAX_DEPTH + " levels" + at(p.currentLocation())
                            + ": expected at most " + MAX_DEPTH, e);
                }
                if (problem != null && problem.startsWith(DUPLICATE) && p.currentName() != null) { // Jackson's name for it
                    throw new JsonFormatException("the key '" + p.currentName() + "' appears a second time" + at(e.getLocation())
                            + ": expected each key once", e);
                }
                throw new JsonFormatException(problem + at(e.getLocation()), e);
            } catch (CharConversionException e) { // bytes that are not text in the encoding their first bytes announce
                throw new JsonFormatException("not text: " + e.getMessage(), e);
            }
            if (node == null) return MissingNode.getInstance();
            try {
                if (p.nextToken() == null) return node;
            } catch (JsonProcessingException e) { // not even a token, but still something after the value
                throw new JsonFormatException("content after the JSON value (" + e.getOriginalMessage() + ")" + at(e.getLocation())
                        + ": " + ONE_VALUE, e);
            } catch (CharConversionException e) {
                throw new JsonFormatException("content after the JSON value that is not text (" + e.getMessage() + "): " + ONE_VALUE, e);
            }
            throw new JsonFormatException("content after the JSON value" + at(p.currentTokenLocation()) + ": " + ONE_VALUE, null);
        }
    }

    private static String at(JsonLocation where) {
        return where == null || where.getLineNr() < 1 ? "" : " at line " + where.getLineNr() + ", column " + where.getColumnNr();
    }

    private static String reason(IOException e) {
        if (e instanceof NoSuchFileException) return "no such file";
        if (e instanceof AccessDeniedException) return "access denied";
        if (e instanceof FileSystemException f && f.getReason() != null) return f.getReason();
        return String.valueOf(e.getMessage());
    }
}
