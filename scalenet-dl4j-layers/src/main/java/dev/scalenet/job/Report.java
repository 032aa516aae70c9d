package dev.scalenet.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.expand.ExpandedModel;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.io.AtomicFiles;
import dev.scalenet.io.Fingerprints;
import dev.scalenet.io.Json;
import dev.scalenet.train.EvalResult;
import dev.scalenet.train.PairedComparison;
import dev.scalenet.train.TrainResult;
import dev.scalenet.vit.VitModel;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;

/**
 * What a job did, in three files of its output folder: {@code report.json} (everything), {@code report.html}
 * (the same for people, with the training curve embedded: {@link ReportPage}) and {@code model.properties} (provenance and headline
 * metrics as flat keys, for build tooling: {@code source.sha256}, {@code config.sha256}, {@code model.sha256},
 * {@code final.top1}, ...).
 *
 * <p>The three files are published with the model, so they name every input by what identifies it anywhere
 * ({@link #source}: file or folder name, Maven coordinates when it came by them, SHA-256 of its contents), never
 * by where it lay on the build machine.
 */
public final class Report {
    public static final String JSON_FILE = "report.json";
    public static final String HTML_FILE = "report.html";
    public static final String PROPERTIES_FILE = "model.properties";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final ObjectNode root;
    private Path curve;

    public Report(String name) {
        root = JSON.createObjectNode();
        root.put("name", name);
        root.put("tool", "scalenet " + Optional.ofNullable(Report.class.getPackage().getImplementationVersion()).orElse("dev"));
    }

    private Report(ObjectNode root) {
        this.root = root;
    }

    /** The report in {@code dir}, or a new one named {@code name} if there is none. */
    public static Report readOrCreate(Path dir, String name) throws IOException {
        Path file = dir.resolve(JSON_FILE);
        if (!Files.isRegularFile(file)) return new Report(name);
        JsonNode node = Json.read(file);
        if (!(node instanceof ObjectNode)) throw new IOException(file + ": not a report (expected a JSON object)");
        Report report = new Report((ObjectNode) node);
        JsonNode curve = node.path("training").path("curve");
        if (curve.isTextual()) report.curve = dir.resolve(curve.asText());
        return report;
    }

