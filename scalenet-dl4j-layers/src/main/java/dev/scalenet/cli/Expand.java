package dev.scalenet.cli;

import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.job.ExpandJob;
import dev.scalenet.job.Report;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.vit.Pretrained;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/**
 * The README's main job: expand the bundled pretrained ViT with ScaleNet, fine-tune it briefly on the bundled
 * Fashion-MNIST, and report accuracy before and after. Options ({@code --key value}), defaults in brackets:
 * <pre>
 *   --model     base model: timm .safetensors or model zip     [the bundled vit_fmnist_d64_l4]
 *   --config    its timm constructor / metadata JSON            [beside the model]
 *   --depth     target depth                                    [2 x base depth]
 *   --strategy  cyclic | interleave                             [cyclic]
 *   --rank      adapter rank                                    [8]
 *   --data      training + held-out data (IDX or image folders) [data/fashion-mnist]; "none" only expands
 *   --out       output folder                                   [target/scalenet]
 *   and any recipe setting: --epochs --trainLimit --learningRate ... (see TrainConfig)  [1 epoch on 12,800 images]
 * </pre>
 */
public final class Expand {
    private static final Set<String> OWN = Set.of("model", "config", "depth", "strategy", "rank", "data", "out");
    /** A few minutes on two cores: 100 steps of 128 images. */
    private static final TrainConfig SHORT = TrainConfig.builder().epochs(1).batchSize(128).trainLimit(12_800)
            .learningRate(5e-4).warmupEpochs(0.2).build();

    private Expand() {}

    public static void main(String[] argv) throws IOException {
        Args args = new Args(argv);
        Path out = args.path("out", "target/scalenet");
        Path model = args.has("model") ? args.path("model", null) : Pretrained.VIT_FMNIST_D64_L4.extract(out.resolve("base"));
        String stem = model.getFileName().toString().replaceFirst("\\.(safetensors|zip)$", "");
        String data = args.get("data", "data/fashion-mnist");
        TrainConfig recipe = args.recipe(SHORT, OWN);

        ExpandJob.Builder job = ExpandJob.builder().baseModel(model).baseModelJson(args.path("config", null))
                .outputDir(out).recipe(recipe).resume(false)
                .trainData(data.equals("none") ? null : Args.resolve(data));
        ExpansionPlan plan = ExpansionPlan.of(ExpansionPlan.Strategy.parse(args.get("strategy", "cyclic")),
                args.getInt("depth", ExpansionPlan.DOUBLE_DEPTH)).withAdapterRank(args.getInt("rank", ExpansionPlan.DEFAULT_ADAPTER_RANK));
        String name = stem + "-" + plan.toString().replaceFirst(",.*", "");

        long t0 = System.nanoTime();
        Report report = job.plan(plan).name(name).build().run();
        System.out.println();
        report.summary().forEach(System.out::println);
        System.out.printf(Locale.ROOT, "wrote       %s%n            %s (+ report.json, model.properties)%n",
                out.resolve(name + ".zip").toAbsolutePath(), out.resolve(Report.HTML_FILE).toAbsolutePath());
        System.out.printf(Locale.ROOT, "total       %.0f s%n", (System.nanoTime() - t0) / 1e9);
    }
}
