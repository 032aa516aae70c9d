package dev.scalenet.cli;

import dev.scalenet.InvalidSettingException;
import dev.scalenet.data.Datasets;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.job.ExpandJob;
import dev.scalenet.job.Report;
import dev.scalenet.train.MemoryCheck;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.vit.Pretrained;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Expand a base ViT, fine-tune it, report before and after: the plugin's expand goal from the command line. Every
 * option is also accepted under the plugin parameter's name ({@code --adapterRank} for {@code --rank},
 * {@code --trainData} for {@code --data}, ...). Its defaults are the library's (the project's recommended growth and
 * recipe, {@link LibraryDefaults}), the same as the plugin's and the Spark job's.
 */
@Command(name = "expand", mixinStandardHelpOptions = true, sortOptions = false, defaultValueProvider = LibraryDefaults.class,
        description = {"Expands a base ViT with ScaleNet, fine-tunes it and reports held-out accuracy before and after.",
                "Writes <out>/<name>.zip, report.json, report.html and model.properties.",
                "Each option also takes the Maven plugin's parameter name (shown second)."})
final class ExpandCommand implements Callable<Integer>, RecipeOptions.WithRecipe {
    @Spec
    CommandSpec spec;

    @Option(names = {"--model", "--baseModel"}, paramLabel = "<file>", description = "base model: timm .safetensors or model zip (default: the bundled vit_fmnist_d64_l4)")
    Path model;

    @Option(names = {"--config", "--modelConfig"}, paramLabel = "<json>", description = "the base model's timm constructor / metadata JSON (default: beside the model)")
    Path config;

    @Option(names = "--depth", paramLabel = "<blocks>", description = "target depth; 0 doubles the base's (default: ${DEFAULT-VALUE})")
    Integer depth;

    @Option(names = "--strategy", paramLabel = "<name>", description = "cyclic or interleave (default: ${DEFAULT-VALUE})")
    String strategy;

    @Option(names = "--order", paramLabel = "<indices>", description = "an explicit order of source blocks, e.g. 0,1,2,3,3,2,1,0; replaces --strategy and --depth")
    String order;

    @Option(names = {"--rank", "--adapterRank"}, paramLabel = "<rank>", description = "adapter rank; 0 for pure weight sharing (default: ${DEFAULT-VALUE})")
    Integer rank;

    @Option(names = "--adapterPositions", paramLabel = "<where>",
            description = "adapters on the inserted blocks only, or on every position: inserted or all (default: ${DEFAULT-VALUE})")
    String adapterPositions;

    @Option(names = "--functionPreserving", arity = "1", paramLabel = "<true|false>",
            description = "inserted blocks start as the identity (zero LayerScale gates), so the grown model starts as the base (default: ${DEFAULT-VALUE})")
    Boolean functionPreserving;

    @Option(names = "--untiedBlocks", arity = "1", paramLabel = "<true|false>",
            description = "inserted blocks get their own copies of their source's tensors instead of sharing them; needs --trainable all (default: ${DEFAULT-VALUE})")
    Boolean untiedBlocks;

    @Option(names = "--untiedNorms", arity = "1", paramLabel = "<true|false>",
            description = "inserted blocks get their own LayerNorms (default: ${DEFAULT-VALUE})")
    Boolean untiedNorms;

    @Option(names = {"--data", "--trainData"}, paramLabel = "<dir>", defaultValue = "data/fashion-mnist",
            description = "training + held-out data (IDX files or image folders), or 'none' to expand only (default: ${DEFAULT-VALUE}, relative to the working directory)")
    String data;

    @Option(names = "--evalData", paramLabel = "<dir>", description = "held-out data (default: the evaluation split beside --data)")
    Path evalData;

    @Option(names = {"--out", "--outputDirectory"}, paramLabel = "<dir>", defaultValue = "target/scalenet", description = "output folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--name", paramLabel = "<stem>", description = "file name stem of the model and the report's title (default: <base>-<plan shape>, e.g. vit_fmnist_d64_l4-cyclic-2x or ...-order-0-1-2-3-3-2-1-0)")
    String name;

    @Option(names = "--resume", arity = "1", paramLabel = "<true|false>",
            description = "continue an interrupted fine-tuning from its checkpoint (default: ${DEFAULT-VALUE})")
    Boolean resume;

    @Option(names = "--onnx", arity = "1", paramLabel = "<true|false>", defaultValue = "false",
            description = "also write <name>.onnx, the expanded model as ONNX for serving (default: ${DEFAULT-VALUE})")
    boolean onnx;

    @Override
    public TrainConfig recipeDefaults() {
        return TrainConfig.builder().build();
    }

    @Override
    public Integer call() throws Exception {
        TrainConfig recipe = RecipeOptions.recipe(spec, recipeDefaults());
        ExpansionPlan plan = ExpansionPlan.builder().strategy(strategy).depth(depth).order(order).adapterRank(rank)
                .adapterPositions(adapterPositions).functionPreserving(functionPreserving).untiedBlocks(untiedBlocks)
                .untiedNorms(untiedNorms).build();
        Path trainData = data.equals("none") ? null : usableData("--data", Path.of(data));
        if (evalData != null) usableData("--evalData", evalData);
        Path base = model != null ? model : Pretrained.VIT_FMNIST_D64_L4.extract(out.resolve("base"));
        long t0 = System.nanoTime();
        ExpandJob job = ExpandJob.builder().baseModel(base).baseModelJson(config).outputDir(out).recipe(recipe)
                .resume(resume).onnx(onnx).trainData(trainData).evalData(evalData)
                .memoryCheck(MemoryCheck.thisMachine(spec.commandLine().getErr()::println))
                .toolVersion("scalenet-cli " + dev.scalenet.Version.library())
                .plan(plan).name(name).build();
        Report report = job.run();
        System.out.println();
        report.summary().forEach(System.out::println);
        System.out.printf(Locale.ROOT, "wrote       %s%n            %s (+ report.json, model.properties)%n",
                job.modelFile().toAbsolutePath(), out.resolve(Report.HTML_FILE).toAbsolutePath());
        if (onnx) System.out.printf(Locale.ROOT, "            %s%n", job.onnxFile().toAbsolutePath());
        System.out.printf(Locale.ROOT, "total       %.0f s%n", (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    /** Fails before any work, saying what is wrong with the folder, as {@code evaluate} does. */
    private static Path usableData(String option, Path dir) {
        Datasets.problem(dir).ifPresent(problem -> {
            throw new InvalidSettingException(option, dir, "a dataset folder (IDX files or image folders), or 'none' to expand only: "
                    + problem);
        });
        return dir;
    }
}
