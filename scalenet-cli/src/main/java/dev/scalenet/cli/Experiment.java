package dev.scalenet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.data.Datasets;
import dev.scalenet.data.HoldOut;
import dev.scalenet.data.ImageDataset;
import dev.scalenet.data.Split;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.expand.ScaleNet;
import dev.scalenet.io.AtomicFiles;
import dev.scalenet.io.Json;
import dev.scalenet.io.Npy;
import dev.scalenet.job.Evaluation;
import dev.scalenet.train.Charts;
import dev.scalenet.train.EvalResult;
import dev.scalenet.train.PairedComparison;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.train.Trainable;
import dev.scalenet.train.TrainResult;
import dev.scalenet.train.Trainer;
import dev.scalenet.vit.Pretrained;
import dev.scalenet.vit.VisionTransformer;
import dev.scalenet.vit.VitConfig;
import dev.scalenet.vit.VitModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntFunction;
import java.util.stream.Stream;

/**
 * ScaleNet's claim, measured the way the paper measures it, on Fashion-MNIST. E is the base model's own training
 * budget in epochs. Per seed:
 * <ol>
 *   <li>{@code base}: the base (depth L) trained from scratch for E;</li>
 *   <li>{@code base_more}: that base trained E/3 more (the control of the grown arms);</li>
 *   <li>{@code base_2e}: that base trained E more, a budget of 2E: the base counts as converged at E when this
 *       arm is less than 0.3 points above it on validation;</li>
 *   <li>{@code scratch_full}, {@code scratch_third}: depth 2L from scratch for E and for E/3;</li>
 *   <li>grown to 2L from that base and trained E/3: {@code scalenet} (the paper: inserted blocks share their
 *       source's tensors and start as live copies, adapters on inserted blocks), {@code scalenet_fp} (the
 *       function-preserving start), {@code scalenet_all} (adapters on every position), {@code shared} (pure
 *       sharing, no adapters), {@code untied} (inserted blocks as independent copies).</li>
 * </ol>
 * Choices are made on a validation split carved from the training set ({@code --validationSize}); every curve
 * and the default table are on it. {@code --final true} also evaluates each finished run once on the official
 * test set, and writes each test image's predicted class and label ({@code test-predictions.npy}, uint8
 * {@code [images, 2]}, in the test set's order) for the paired comparisons. Every run lives in {@code <out>/seed<k>/<arm>/}, writes its {@code result.json} when done and is
 * skipped afterwards, so the command resumes where it stopped and several processes may share one {@code --out}
 * (give them different {@code --arms} or {@code --seeds}). The table ({@code results.md}), {@code results.json}
 * and {@code accuracy.png} aggregate every finished run found under {@code --out}: mean and sample standard
 * deviation over seeds.
 */
public final class Experiment {
    /** The recipe of every arm, before the command line's recipe settings. */
    public static final TrainConfig RECIPE = TrainConfig.builder().trainable(Trainable.ALL).batchSize(128).learningRate(1e-3).minLearningRate(1e-5)
            .warmupEpochs(0.5).checkpointEvery(500).build();
    /** Each test image's predicted class and label, written by every run evaluated on the test set. */
    static final String PREDICTIONS = "test-predictions.npy";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Experiment() {}

    /** One arm: where it starts, how long it trains (in thirds of E), and for grown arms the plan. */
    enum Arm {
        BASE("base L, E", 3, null),
        BASE_MORE("base L, E + E/3", 1, null),
        /** The convergence check: the base continued E more (a total budget of 2E) with the recipe of the control. */
        BASE_2E("base L, E + E (2E)", 3, null),
        SCRATCH_FULL("scratch 2L, E", 3, null),
        SCRATCH_THIRD("scratch 2L, E/3", 1, null),
        SCALENET("ScaleNet 2L, E/3 (paper)", 1, rank -> ExpansionPlan.cyclic(ExpansionPlan.DOUBLE_DEPTH).withAdapterRank(rank)),
        SCALENET_FP("ScaleNet 2L, E/3, function-preserving", 1,
                rank -> ExpansionPlan.cyclic(ExpansionPlan.DOUBLE_DEPTH).withAdapterRank(rank).withFunctionPreserving(true)),
        SCALENET_ALL("ScaleNet 2L, E/3, adapters everywhere", 1, rank -> ExpansionPlan.cyclic(ExpansionPlan.DOUBLE_DEPTH)
                .withAdapterRank(rank).withAdapterPositions(ExpansionPlan.AdapterPositions.ALL)),
        SHARED("pure sharing 2L, E/3", 1, rank -> ExpansionPlan.cyclic(ExpansionPlan.DOUBLE_DEPTH).withAdapterRank(0)),
        UNTIED("untied growth 2L, E/3", 1, rank -> ExpansionPlan.cyclic(ExpansionPlan.DOUBLE_DEPTH).withAdapterRank(0)
                .withUntiedBlocks(true));

