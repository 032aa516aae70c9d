package dev.scalenet.cli;

import dev.scalenet.InvalidSettingException;
import dev.scalenet.Version;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;

/**
 * The {@code scalenet} command: {@code java -jar scalenet-cli-<version>.jar <subcommand> [options]}, each
 * subcommand with {@code --help}. Parsing is strict: an unknown option, a malformed number or a boolean other than
 * {@code true}/{@code false} is an error naming the option (exit code 2); a setting that cannot work is too.
 * Failures while running (a missing file, a bad dataset) print their message and exit with 1.
 */
@Command(name = "scalenet", mixinStandardHelpOptions = true, versionProvider = ScaleNetCli.VersionProvider.class,
        description = "Grow pretrained Vision Transformers in depth with ScaleNet, on Deeplearning4j.",
        subcommands = {ExpandCommand.class, TrainCommand.class, EvaluateCommand.class, PredictCommand.class,
                FeaturesCommand.class, ExportCommand.class, ExperimentCommand.class, SplitCommand.class},
        commandListHeading = "%nCommands:%n", footer = {"", "Run 'scalenet <command> --help' for a command's options."})
public final class ScaleNetCli implements Runnable {
    @CommandLine.Spec
    CommandSpec spec;

    /** Runs the command line and exits with its code. */
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line, with every subcommand's recipe options added and the project's error handling. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new ScaleNetCli());
        for (CommandLine sub : cli.getSubcommands().values()) {
            sub.getCommandSpec().versionProvider(new VersionProvider()); // 'scalenet <command> -V' too
            if (sub.getCommand() instanceof RecipeOptions.WithRecipe r) {
                RecipeOptions.addTo(sub.getCommandSpec(), r.recipeDefaults());
            }
        }
        cli.setExecutionExceptionHandler(ScaleNetCli::failed);
        return cli;
    }

    /** A setting that cannot work is a usage error naming the option; anything else a plain failure. */
    private static int failed(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        PrintWriter err = cmd.getErr();
        if (e instanceof InvalidSettingException s) {
            String option = s.setting().startsWith("--") ? s.setting() : "--" + s.setting();
            err.println(cmd.getColorScheme().errorText("Invalid value for option '" + option + "': " + s.value()
                    + ": expected " + s.expected()));
            err.println("Run '" + cmd.getCommandSpec().qualifiedName() + " --help' for the options.");
            return cmd.getCommandSpec().exitCodeOnInvalidInput();
        }
        err.println(cmd.getColorScheme().errorText(cmd.getCommandSpec().qualifiedName() + ": " + e.getMessage()));
        return cmd.getCommandSpec().exitCodeOnExecutionException();
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "give a command: "
                + String.join(", ", spec.subcommands().keySet()));
    }

    /** The library's version. */
    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"scalenet " + Version.library()};
        }
    }
}
