package dev.scalenet.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.train.TrainConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * {@code --key value} command-line options. Options named like a {@link TrainConfig} setting
 * ({@code --epochs 3 --learningRate 1e-3}) form the training recipe; the rest are the command's own.
 */
final class Args {
    private final Map<String, String> options = new LinkedHashMap<>();

    Args(String[] args) {
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --key value pairs, got '" + args[i] + "'");
            }
            options.put(args[i].substring(2), args[++i]);
        }
    }

    boolean has(String key) {
        return options.containsKey(key);
    }

    String get(String key, String fallback) {
        return options.getOrDefault(key, fallback);
    }

    int getInt(String key, int fallback) {
        String v = options.get(key);
        try {
            return v == null ? fallback : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new InvalidSettingException(key, v, "an integer");
        }
    }

    /** A path option; relative paths also resolve against the project root when run from a module folder. */
    Path path(String key, String fallback) {
        String v = options.getOrDefault(key, fallback);
        return v == null ? null : resolve(v);
    }

    static Path resolve(String path) {
        Path p = Paths.get(path);
        if (p.isAbsolute() || Files.exists(p)) return p;
        Path parent = Paths.get("..").resolve(path);
        return Files.exists(parent) ? parent.normalize() : p;
    }

    /**
     * The recipe: {@code defaults} overridden by every option that names a recipe setting. Any option that is
     * neither a recipe setting nor in {@code own} is an error listing both.
     */
    TrainConfig recipe(TrainConfig defaults, Set<String> own) {
        ObjectNode json = defaults.toJson();
        for (Map.Entry<String, String> o : options.entrySet()) {
            if (own.contains(o.getKey())) continue;
            if (!json.has(o.getKey())) {
                throw new InvalidSettingException("--" + o.getKey(), o.getValue(), "one of this command's options "
                        + own + " or a recipe setting " + fieldNames(json));
            }
            json.set(o.getKey(), value(o.getValue()));
        }
        return TrainConfig.fromJson(json).build();
    }

    /** A number where the text is one, else the text: the recipe reader then checks the type. */
    private static com.fasterxml.jackson.databind.JsonNode value(String text) {
        try {
            return json().readTree(text).isNumber() ? json().readTree(text) : json().getNodeFactory().textNode(text);
        } catch (java.io.IOException notJson) {
            return json().getNodeFactory().textNode(text);
        }
    }

    private static String fieldNames(ObjectNode json) {
        StringBuilder s = new StringBuilder("[");
        json.fieldNames().forEachRemaining(f -> s.append(s.length() > 1 ? ", " : "").append(f));
        return s.append(']').toString();
    }

    static ObjectMapper json() {
        return new ObjectMapper();
    }
}
