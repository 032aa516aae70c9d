package dev.scalenet.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.job.ExpandJob;
import dev.scalenet.train.TrainConfig;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The arguments of {@link SparkFineTune}, parsed strictly: {@code --option value} or {@code --option=value}, each
 * option at most once, every value checked; an unknown option, a missing or malformed value fails naming the option
 * and what it takes (as {@link InvalidSettingException}, whose setting is the option's name without {@code --}). The options are those of the {@code scalenet expand} command (growth) plus one per recipe
 * setting ({@code --epochs}, {@code --learningRate}, ...: the names of {@link TrainConfig#toJson()}).
 */
final class SparkArguments {
    /** The growth and job options: name, value label, meaning. */
    private static final Map<String, String[]> JOB = new LinkedHashMap<>();

    static {
        JOB.put("data", new String[] {"<dir>", "training data (IDX files or image folders) at a path the driver and every executor can read; required"});
        JOB.put("shipData", new String[] {"<true|false>", "the driver ships the training data to the executors (for executors that cannot read --data; at most "
                + (ShippedData.LIMIT_BYTES >> 20) + " MiB) (default: false)"});
        JOB.put("out", new String[] {"<dir>", "output folder on the driver: <name>.zip, report.json/.html, model.properties, <name>.run/; required"});
        JOB.put("model", new String[] {"<file>", "base model: timm .safetensors or model zip (default: the bundled vit_fmnist_d64_l4)"});
        JOB.put("config", new String[] {"<json>", "the base model's timm constructor / metadata JSON (default: beside the model)"});
        JOB.put("evalData", new String[] {"<dir>", "held-out data (default: the evaluation split beside --data, if any)"});
        Map<String, String> growth = ExpansionPlan.Builder.defaults(); // the library's defaults, shown as they are
        JOB.put("depth", new String[] {"<blocks>", "depth of the grown model; 0 doubles the base's (default: " + growth.get("depth") + ")"});
        JOB.put("strategy", new String[] {"<name>", "cyclic or interleave (default: " + growth.get("strategy") + ")"});
        JOB.put("order", new String[] {"<indices>", "an explicit order of source blocks, e.g. 0,1,2,3,3,2,1,0; replaces strategy and depth"});
        JOB.put("rank", new String[] {"<rank>", "rank of the adapters; 0 for none (default: " + growth.get("adapterRank") + "); also --adapterRank"});
        JOB.put("adapterPositions", new String[] {"<where>", "inserted or all (default: " + growth.get("adapterPositions") + ")"});
        JOB.put("functionPreserving", new String[] {"<true|false>", "grow without changing the function (default: " + growth.get("functionPreserving") + ")"});
        JOB.put("untiedBlocks", new String[] {"<true|false>", "inserted blocks get their own copies; needs trainable all (default: " + growth.get("untiedBlocks") + ")"});
        JOB.put("untiedNorms", new String[] {"<true|false>", "inserted blocks get their own norms (default: " + growth.get("untiedNorms") + ")"});
        JOB.put("name", new String[] {"<stem>", "file name stem of the model and the report's title (default: <base>-<plan shape>, e.g. vit_fmnist_d64_l4-cyclic-2x)"});
        JOB.put("onnx", new String[] {"<true|false>", "also write <name>.onnx, the expanded model as ONNX for serving (default: false)"});
        JOB.put("resume", new String[] {"<true|false>", "continue an interrupted run from its checkpoint (default: " + ExpandJob.DEFAULT_RESUME + ")"});
    }

    final Path data;
    final Path out;
    final Path model;
    final Path config;
    final Path evalData;
    final ExpansionPlan plan;
    final boolean resume;
    final boolean shipData;
    final String name;
    final boolean onnx;
    private final ObjectNode recipe;

    private SparkArguments(Map<String, String> given) {
        data = path(given, "data", true);
        out = path(given, "out", true);
        model = path(given, "model", false);
        config = path(given, "config", false);
        evalData = path(given, "evalData", false);
        // unset settings stay null: the library's builders hold the one default of each
        plan = ExpansionPlan.builder().strategy(given.get("strategy")).order(given.get("order"))
                .depth(whole(given, "depth"))
                .adapterRank(whole(given, "rank"))
                .adapterPositions(given.get("adapterPositions"))
                .functionPreserving(bool(given, "functionPreserving"))
                .untiedBlocks(bool(given, "untiedBlocks"))
                .untiedNorms(bool(given, "untiedNorms")).build();
        Boolean resumeGiven = bool(given, "resume");
        resume = resumeGiven != null ? resumeGiven : ExpandJob.DEFAULT_RESUME;
        shipData = Boolean.TRUE.equals(bool(given, "shipData"));
        name = given.get("name"); // null: the job's default
        onnx = Boolean.TRUE.equals(bool(given, "onnx"));
        recipe = TrainConfig.builder().build().toJson();
        recipe.remove("workers"); // Spark's parallelism unless given
        TrainConfig.builder().build().toJson().fields().forEachRemaining(setting -> {
            String v = given.get(setting.getKey());
            if (v != null) recipe.set(setting.getKey(), value(setting.getKey(), v, setting.getValue()));
        });
    }

    /**
     * Parses {@code args}.
     *
     * @throws InvalidSettingException naming the option when an argument is unknown, repeated, missing or malformed
     */
    /** The Maven plugin's parameter names, accepted for the options they match. */
    private static final Map<String, String> PLUGIN_NAMES = Map.of("baseModel", "model", "modelConfig", "config",
            "trainData", "data", "outputDirectory", "out", "adapterRank", "rank");

    static SparkArguments parse(String... args) {
        Map<String, String> given = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || a.length() == 2) {
                throw new InvalidSettingException("argument " + (i + 1), a, "an option --<name> <value>; the options are:\n" + usage());
            }
            int eq = a.indexOf('=');
            String spelled = eq > 0 ? a.substring(2, eq) : a.substring(2);
            String name = PLUGIN_NAMES.getOrDefault(spelled, spelled);
            if (!JOB.containsKey(name) && !TrainConfig.builder().build().toJson().has(name)) {
                throw new InvalidSettingException("option", a, "one of the options:\n" + usage());
            }
            String value;
            if (eq > 0) {
                value = a.substring(eq + 1);
            } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                value = args[++i];
            } else {
                throw new InvalidSettingException(name, "nothing", "a value " + label(name));
            }
            if (given.put(name, value) != null) throw new InvalidSettingException(name, value, "given once only");
        }
        return new SparkArguments(given);
    }

    /**
     * The recipe: the given settings over {@link TrainConfig}'s defaults, with {@code workers} (the Spark tasks of a
     * round) {@code sparkParallelism} unless given; checked by {@link TrainConfig}, and at least 2.
     */
    TrainConfig recipe(int sparkParallelism) {
        ObjectNode json = recipe.deepCopy();
        if (!json.has("workers")) json.put("workers", sparkParallelism);
        TrainConfig config = TrainConfig.fromJson(json).build();
        InvalidSettingException.require(config.workers() >= 2, "workers", config.workers(),
                "2 or more Spark tasks a round (with 1, train on one machine with the scalenet command instead)");
        return config;
    }

    /** Every option, one a line. */
    static String usage() {
        StringBuilder s = new StringBuilder();
        JOB.forEach((name, d) -> s.append(String.format(Locale.ROOT, "  --%-20s %-14s %s%n", name, d[0], d[1])));
        TrainConfig.builder().build().toJson().fields().forEachRemaining(e -> s.append(String.format(Locale.ROOT,
                "  --%-20s %-14s recipe: %s (default: %s)%n", e.getKey(), label(e.getKey()), e.getKey(),
                e.getKey().equals("workers") ? "Spark's default parallelism" : e.getValue().asText())));
        return s.toString();
    }

    private static String label(String name) {
        if (JOB.containsKey(name)) return JOB.get(name)[0];
        JsonNode v = TrainConfig.builder().build().toJson().get(name);
        return v.isBoolean() ? "<true|false>" : v.isIntegralNumber() ? "<whole number>" : v.isNumber() ? "<number>" : "<text>";
    }

    private static JsonNode value(String name, String text, JsonNode defaultValue) {
        if (defaultValue.isBoolean()) {
            if (!text.equals("true") && !text.equals("false")) throw new InvalidSettingException(name, text, "true or false");
            return com.fasterxml.jackson.databind.node.BooleanNode.valueOf(Boolean.parseBoolean(text));
        }
        if (!defaultValue.isNumber()) return com.fasterxml.jackson.databind.node.TextNode.valueOf(text);
        try {
            if (defaultValue.isIntegralNumber()) return com.fasterxml.jackson.databind.node.LongNode.valueOf(Long.parseLong(text));
            double d = Double.parseDouble(text);
            if (!Double.isFinite(d)) throw new NumberFormatException(text);
            return com.fasterxml.jackson.databind.node.DoubleNode.valueOf(d);
        } catch (NumberFormatException e) {
            throw new InvalidSettingException(name, text, "a " + label(name).replaceAll("[<>]", ""));
        }
    }

    private static Path path(Map<String, String> given, String name, boolean required) {
        String v = given.get(name);
        if (v == null && required) throw new InvalidSettingException(name, "nothing", "a path " + label(name) + ": " + JOB.get(name)[1]);
        if (v != null && v.isBlank()) throw new InvalidSettingException(name, v, "a path");
        return v == null ? null : Path.of(v);
    }

    private static Integer whole(Map<String, String> given, String name) {
        String v = given.get(name);
        if (v == null) return null;
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new InvalidSettingException(name, v, "a whole number");
        }
    }

    private static Boolean bool(Map<String, String> given, String name) {
        String v = given.get(name);
        if (v == null) return null;
        if (!v.equals("true") && !v.equals("false")) throw new InvalidSettingException(name, v, "true or false");
        return Boolean.parseBoolean(v);
    }
}
