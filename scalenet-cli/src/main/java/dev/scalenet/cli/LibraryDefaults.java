package dev.scalenet.cli;

import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.job.ExpandJob;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The growth settings' and {@code resume}'s defaults, taken from the library that declares them
 * ({@link ExpansionPlan.Builder#defaults()}, {@link ExpandJob#DEFAULT_RESUME}), so the command line shows and uses the
 * plugin's and the Spark job's defaults and cannot drift from them. Recipe options take theirs from
 * {@link RecipeOptions}.
 */
final class LibraryDefaults implements IDefaultValueProvider {
    private static final Map<String, String> DEFAULTS = new LinkedHashMap<>(ExpansionPlan.Builder.defaults());

    static {
        DEFAULTS.put("rank", DEFAULTS.get("adapterRank"));
        DEFAULTS.put("resume", String.valueOf(ExpandJob.DEFAULT_RESUME));
    }

    @Override
    public String defaultValue(ArgSpec argSpec) {
        if (!(argSpec instanceof OptionSpec option)) return null;
        for (String name : option.names()) {
            String d = DEFAULTS.get(name.replaceFirst("^--", ""));
            if (d != null) return d;
        }
        return null;
    }
}
