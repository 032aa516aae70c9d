package dev.scalenet.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.data.Datasets;
import dev.scalenet.data.ImageDataset;
import dev.scalenet.data.Split;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.io.AtomicFiles;
import dev.scalenet.job.Evaluation;
import dev.scalenet.train.Charts;
import dev.scalenet.train.EvalResult;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.train.TrainResult;
import dev.scalenet.train.Trainer;
import dev.scalenet.vit.Pretrained;
import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitModel;
import org.deeplearning4j.nn.graph.ComputationGraph;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * ScaleNet's claim in miniature, on Fashion-MNIST's official test set: with a training budget of B epochs,
 * <ol>
 *   <li>the pretrained base (depth L) as it is;</li>
 *   <li>the base trained further for B/3;</li>
 *   <li>ScaleNet: the base expanded to 2L (cyclic, adapters), trained for B/3;</li>
 *   <li>a 2L model from scratch trained for B, and for B/3;</li>
 * </ol>
 * with one recipe otherwise. Options: {@code --budget} B in epochs [12], {@code --seeds} [1], {@code --rank} [8],
 * {@code --arms} a comma-separated subset of base, base_more, scalenet, scratch_full, scratch_third [all],
 * {@code --data} [data/fashion-mnist], {@code --out} [target/experiment], {@code --model}/{@code --config} another
 * base [the bundled vit_fmnist_d64_l4], and recipe settings. Every arm is a resumable training run in
 * {@code <out>/seed<k>/<arm>/}: rerunning the command continues where it stopped. Writes {@code results.md},
 * {@code results.json} and {@code accuracy.png}.
 */
public final class Experiment {
    /** The recipe of every arm, before the command line's recipe settings. */
    public static final TrainConfig RECIPE = TrainConfig.builder().batchSize(128).learningRate(1e-3).minLearningRate(1e-5)
            .warmupEpochs(0.5).checkpointEvery(500).build();

    private Experiment() {}

    /** One arm of the experiment. */
    enum Arm {
        BASE("base (L)", false, false, 0),
        BASE_MORE("base (L) + B/3", false, false, 1),
        SCALENET("ScaleNet 2L + B/3", true, true, 1),
        SCRATCH_FULL("scratch 2L, B", true, false, 3),
        SCRATCH_THIRD("scratch 2L, B/3", true, false, 1);

        final String label;
        final boolean deep;
        final boolean expanded;
        /** Epochs in thirds of the budget. */
        final int thirds;

        Arm(String label, boolean deep, boolean expanded, int thirds) {
            this.label = label;
            this.deep = deep;
            this.expanded = expanded;
            this.thirds = thirds;
        }
    }

    /**
     * The command line's settings ({@code scalenet experiment}, which parses and documents them; defaults there).
     *
     * @param model the base model, or null for the bundled vit_fmnist_d64_l4
     * @param config its JSON, or null for the one beside it
     * @param recipe {@link #RECIPE} with the command line's recipe settings
     */
    public record Settings(int budget, int seeds, int rank, String arms, Path data, Path out, Path model, Path config,
                           TrainConfig recipe) {
    }