    /**
     * How the report names an input: {@code name} (the file or folder name, no path), {@code coordinates} when it
     * was resolved from Maven coordinates (null: none), and {@code sha256} of its contents
     * ({@link Fingerprints#contents}).
     */
    public static ObjectNode source(Path path, String coordinates) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("name", path.toAbsolutePath().normalize().getFileName().toString());
        if (coordinates != null) o.put("coordinates", coordinates);
        o.put("sha256", Fingerprints.contents(path));
        return o;
    }

    public ObjectNode json() {
        return root;
    }

    /** The training curve the report names, or null if it names none; the page embeds it when it exists. */
    Path curve() {
        return curve;
    }

    /** @param source {@link #source} of the base model; @param json that of its timm JSON, or null */
    void base(ObjectNode source, ObjectNode json, VitModel model) {
        ObjectNode b = root.putObject("base");
        b.setAll(source);
        if (json != null) b.set("json", json);
        b.set("constructor", model.config().toTimmArgs());
        b.put("params", model.graph().numParams());
        b.set("pretrained_cfg", model.dataConfig().toJson());
    }

    void baseEval(EvalResult r) {
        ((ObjectNode) root.get("base")).set("eval", r.toJson());
    }

    void expansion(ExpansionPlan plan, ExpandedModel expanded) {
        ObjectNode e = root.putObject("expansion");
        e.put("plan", plan.toString());
        e.put("strategy", plan.strategy().name().toLowerCase(Locale.ROOT));
        e.put("depth", expanded.depth());
        ArrayNode order = e.putArray("order");
        for (int s : expanded.order()) order.add(s);
        e.put("adapterRank", plan.adapterRank());
        e.put("untiedNorms", plan.untiedNorms());
        e.put("adapterPositions", plan.adapterPositions().name().toLowerCase(Locale.ROOT));
        e.put("functionPreserving", plan.functionPreserving());
        e.put("untiedBlocks", plan.untiedBlocks());
        e.put("totalParams", expanded.totalParams());
        e.put("baseParams", expanded.baseParams());
        e.put("adjustmentParams", expanded.adjustmentParams());
    }

    void expandedEval(EvalResult r) {
        ((ObjectNode) root.get("expansion")).set("evalAtStart", r.toJson());
    }

    /**
     * @param train {@link #source} of the training data, with its image count
     * @param eval that of the held-out data, or null
     * @param metrics the metrics file as the report should name it (relative to the report's folder)
     */
    void training(TrainResult t, ObjectNode train, ObjectNode eval, String metrics) {
        ObjectNode n = t.toJson();
        n.set("trainData", train);
        if (eval != null) n.set("evalData", eval);
        n.put("metrics", metrics);
        curve = t.curveFile();
        // beside the metrics file: kept so a report read back (evaluate goal) still embeds the curve
        if (curve != null) n.put("curve", Path.of(metrics).resolveSibling(curve.getFileName().toString()).toString());
        root.set("training", n);
    }

    /**
     * The control ({@link dev.scalenet.train.TrainConfig#control()}): its fine-tuning, and the grown model (A) against
     * it (B) on the same held-out images.
     */
    void control(TrainResult t, String metrics, PairedComparison.Images comparison) {
        ObjectNode c = root.putObject("control");
        c.put("what", "the base model fine-tuned with the grown model's recipe, steps, seed and data");
        c.put("steps", t.steps());
        c.put("trainSeconds", t.trainSeconds());
        c.put("imagesPerSecond", t.imagesPerSecond());
        c.put("trainableParams", t.trainableParams());
        if (t.finalEval() != null) c.set("final", t.finalEval().toJson());
        c.put("metrics", metrics);
        ObjectNode p = comparison.toJson();
        p.put("a", "grown");
        p.put("b", "control");
        p.put("method", "paired on the same held-out images: 95% interval of the difference of two correlated "
                + "accuracies (Agresti-Min adjusted Wald); McNemar's exact test (two-sided) on the discordant images");
        root.set("comparison", p);
    }

    void model(Path file, String sha256, String configHash) {
        ObjectNode m = root.putObject("model");
        m.put("file", file.getFileName().toString());
        m.put("sha256", sha256);
        m.put("configSha256", configHash);
    }

    /** Adds a held-out evaluation of a model on data, each named by its {@link #source} (the evaluate goal). */
    public void evaluation(ObjectNode model, ObjectNode data, EvalResult r) {
        ArrayNode list = root.has("evaluations") ? (ArrayNode) root.get("evaluations") : root.putArray("evaluations");
        ObjectNode e = r.toJson();
        e.set("model", model);
        e.set("data", data);
        list.add(e);
    }

    /** What the job did, a line each: base, expansion, fine-tuning, each with its held-out accuracy. */
    public List<String> summary() {
        List<String> lines = new ArrayList<>();
        JsonNode b = root.path("base");
        JsonNode e = root.path("expansion");
        JsonNode t = root.path("training");
        if (!b.isMissingNode()) {
            lines.add(String.format(Locale.ROOT, "base model  %s: %d blocks, %,d parameters%s",
                    b.path("name").asText(), b.path("constructor").path("depth").asInt(),
                    b.path("params").asLong(), accuracy(b.path("eval"))));
        }
        if (!e.isMissingNode()) {
            lines.add(String.format(Locale.ROOT, "expanded    %s: %,d parameters = %,d base + %,d adjustment%s",
                    e.path("plan").asText(), e.path("totalParams").asLong(), e.path("baseParams").asLong(),
                    e.path("adjustmentParams").asLong(), accuracy(e.path("evalAtStart"))));
        }
        if (!t.isMissingNode()) {
            lines.add(String.format(Locale.ROOT, "fine-tuned  %d steps in %.0f s (%.0f images/s)%s", t.path("steps").asLong(),
                    t.path("trainSeconds").asDouble(), t.path("imagesPerSecond").asDouble(), accuracy(t.path("final"))));
        }
        JsonNode c = root.path("control");
        if (!c.isMissingNode()) {
            lines.add(String.format(Locale.ROOT, "control     the base fine-tuned the same %d steps in %.0f s%s", c.path("steps").asLong(),
                    c.path("trainSeconds").asDouble(), accuracy(c.path("final"))));
        }
        JsonNode p = root.path("comparison");
        if (!p.isMissingNode()) lines.add("grown vs control  " + comparisonText(p));
        return lines;
    }

    /**
     * The paired comparison in one sentence, with its verdict (the summary's line, and the page's). A side wins only when
     * both say so: the interval excludes 0 and McNemar's exact p is below 1 - {@link PairedComparison#CONFIDENCE}; with
     * few discordant images the two can disagree, and the sentence prints both.
     */
    static String comparisonText(JsonNode p) {
        double low = 100 * p.path("ci95Low").asDouble();
        double high = 100 * p.path("ci95High").asDouble();
        double alpha = 1 - PairedComparison.CONFIDENCE;
        boolean intervalExcludesZero = low > 0 || high < 0;
        String verdict = !intervalExcludesZero ? "no difference shown (the interval includes 0)"
                : !(p.path("mcnemarExactP").asDouble() < alpha) ? String.format(Locale.ROOT, "no difference shown (McNemar's p is not below %.2f)", alpha)
                : low > 0 ? "growing beat the control" : "the control beat growing";
        long onlyGrown = p.path("onlyA").asLong();
        return String.format(Locale.ROOT, "%.2f%% vs %.2f%%: %+.2f points, 95%% CI [%+.2f, %+.2f]; McNemar: %d %s only the grown "
                        + "model gets right, %d only the control, exact p = %.3g: %s",
                100 * p.path("accuracyA").asDouble(), 100 * p.path("accuracyB").asDouble(), 100 * p.path("difference").asDouble(),
                low, high, onlyGrown, onlyGrown == 1 ? "image" : "images", p.path("onlyB").asLong(), p.path("mcnemarExactP").asDouble(),
                verdict);
    }

    private static String accuracy(JsonNode eval) {
        return eval.isMissingNode() ? "" : String.format(Locale.ROOT, "; held-out top-1 %.2f%% on %,d images",
                100 * eval.path("top1").asDouble(), eval.path("examples").asLong());
    }

    /** The headline metric keys of {@code model.properties}. */
    public Map<String, String> properties() {
        Map<String, String> p = new TreeMap<>();
        put(p, "source.file", root.path("base").path("name"));
        put(p, "source.coordinates", root.path("base").path("coordinates"));
        put(p, "source.sha256", root.path("base").path("sha256"));
        put(p, "config.sha256", root.path("model").path("configSha256"));
        put(p, "model.sha256", root.path("model").path("sha256"));
        put(p, "model.file", root.path("model").path("file"));
        put(p, "expansion.plan", root.path("expansion").path("plan"));
        put(p, "params.total", root.path("expansion").path("totalParams"));
        put(p, "params.base", root.path("expansion").path("baseParams"));
        put(p, "params.adjustment", root.path("expansion").path("adjustmentParams"));
        put(p, "params.trainable", root.path("training").path("trainableParams"));
        eval(p, "base", root.path("base").path("eval"));
        eval(p, "expanded", root.path("expansion").path("evalAtStart"));
        eval(p, "final", root.path("training").path("final"));
        put(p, "train.steps", root.path("training").path("steps"));
        put(p, "train.seconds", root.path("training").path("trainSeconds"));
        put(p, "train.imagesPerSecond", root.path("training").path("imagesPerSecond"));
        eval(p, "control", root.path("control").path("final"));
        put(p, "control.steps", root.path("control").path("steps"));
        put(p, "control.seconds", root.path("control").path("trainSeconds"));
        JsonNode c = root.path("comparison");
        put(p, "comparison.images", c.path("images"));
        put(p, "comparison.difference", c.path("difference"));
        put(p, "comparison.ci95Low", c.path("ci95Low"));
        put(p, "comparison.ci95High", c.path("ci95High"));
        put(p, "comparison.onlyGrown", c.path("onlyA"));
        put(p, "comparison.onlyControl", c.path("onlyB"));
        put(p, "comparison.mcnemarExactP", c.path("mcnemarExactP"));
        put(p, "comparison.mcnemarMidP", c.path("mcnemarMidP"));
        return p;
    }

    private static void eval(Map<String, String> p, String prefix, JsonNode e) {
        put(p, prefix + ".top1", e.path("top1"));
        put(p, prefix + ".top5", e.path("top5"));
        put(p, prefix + ".loss", e.path("loss"));
    }

    private static void put(Map<String, String> p, String key, JsonNode v) {
        if (!v.isMissingNode() && !v.isNull()) p.put(key, v.asText());
    }

    /** What the last finished run in {@code dir} recorded in {@code model.properties}; empty if there is none. */
    static Properties recorded(Path dir) throws IOException {
        Path file = dir.resolve(PROPERTIES_FILE);
        Properties p = new Properties();
        if (!Files.isRegularFile(file)) return p;
        try (InputStream in = Files.newInputStream(file)) {
            p.load(in);
        }
        return p;
    }

    /** Writes the three files into {@code dir}, each atomically. */
    public void write(Path dir) throws IOException {
        AtomicFiles.writeString(dir.resolve(JSON_FILE), JSON.writeValueAsString(root) + "\n");
        AtomicFiles.writeString(dir.resolve(HTML_FILE), ReportPage.html(this));
        Properties p = new Properties() {
            @Override
            public synchronized java.util.Enumeration<Object> keys() { // sorted, so the file is stable
                return java.util.Collections.enumeration(new java.util.TreeSet<>(super.keySet()));
            }
        };
        p.putAll(properties());
        StringWriter text = new StringWriter();
        p.store(text, null);
        // drop the date comment, the only line Properties.store adds without a comment, so equal runs write equal files
        String stable = "#scalenet " + root.path("name").asText() + "\n" + text.toString().replaceFirst("^#.*\\R", "");
        AtomicFiles.writeString(dir.resolve(PROPERTIES_FILE), stable);
    }
}
