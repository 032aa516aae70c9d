package dev.scalenet.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.io.AtomicFiles;
import dev.scalenet.io.Json;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A run's metrics as JSON lines: {@code {"event":"train","step":…}} while training and
 * {@code {"event":"eval",…}} after each evaluation. Appended and flushed line by line so it can be followed
 * while a run goes; on resume, lines past the checkpoint's step (and a line cut short by a kill) are dropped.
 */
public final class MetricsLog implements Closeable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final List<JsonNode> lines = new ArrayList<>();
    private final BufferedWriter out;

    private MetricsLog(Path file, List<JsonNode> kept) throws IOException {
        this.file = file;
        this.lines.addAll(kept);
        StringBuilder text = new StringBuilder();
        for (JsonNode line : kept) text.append(JSON.writeValueAsString(line)).append('\n');
        AtomicFiles.writeString(file, text.toString());
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    }

    /** Starts {@code file} afresh. */
    public static MetricsLog create(Path file) throws IOException {
        return new MetricsLog(file, Collections.emptyList());
    }

    /** Keeps the lines of {@code file} up to and including {@code step}, then appends. */
    public static MetricsLog resume(Path file, long step) throws IOException {
        return new MetricsLog(file, read(file, step));
    }

    /** The well-formed lines of a metrics file with {@code step <= maxStep}. */
    public static List<JsonNode> read(Path file, long maxStep) throws IOException {
        List<JsonNode> kept = new ArrayList<>();
        if (!Files.exists(file)) return kept;
        for (String text : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            JsonNode line;
            try {
                line = Json.parse(text);
            } catch (IOException cutShort) {
                break; // the process was killed mid-line: everything after is unreliable
            }
            if (line != null && line.has("step") && line.get("step").asLong() <= maxStep) kept.add(line);
        }
        return kept;
    }

    public void write(ObjectNode line) throws IOException {
        lines.add(line);
        out.write(JSON.writeValueAsString(line));
        out.write('\n');
        out.flush();
    }

    /** Every line so far, oldest first. */
    public List<JsonNode> lines() {
        return Collections.unmodifiableList(lines);
    }

    public Path file() {
        return file;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
