package dev.scalenet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.train.TrainConfig;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

import java.util.Iterator;
import java.util.Map;

/**
 * The training recipe as options: one {@code --<setting>} per {@link TrainConfig} setting ({@code --epochs},
 * {@code --learningRate}, ...), typed like the setting, so a malformed number fails naming its option. Generated from
 * the recipe's own list of settings, so a new setting is an option without further code.
 */
final class RecipeOptions {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A command whose options include the recipe settings. */
    interface WithRecipe {
        /** The recipe before any option, shown as the options' defaults. */
        TrainConfig recipeDefaults();
    }

    private RecipeOptions() {}

    static void addTo(CommandSpec spec, TrainConfig defaults) {
        for (Iterator<Map.Entry<String, JsonNode>> it = defaults.toJson().fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> setting = it.next();
            JsonNode v = setting.getValue();
            Class<?> type = v.isBoolean() ? boolean.class : v.isInt() ? int.class : v.isIntegralNumber() ? long.class
                    : v.isNumber() ? double.class : String.class;
            spec.addOption(OptionSpec.builder("--" + setting.getKey()).type(type).arity("1")
                    .paramLabel("<" + type.getSimpleName().toLowerCase(java.util.Locale.ROOT) + ">")
                    .description("recipe: " + setting.getKey() + " (default: " + v.asText() + ")").build());
        }
    }

    /** The defaults with every recipe option given on the command line applied; checked by {@link TrainConfig}. */
    static TrainConfig recipe(CommandSpec spec, TrainConfig defaults) {
        ObjectNode json = defaults.toJson();
        ParseResult parsed = spec.commandLine().getParseResult();
        for (Iterator<String> it = defaults.toJson().fieldNames(); it.hasNext(); ) {
            String setting = it.next();
            if (parsed.hasMatchedOption("--" + setting)) {
                json.set(setting, JSON.valueToTree(parsed.matchedOptionValue("--" + setting, null)));
            }
        }
        return TrainConfig.fromJson(json).build();
    }
}
