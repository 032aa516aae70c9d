package dev.scalenet.cli;

import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.job.ExpandJob;
import dev.scalenet.job.Report;
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
 * Expand a base ViT, fine-tune it briefly, report before and after: the plugin's expand goal from the command line. Its
 * defaults are the library's (the paper's start, a short recipe at 5e-4); the README's main job sets its own recipe in
 * examples/quickstart/pom.xml.
 */
@Command(name = "expand", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Expands a base ViT with ScaleNet, fine-tunes it briefly and reports held-out accuracy before and after.",
                "Writes <out>/<name>.zip, report.json, report.html and model.properties."})
final class ExpandCommand implements Callable<Integer>, RecipeOptions.WithRecipe {
    /** A few minutes on two cores: 100 steps of 128 images. */
    static final TrainConfig SHORT = TrainConfig.builder().epochs(1).batchSize(128).trainLimit(12_800)
            .learningRate(5e-4).warmupEpochs(0.2).build();

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "<file>", description = "base model: timm .safetensors or model zip (default: the bundled vit_fmnist_d64_l4)")
    Path model;

    @Option(names = "--config", paramLabel = "<json>", description = "the base model's timm constructor / metadata JSON (default: beside the model)")
    Path config;

    @Option(names = "--depth", paramLabel = "<blocks>", defaultValue = "" + ExpansionPlan.DOUBLE_DEPTH,
            description = "target depth (default: twice the base depth)")
    int depth;

    @Option(names = "--strategy", paramLabel = "<name>", defaultValue = "cyclic", description = "cyclic or interleave (default: ${DEFAULT-VALUE})")
    String strategy;

    @Option(names = "--rank", paramLabel = "<rank>", defaultValue = "" + ExpansionPlan.DEFAULT_ADAPTER_RANK,
            description = "adapter rank (default: ${DEFAULT-VALUE})")
    int rank;

    @Option(names = "--adapterPositions", paramLabel = "<where>", defaultValue = "inserted",
            description = "adapters on the inserted blocks only, or on every position: inserted or all (default: ${DEFAULT-VALUE})")
    String adapterPositions;

    @Option(names = "--functionPreserving", arity = "1", paramLabel = "<true|false>", defaultValue = "false",
            description = "inserted blocks start as the identity (zero LayerScale gates), so the grown model starts as the base (default: ${DEFAULT-VALUE})")
    boolean functionPreserving;

    @Option(names = "--untiedBlocks", arity = "1", paramLabel = "<true|false>", defaultValue = "false",
            description = "inserted blocks get their own copies of their source's tensors instead of sharing them (default: ${DEFAULT-VALUE})")
    boolean untiedBlocks;

    @Option(names = "--untiedNorms", arity = "1", paramLabel = "<true|false>", defaultValue = "false",
            description = "inserted blocks get their own LayerNorms (default: ${DEFAULT-VALUE})")
    boolean untiedNorms;

    @Option(names = "--data", paramLabel = "<dir>", defaultValue = "data/fashion-mnist",
            description = "training + held-out data (IDX files or image folders), or 'none' to expand only (default: ${DEFAULT-VALUE})")
    String data;

    @Option(names = "--out", paramLabel = "<dir>", defaultValue = "target/scalenet", description = "output folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--resume", arity = "1", paramLabel = "<true|false>", defaultValue = "false",
            description = "continue an interrupted fine-tuning from its checkpoint (default: ${DEFAULT-VALUE})")
    boolean resume;

    @Option(names = "--onnx", arity = "1", paramLabel = "<true|false>", defaultValue = "false",
            description = "also write <name>.onnx, the expanded model as ONNX for serving (default: ${DEFAULT-VALUE})")
    boolean onnx;

    @Override
    public TrainConfig recipeDefaults() {
        return SHORT;
    }

    @Override
    public Integer call() throws Exception {
        TrainConfig recipe = RecipeOptions.recipe(spec, SHORT);
        ExpansionPlan plan = ExpansionPlan.builder().strategy(strategy).depth(depth).adapterRank(rank)
                .adapterPositions(adapterPositions).functionPreserving(functionPreserving).untiedBlocks(untiedBlocks)
                .untiedNorms(untiedNorms).build();
        Path base = model != null ? model : Pretrained.VIT_FMNIST_D64_L4.extract(out.resolve("base"));
        String stem = base.getFileName().toString().replaceFirst("\\.(safetensors|zip)$", "");
        String name = stem + "-" + plan.toString().replaceFirst(",.*", "");
        long t0 = System.nanoTime();
        Report report = ExpandJob.builder().baseModel(base).baseModelJson(config).outputDir(out).recipe(recipe)
                .resume(resume).onnx(onnx).trainData(data.equals("none") ? null : Path.of(data))
                .toolVersion("scalenet-cli " + dev.scalenet.Version.library())
                .plan(plan).name(name).build().run();
        System.out.println();
        report.summary().forEach(System.out::println);
        System.out.printf(Locale.ROOT, "wrote       %s%n            %s (+ report.json, model.properties)%n",
                out.resolve(name + ".zip").toAbsolutePath(), out.resolve(Report.HTML_FILE).toAbsolutePath());
        if (onnx) System.out.printf(Locale.ROOT, "            %s%n", out.resolve(name + ".onnx").toAbsolutePath());
        System.out.printf(Locale.ROOT, "total       %.0f s%n", (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