        final String label;
        /** Epochs in thirds of the budget. */
        final int thirds;
        /** The growth plan for a given adapter rank, or null for an arm that is not grown from the base. */
        final IntFunction<ExpansionPlan> plan;

        Arm(String label, int thirds, IntFunction<ExpansionPlan> plan) {
            this.label = label;
            this.thirds = thirds;
            this.plan = plan;
        }

        String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        boolean fromBase() {
            return this == BASE_MORE || this == BASE_2E || plan != null;
        }

        boolean deep() {
            return this == SCRATCH_FULL || this == SCRATCH_THIRD || plan != null;
        }
    }

    /** The settings of one invocation. */
    private static final class Setup {
        int budget;
        int rank;
        boolean finalTest;
        double growLearningRate;
        TrainConfig recipe;
        VitConfig baseConfig;
        VitModel template; // preprocessing and class names
        ImageDataset train;
        ImageDataset validation;
        ImageDataset test;
        Path out;
    }

    /**
     * The command line's settings ({@code scalenet experiment} parses and documents them, with their defaults).
     *
     * @param seeds number of seeds, {@code firstSeed} to {@code firstSeed + seeds - 1}
     * @param width, depth, heads, patch the base architecture; null for the bundled model's
     * @param trainSize training examples kept after the hold-out, 0 for all
     * @param growLearningRate peak learning rate of the arms that start from the trained base; null for the recipe's
     * @param finalTest also evaluate every finished run once on the official test set
     * @param recipe {@link #RECIPE} with the command line's recipe settings
     */
    public record Settings(int budget, int seeds, int firstSeed, int rank, String arms, Path data, Path out, Integer width,
                           Integer depth, Integer heads, Integer patch, int validationSize, int trainSize,
                           Double growLearningRate, boolean finalTest, TrainConfig recipe) {
    }

    public static void run(Settings settings) throws IOException {
        Setup s = new Setup();
        s.budget = settings.budget();
        InvalidSettingException.require(s.budget % 3 == 0 && s.budget >= 3, "--budget", s.budget,
                "a positive multiple of 3 (epochs; arms train E or E/3)");
        s.rank = settings.rank();
        s.finalTest = settings.finalTest();
        List<Arm> arms = arms(settings.arms());
        s.out = settings.out();
        s.recipe = settings.recipe();
        InvalidSettingException.require(!s.recipe.control(), "--control", true,
                "false: the experiment's control of the grown arms is its arm base_more");
        InvalidSettingException.require(s.recipe.evalsPerEpoch() == 1, "--evalsPerEpoch", s.recipe.evalsPerEpoch(),
                "1: the experiment's curves have a point per epoch");
        s.growLearningRate = settings.growLearningRate() != null ? settings.growLearningRate() : s.recipe.learningRate();
        s.template = Pretrained.VIT_FMNIST_D64_L4.load();
        VitConfig bundled = s.template.config();
        s.baseConfig = bundled.toBuilder().embedDim(or(settings.width(), bundled.embedDim())).depth(or(settings.depth(), bundled.depth()))
                .numHeads(or(settings.heads(), bundled.numHeads())).patchSize(or(settings.patch(), bundled.patchSize())).build();
        HoldOut split = HoldOut.carve(Datasets.open(settings.data(), Split.TRAIN), settings.validationSize(),
                settings.trainSize(), HoldOut.DEFAULT_SEED); // fixed: every run and seed sees the same split
        s.train = split.train();
        s.validation = split.validation();
        s.test = s.finalTest ? Datasets.open(settings.data(), Split.EVAL) : null;
        JsonNode fingerprint = settings(s);

        for (int seed = settings.firstSeed(); seed < settings.firstSeed() + settings.seeds(); seed++) {
            for (Arm arm : arms) {
                run(s, arm, seed, fingerprint);
                report(s.out);
            }
        }
        System.out.println(report(s.out));
    }