    public static void run(Settings settings) throws IOException {
        int budget = settings.budget();
        int seeds = settings.seeds();
        int rank = settings.rank();
        List<Arm> arms = arms(settings.arms());
        InvalidSettingException.require(budget % 3 == 0 && budget >= 3, "--budget", budget, "a positive multiple of 3");
        Path out = settings.out();
        Path modelFile = settings.model() != null ? settings.model() : Pretrained.VIT_FMNIST_D64_L4.extract(out.resolve("base"));
        Path data = settings.data();
        TrainConfig recipe = settings.recipe();
        ImageDataset train = Datasets.open(data, Split.TRAIN);
        ImageDataset test = Datasets.open(data, Split.EVAL);

        ObjectNode results = new ObjectMapper().createObjectNode();
        results.put("budgetEpochs", budget);
        results.set("recipe", recipe.toJson());
        results.put("adapterRank", rank);
        results.put("data", train.describe() + " / " + test.describe());
        ArrayNode runs = results.putArray("runs");
        Map<String, List<double[]>> curves = new LinkedHashMap<>();
        for (int seed = 0; seed < seeds; seed++) {
            for (Arm arm : arms) {
                VitModel base = VitModel.load(modelFile, settings.config());
                VitModel model = start(arm, base, rank, recipe.seed() + seed);
                ObjectNode run = runs.addObject();
                run.put("arm", arm.name().toLowerCase(Locale.ROOT));
                run.put("label", arm.label);
                run.put("seed", recipe.seed() + seed);
                run.put("depth", VisionTransformer.blocksOf(model.graph()).depth());
                run.put("epochs", budget / 3 * arm.thirds);
                run.put("params", model.graph().numParams());
                if (arm.thirds == 0) {
                    EvalResult r = Evaluation.of(model, test, recipe.batchSize(), recipe.evalLimit());
                    run.set("final", r.toJson());
                    run.put("trainableParams", 0);
                    run.put("trainSeconds", 0);
                    if (seed == 0) curves.put(arm.label, List.of(new double[] {0, 100 * r.top1()}, new double[] {budget, 100 * r.top1()}));
                    continue;
                }
                TrainConfig armRecipe = recipe.toBuilder().epochs(budget / 3 * arm.thirds).seed(recipe.seed() + seed).build();
                TrainResult t = new Trainer(armRecipe, model.dataConfig(), out.resolve("seed" + seed).resolve(run.get("arm").asText()),
                        true, arm.label).fit(model.graph(), train, test);
                run.set("final", t.finalEval().toJson());
                run.put("trainableParams", t.trainableParams());
                run.put("trainSeconds", t.trainSeconds());
                run.put("imagesPerSecond", t.imagesPerSecond());
                ArrayNode perEpoch = run.putArray("top1PerEpoch");
                t.evaluations().forEach(e -> perEpoch.add(e.top1()));
                if (seed == 0) {
                    List<double[]> points = new ArrayList<>();
                    // evaluations: before training, then after each epoch
                    for (int e = 0; e < t.evaluations().size(); e++) points.add(new double[] {e, 100 * t.evaluations().get(e).top1()});
                    curves.put(arm.label, points);
                }
                write(out, results, curves);
            }
        }
        write(out, results, curves);
        System.out.println(table(results));
    }

    /** The arms named by {@code --arms}, in the order given. */
    static List<Arm> arms(String ids) {
        List<Arm> arms = new ArrayList<>();
        for (String id : ids.split(",")) {
            Arm arm = Arrays.stream(Arm.values()).filter(a -> a.name().equalsIgnoreCase(id.trim())).findFirst()
                    .orElseThrow(() -> new InvalidSettingException("--arms", id.trim(), "a comma-separated list of "
                            + Arrays.stream(Arm.values()).map(a -> a.name().toLowerCase(Locale.ROOT)).toList()));
            arms.add(arm);
        }
        return arms;
    }

    /** The arm's starting model: the base, its expansion, or a fresh 2L model seeded like the run. */
    private static VitModel start(Arm arm, VitModel base, int rank, long seed) {
        if (!arm.deep) return base;
        int deep = 2 * base.config().depth();
        if (arm.expanded) return base.withGraph(ScaleNet.expand(base.graph(), ExpansionPlan.cyclic(deep).withAdapterRank(rank)).graph());
        ComputationGraph fresh = VisionTransformer.builder().config(base.config().withDepth(deep)).seed(seed).build().init();
        return base.withGraph(fresh);
    }

    private static void write(Path out, ObjectNode results, Map<String, List<double[]>> curves) throws IOException {
        AtomicFiles.writeString(out.resolve("results.json"),
                new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(results) + "\n");
        AtomicFiles.writeString(out.resolve("results.md"), table(results));
        Charts.lines("Fashion-MNIST test accuracy while training (budget B = " + results.get("budgetEpochs") + " epochs)",
                "epochs trained in this run", "top-1 accuracy (%)", curves, out.resolve("accuracy.png"));
    }

    private static String table(ObjectNode results) {
        StringBuilder s = new StringBuilder("| arm | depth | epochs | params | trainable | top-1 | top-5 | test loss | train time | img/s | seed |\n"
                + "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (var run : results.get("runs")) {
            var f = run.get("final");
            s.append(String.format(Locale.ROOT, "| %s | %d | %d | %,d | %,d | %.2f%% | %.2f%% | %.4f | %s | %s | %d |%n",
                    run.get("label").asText(), run.get("depth").asInt(), run.get("epochs").asInt(), run.get("params").asLong(),
                    run.get("trainableParams").asLong(), 100 * f.get("top1").asDouble(), 100 * f.get("top5").asDouble(),
                    f.get("loss").asDouble(), run.get("trainSeconds").asDouble() == 0 ? "-" : String.format(Locale.ROOT, "%.0f s", run.get("trainSeconds").asDouble()),
                    run.has("imagesPerSecond") ? String.format(Locale.ROOT, "%.0f", run.get("imagesPerSecond").asDouble()) : "-",
                    run.get("seed").asLong()));
        }
        return s.toString();
    }
}