    private static int or(Integer value, int fallback) {
        return value != null ? value : fallback;
    }

    /** The arms named by {@code --arms}, in the order given. */
    static List<Arm> arms(String ids) {
        List<Arm> arms = new ArrayList<>();
        for (String id : ids.split(",")) {
            Arm arm = Arrays.stream(Arm.values()).filter(a -> a.id().equals(id.trim().toLowerCase(Locale.ROOT))).findFirst()
                    .orElseThrow(() -> new InvalidSettingException("--arms", id.trim(), "a comma-separated list of "
                            + Arrays.stream(Arm.values()).map(Arm::id).toList()));
            arms.add(arm);
        }
        return arms;
    }

    /** What every run of one {@code --out} must agree on; a run started with other settings is refused. */
    private static JsonNode settings(Setup s) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("budgetEpochs", s.budget);
        o.put("adapterRank", s.rank);
        o.put("growLearningRate", s.growLearningRate);
        ObjectNode recipe = s.recipe.toJson().put("seed", 0).put("epochs", 0);
        // job settings the experiment does not use (required off below): runs made before they existed still match
        recipe.remove("control");
        recipe.remove("evalsPerEpoch");
        recipe.remove("recompute"); // the same bits either way: runs started before the setting existed resume
        recipe.remove("memoryCheck"); // a check before training, not part of it
        o.set("recipe", recipe);
        o.set("baseModel", s.baseConfig.toTimmArgs());
        o.put("trainExamples", s.train.size());
        o.put("validationExamples", s.validation.size());
        o.put("holdOutSeed", HoldOut.DEFAULT_SEED);
        // as it reads back from result.json (Jackson's int and long nodes differ), so the two compare equal
        return JSON.readTree(JSON.writeValueAsString(o));
    }

    /** Trains (or resumes, or skips) one arm for one seed and writes its {@code result.json}. */
    private static void run(Setup s, Arm arm, int seed, JsonNode settings) throws IOException {
        Path dir = s.out.resolve("seed" + seed).resolve(arm.id());
        Path resultFile = dir.resolve("result.json");
        if (Files.isRegularFile(resultFile)) {
            JsonNode done = Json.read(resultFile);
            if (!done.get("settings").equals(settings)) {
                throw new InvalidSettingException("--out", s.out, "a folder of runs with these settings, or a new one: "
                        + resultFile + " was made with " + done.get("settings"));
            }
            if (!s.finalTest || done.has("test")) return;
        }
        long runSeed = s.recipe.seed() + seed;
        VitModel start = start(s, arm, seed);
        TrainConfig recipe = s.recipe.toBuilder().epochs(s.budget / 3 * arm.thirds).seed(runSeed)
                .learningRate(arm.fromBase() ? s.growLearningRate : s.recipe.learningRate()).build();
        TrainResult t = new Trainer(recipe, start.dataConfig(), dir, arm.label + " seed " + seed).withResume(true)
                .fit(start.graph(), s.train, s.validation);
        ObjectNode r = JSON.createObjectNode();
        r.put("arm", arm.id());
        r.put("label", arm.label);
        r.put("seed", seed);
        r.put("depth", VisionTransformer.blocksOf(start.graph()).depth());
        r.put("epochs", recipe.epochs());
        r.put("params", start.graph().numParams());
        r.put("trainableParams", t.trainableParams());
        r.put("trainSeconds", t.trainSeconds());
        r.put("imagesPerSecond", t.imagesPerSecond());
        ArrayNode curve = r.putArray("validationTop1PerEpoch");
        t.evaluations().forEach(e -> curve.add(e.top1()));
        r.set("validation", t.finalEval().toJson());
        if (s.finalTest) {
            byte[] predictions = new byte[2 * s.test.size()];
            int[] next = {0};
            r.set("test", Evaluation.of(start.withGraph(t.graph()), s.test, recipe.batchSize(), 0, (predicted, label) -> {
                predictions[next[0]++] = (byte) predicted;
                predictions[next[0]++] = (byte) label;
            }).toJson());
            Npy.writeUint8(dir.resolve(PREDICTIONS), new long[] {s.test.size(), 2}, predictions);
        }
        r.set("settings", settings);
        // the base model before its result: a finished result.json means everything of the run is there
        if (arm == Arm.BASE) start.withGraph(t.graph()).save(dir.resolve("model.zip"));
        AtomicFiles.writeString(resultFile, JSON.writeValueAsString(r) + "\n");
    }

    /** The arm's starting model: a fresh L or 2L model seeded like the run, or this seed's trained base (grown). */
    private static VitModel start(Setup s, Arm arm, int seed) throws IOException {
        long runSeed = s.recipe.seed() + seed;
        if (!arm.fromBase()) {
            VitConfig config = arm.deep() ? s.baseConfig.withDepth(2 * s.baseConfig.depth()) : s.baseConfig;
            return s.template.withGraph(VisionTransformer.builder().config(config).seed(runSeed).build().init());
        }
        Path baseModel = s.out.resolve("seed" + seed).resolve(Arm.BASE.id()).resolve("model.zip");
        if (!Files.isRegularFile(baseModel)) {
            String need = arm.id() + " (seed " + seed + ") starts from this seed's trained base, but " + baseModel + " does not exist";
            Path baseResult = baseModel.resolveSibling("result.json");
            if (Files.isRegularFile(baseResult)) { // a result kept without its model, as a copy of committed results can be
                throw new IllegalStateException(need + ", though the base's " + baseResult + " does: delete that result.json"
                        + " and run the arm 'base' again, which trains it to the same numbers and keeps its model");
            }
            throw new IllegalStateException(need + " yet: run the arm 'base' first (it is first in --arms by default)");
        }
        VitModel base = VitModel.load(baseModel, null);
        if (arm.plan == null) return base;
        return base.withGraph(ScaleNet.expand(base.graph(), arm.plan.apply(s.rank).withSeed(runSeed)).graph());
    }

    /** Aggregates every finished run under {@code out}; writes and returns the table. */
    static String report(Path out) throws IOException {
        Map<Arm, List<JsonNode>> byArm = new LinkedHashMap<>();
        Map<Arm, Map<Integer, Path>> dirs = new LinkedHashMap<>();
        for (Arm arm : Arm.values()) {
            byArm.put(arm, new ArrayList<>());
            dirs.put(arm, new TreeMap<>());
        }
        if (Files.isDirectory(out)) {
            try (Stream<Path> files = Files.walk(out, 3)) {
                for (Path f : (Iterable<Path>) files.filter(p -> p.getFileName().toString().equals("result.json")).sorted()::iterator) {
                    JsonNode r = Json.read(f);
                    Arm arm = Arm.valueOf(r.get("arm").asText().toUpperCase(Locale.ROOT));
                    byArm.get(arm).add(r);
                    dirs.get(arm).put(r.get("seed").asInt(), f.getParent());
                }
            }
        }
        ObjectNode results = JSON.createObjectNode();
        ArrayNode rows = results.putArray("arms");
        StringBuilder table = new StringBuilder("| arm | depth | epochs | params | trainable | validation top-1 | test top-1 | seeds | train time |\n"
                + "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        Map<String, List<double[]>> curves = new LinkedHashMap<>();
        for (Map.Entry<Arm, List<JsonNode>> e : byArm.entrySet()) {
            List<JsonNode> runs = e.getValue();
            if (runs.isEmpty()) continue;
            JsonNode first = runs.get(0);
            double[] val = runs.stream().mapToDouble(r -> 100 * r.get("validation").get("top1").asDouble()).toArray();
            double[] test = runs.stream().filter(r -> r.has("test")).mapToDouble(r -> 100 * r.get("test").get("top1").asDouble()).toArray();
            double seconds = runs.stream().mapToDouble(r -> r.get("trainSeconds").asDouble()).average().orElse(0);
            ObjectNode row = rows.addObject();
            row.put("arm", e.getKey().id());
            row.put("label", e.getKey().label);
            row.put("seeds", runs.size());
            row.put("validationMean", mean(val));
            if (val.length > 1) row.put("validationStd", std(val)); // one seed has no spread, not a spread of 0
            if (test.length > 0) {
                row.put("testMean", mean(test));
                if (test.length > 1) row.put("testStd", std(test));
                row.put("testSeeds", test.length);
            }
            row.set("runs", JSON.valueToTree(runs));
            table.append(String.format(Locale.ROOT, "| %s | %d | %d | %,d | %,d | %s | %s | %d | %.0f s |%n", e.getKey().label,
                    first.get("depth").asInt(), first.get("epochs").asInt(), first.get("params").asLong(),
                    first.get("trainableParams").asLong(), meanStd(val), test.length == 0 ? "-" : meanStd(test) + (test.length < runs.size()
                            ? " (" + test.length + ")" : ""), runs.size(), seconds));
            curves.put(e.getKey().label, meanCurve(e.getKey(), runs, first.path("settings").path("budgetEpochs").asInt()));
        }
        table.append(paired(byArm, dirs, results.putArray("paired")));
        AtomicFiles.writeString(out.resolve("results.json"), JSON.writeValueAsString(results) + "\n");
        AtomicFiles.writeString(out.resolve("results.md"), table.toString());
        if (!curves.isEmpty()) {
            Charts.lines("Validation accuracy (mean over seeds); grown arms start after the base's E epochs",
                    "epochs (grown and continued arms: the base's E, then their own)", "validation top-1 (%)", curves,
                    out.resolve("accuracy.png"));
        }
        return table.toString();
    }

    /**
     * The pairs of the analysis plan (experiment page, configurations C and D), A against B: the primary comparison
     * first (ScaleNet against its control, the base continued E/3), then the convergence check and the secondary pairs;
     * the last is D's depth at about equal compute (2L from scratch for E against L trained 2E).
     */
    static final Arm[][] PAIRS = {
            {Arm.SCALENET, Arm.BASE_MORE}, {Arm.BASE_2E, Arm.BASE}, {Arm.SCALENET_FP, Arm.BASE_MORE},
            {Arm.UNTIED, Arm.BASE_MORE}, {Arm.SCALENET_ALL, Arm.BASE_MORE}, {Arm.SHARED, Arm.BASE_MORE},
            {Arm.SCRATCH_FULL, Arm.BASE}, {Arm.SCALENET, Arm.SCRATCH_FULL}, {Arm.BASE_MORE, Arm.BASE},
            {Arm.SCRATCH_FULL, Arm.BASE_2E}};

    /**
     * Paired comparisons of every pair in {@link #PAIRS} with finished runs on both sides: per seed differences with
     * their 95% t-interval, on validation and (where both have it) on test, and per seed McNemar's test on the test
     * images (from the runs' {@value #PREDICTIONS}). Returns the markdown; fills {@code json}.
     */
    private static String paired(Map<Arm, List<JsonNode>> byArm, Map<Arm, Map<Integer, Path>> dirs, ArrayNode json) throws IOException {
        StringBuilder md = new StringBuilder();
        for (Arm[] pair : PAIRS) {
            Map<Integer, JsonNode> a = bySeed(byArm.get(pair[0]));
            Map<Integer, JsonNode> b = bySeed(byArm.get(pair[1]));
            List<Integer> seeds = a.keySet().stream().filter(b::containsKey).sorted().toList();
            if (seeds.isEmpty()) continue;
            ObjectNode p = json.addObject();
            p.put("a", pair[0].id());
            p.put("b", pair[1].id());
            PairedComparison.Seeds val = PairedComparison.seeds(score(seeds, a, "validation"), score(seeds, b, "validation"));
            p.set("validation", val.toJson());
            List<Integer> tested = seeds.stream().filter(k -> a.get(k).has("test") && b.get(k).has("test")).toList();
            String testText = "-";
            if (!tested.isEmpty()) {
                PairedComparison.Seeds test = PairedComparison.seeds(score(tested, a, "test"), score(tested, b, "test"));
                p.set("test", test.toJson());
                testText = test.toString();
            }
            md.append(String.format(Locale.ROOT, "%n**%s minus %s** (points): validation %s; test %s%n%n", pair[0].label,
                    pair[1].label, val, testText));
            ArrayNode perSeed = p.putArray("mcnemar");
            StringBuilder rows = new StringBuilder();
            for (int k : tested) {
                Path fa = dirs.get(pair[0]).get(k).resolve(PREDICTIONS);
                Path fb = dirs.get(pair[1]).get(k).resolve(PREDICTIONS);
                if (!Files.isRegularFile(fa) || !Files.isRegularFile(fb)) continue;
                PairedComparison.Images t = PairedComparison.images(correct(fa), correct(fb));
                perSeed.add(t.toJson().put("seed", k));
                rows.append(String.format(Locale.ROOT, "| %d | %.2f%% | %.2f%% | %+.2f [%+.2f, %+.2f] | %d | %d | %.3g | %.3g |%n", k,
                        100 * t.accuracyA(), 100 * t.accuracyB(), 100 * t.difference(), 100 * t.low(), 100 * t.high(),
                        t.onlyA(), t.onlyB(), t.exactP(), t.midP()));
            }
            if (rows.length() > 0) {
                md.append("| seed | test A | test B | A - B, 95% CI | only A right | only B right | McNemar exact p | mid-p |\n"
                        + "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n").append(rows);
            }
        }
        return md.toString();
    }

    private static Map<Integer, JsonNode> bySeed(List<JsonNode> runs) {
        Map<Integer, JsonNode> m = new TreeMap<>();
        for (JsonNode r : runs) m.put(r.get("seed").asInt(), r);
        return m;
    }

    /** Top-1 in points on {@code split}, seed by seed. */
    private static double[] score(List<Integer> seeds, Map<Integer, JsonNode> runs, String split) {
        return seeds.stream().mapToDouble(k -> 100 * runs.get(k).get(split).get("top1").asDouble()).toArray();
    }

    /** Whether each test image was classified right, from a run's {@value #PREDICTIONS}. */
    static boolean[] correct(Path predictions) throws IOException {
        float[] v = Npy.read(predictions).data();
        boolean[] right = new boolean[v.length / 2];
        for (int i = 0; i < right.length; i++) right[i] = v[2 * i] == v[2 * i + 1];
        return right;
    }

    /** Mean validation accuracy after each epoch; arms that start from the trained base are drawn from epoch E on. */
    private static List<double[]> meanCurve(Arm arm, List<JsonNode> runs, int budget) {
        int points = runs.stream().mapToInt(r -> r.get("validationTop1PerEpoch").size()).min().orElse(0);
        int offset = arm.fromBase() ? budget : 0;
        List<double[]> curve = new ArrayList<>();
        for (int i = 0; i < points; i++) {
            final int k = i;
            curve.add(new double[] {offset + i, 100 * runs.stream().mapToDouble(r -> r.get("validationTop1PerEpoch").get(k).asDouble())
                    .average().orElse(0)});
        }
        return curve;
    }

    static double mean(double[] v) {
        return Arrays.stream(v).average().orElse(Double.NaN);
    }

    /** Sample standard deviation (n - 1); NaN for a single value, whose spread is unknown (not 0). */
    static double std(double[] v) {
        if (v.length < 2) return Double.NaN;
        double m = mean(v);
        return Math.sqrt(Arrays.stream(v).map(x -> (x - m) * (x - m)).sum() / (v.length - 1));
    }

    /** {@code mean ± std%} for the results table; {@code ± n/a} for a single seed. */
    static String meanStd(double[] v) {
        if (v.length < 2) return String.format(Locale.ROOT, "%.2f%% ± n/a", mean(v));
        return String.format(Locale.ROOT, "%.2f ± %.2f%%", mean(v), std(v));
    }
}
