package dev.scalenet.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.RawBits;
import dev.scalenet.data.BatchLoader;
import dev.scalenet.data.FashionMnist;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.io.Fingerprints;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.train.Trainable;
import dev.scalenet.vit.TimmFixtures;
import dev.scalenet.vit.VitModel;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.stream.Collectors;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The expand job end to end on the timm reference model and the bundled Fashion-MNIST. */
class ExpandJobTest {
    private static final TimmFixtures.Model MICRO = TimmFixtures.models().stream()
            .filter(m -> m.name.equals("vit-micro-p7-d4")).findFirst().orElseThrow();

    @TempDir
    Path out;

    private ExpandJob.Builder job() {
        return ExpandJob.builder().baseModel(MICRO.weights()).baseModelJson(MICRO.constructorJson())
                .plan(ExpansionPlan.cyclic(8)).outputDir(out).name("micro-x8");
    }

    private static TrainConfig quickRecipe() {
        return TrainConfig.builder().epochs(1).batchSize(32).trainLimit(320).evalLimit(200).seed(1).build();
    }

    /** 4 steps of 16 images, 32 held out: what resuming and reporting need, in seconds. */
    private static TrainConfig.Builder tinyRecipe() {
        return TrainConfig.builder().epochs(1).batchSize(16).trainLimit(64).evalLimit(32).seed(1);
    }

    @Test
    @DisplayName("with onnx: <name>.onnx beside the zip gives the zip's logits in ONNX Runtime; without the file the job is not up to date")
    void onnxBesideTheZip() throws Exception {
        ExpandJob job = job().onnx(true).build();
        job.run();
        assertEquals(out.resolve("micro-x8.onnx"), job.onnxFile());
        INDArray zipLogits = VitModel.load(job.modelFile(), null).features(MICRO.inputs()).logits();
        try (dev.scalenet.onnx.OnnxRuntimeSession ort = new dev.scalenet.onnx.OnnxRuntimeSession(Files.readAllBytes(job.onnxFile()))) {
            double err = Transforms.abs(zipLogits.sub(ort.logits(MICRO.inputs()))).maxNumber().doubleValue();
            assertTrue(err < 1e-5, "max |logit difference| " + err + " (the tolerance of OnnxExportTest)");
        }
        assertTrue(job().onnx(true).build().upToDate());
        assertFalse(job().build().upToDate(), "the onnx setting is part of the configuration");
        Files.delete(job.onnxFile());
        assertFalse(job().onnx(true).build().upToDate(), "a missing ONNX file is rebuilt");
    }

    @Test
    @DisplayName("the up-to-date check covers the library's and the running tool's versions: an upgrade never reuses an older model")
    void versionsInConfigurationHash() throws Exception {
        JsonNode c = job().toolVersion("dev.scalenet:scalenet-maven-plugin:0.1.0").build().configuration();
        assertEquals(dev.scalenet.Version.library(), c.get("libraryVersion").asText());
        assertTrue(dev.scalenet.Version.library().matches("\\d+\\.\\d+.*"), "filtered: " + dev.scalenet.Version.library());
        assertFalse(job().toolVersion("dev.scalenet:scalenet-maven-plugin:0.1.0").build().configurationHash()
                .equals(job().toolVersion("dev.scalenet:scalenet-maven-plugin:0.2.0").build().configurationHash()));
    }

    @Test
    @DisplayName("expand only: the written model reproduces timm's 8-block model with copied blocks; report and properties written")
    void expandOnly() throws Exception {
        Report report = job().build().run();
        VitModel written = VitModel.load(out.resolve("micro-x8.zip"), null);
        INDArray logits = written.logits(MICRO.inputs());
        double err = Transforms.abs(logits.sub(MICRO.expandedLogits("cyclic-8"))).maxNumber().doubleValue();
        assertTrue(err < 1e-4, "max |logit difference| " + err + " (float32 tolerance 1e-4)");
        Properties p = properties();
        assertEquals(Fingerprints.file(MICRO.weights()), p.getProperty("source.sha256"));
        assertEquals(Fingerprints.file(out.resolve("micro-x8.zip")), p.getProperty("model.sha256"));
        assertEquals("53386", p.getProperty("params.base"));
        assertFalse(p.containsKey("final.top1"), "no training, no final accuracy");
        assertEquals(report.properties().get("config.sha256"), p.getProperty("config.sha256"));
        assertTrue(Files.readString(out.resolve(Report.HTML_FILE)).contains("[0,1,2,3,0,1,2,3]"));
        assertEquals(List.of("#scalenet micro-x8"), Files.readAllLines(out.resolve(Report.PROPERTIES_FILE)).stream()
                .filter(l -> l.startsWith("#")).collect(Collectors.toList()), "no date comment: equal runs write equal files");
    }

    @Test
    @DisplayName("expand, fine-tune and evaluate: the reported final top-1 is that of the written model, counted here")
    void expandAndTrain() throws Exception {
        job().recipe(quickRecipe()).trainData(FashionMnist.dir()).build().run();
        JsonNode report = new ObjectMapper().readTree(out.resolve(Report.JSON_FILE).toFile());
        assertEquals(200, report.path("base").path("eval").path("examples").asInt());
        assertEquals(200, report.path("expansion").path("evalAtStart").path("examples").asInt());
        assertEquals(10, report.path("training").path("steps").asInt(), "320 images / batch 32");
        double top1 = report.path("training").path("final").path("top1").asDouble();
        assertEquals(top1OfWrittenModel(200), top1, "the first 200 test images, batches of 32 as in training: the same count");
        String html = Files.readString(out.resolve(Report.HTML_FILE));
        assertTrue(html.contains("data:image/png;base64,"));
        assertTrue(html.contains("recipe: steps</th><td>10 (ran)</td>"), "the recipe table shows the steps that ran, not the unset 0");
        assertTrue(Files.exists(out.resolve("micro-x8.run/metrics.jsonl")));
        assertEquals(String.valueOf(top1), properties().getProperty("final.top1"));
    }

    @Test
    @DisplayName("with control, the base is fine-tuned the same way and the report pairs the two on the same held-out images")
    void controlPairsGrownAndBase() throws Exception {
        Report report = job().recipe(tinyRecipe().control(true).build()).trainData(FashionMnist.dir()).build().run();
        JsonNode r = new ObjectMapper().readTree(out.resolve(Report.JSON_FILE).toFile());
        JsonNode control = r.path("control");
        JsonNode comparison = r.path("comparison");
        assertEquals(r.path("training").path("steps").asInt(), control.path("steps").asInt(), "the same steps");
        assertEquals(32, control.path("final").path("examples").asInt(), "the same held-out images (evalLimit 32)");
        assertTrue(Files.exists(out.resolve("micro-x8.control.run/metrics.jsonl")));
        // the 2 x 2 table covers the 32 images, and its margins are the two reported accuracies
        assertEquals(32, comparison.path("bothRight").asInt() + comparison.path("onlyA").asInt() + comparison.path("onlyB").asInt()
                + comparison.path("bothWrong").asInt());
        assertEquals(r.path("training").path("final").path("top1").asDouble(), comparison.path("accuracyA").asDouble(), 1e-12);
        assertEquals(control.path("final").path("top1").asDouble(), comparison.path("accuracyB").asDouble(), 1e-12);
        assertTrue(comparison.path("ci95Low").asDouble() <= comparison.path("difference").asDouble()
                && comparison.path("difference").asDouble() <= comparison.path("ci95High").asDouble());
        double p = comparison.path("mcnemarExactP").asDouble();
        assertTrue(p > 0 && p <= 1, "McNemar p " + p);
        // the control is the base itself, fine-tuned: the written (grown) model is not it
        assertEquals(8, dev.scalenet.vit.VisionTransformer.blocksOf(VitModel.load(out.resolve("micro-x8.zip"), null).graph()).depth());

        Properties props = properties();
        assertEquals(control.path("final").path("top1").asText(), props.getProperty("control.top1"));
        assertEquals(comparison.path("onlyA").asText(), props.getProperty("comparison.onlyGrown"));
        assertEquals(comparison.path("onlyB").asText(), props.getProperty("comparison.onlyControl"));
        assertEquals(String.valueOf(p), props.getProperty("comparison.mcnemarExactP"));
        assertTrue(props.containsKey("comparison.ci95Low") && props.containsKey("comparison.ci95High"));
        String html = Files.readString(out.resolve(Report.HTML_FILE));
        assertTrue(html.contains("Grown model against its control") && html.contains("McNemar"), "the comparison section");
        assertTrue(report.summary().stream().anyMatch(l -> l.startsWith("grown vs control") && l.contains("95% CI")), report.summary().toString());
    }

    @Test
    @DisplayName("control without held-out data fails naming the setting")
    void controlNeedsHeldOutData(@TempDir Path classes) throws Exception {
        for (String c : List.of("a", "b")) {
            Path dir = Files.createDirectories(classes.resolve(c));
            java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(28, 28, java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
            javax.imageio.ImageIO.write(img, "png", dir.resolve("0.png").toFile());
        }
        InvalidSettingException e = assertThrows(InvalidSettingException.class,
                () -> job().recipe(tinyRecipe().control(true).build()).trainData(classes).build().run());
        assertEquals("control", e.setting());
    }

    @Test
    @DisplayName("without a name the model is named for its base and the plan's shape, a file name for any plan")
    void defaultName() {
        assertEquals(out.resolve("vit-micro-p7-d4-cyclic-8.zip"), job().name(null).build().modelFile());
        assertEquals(out.resolve("vit-micro-p7-d4-order-0-1-2-3-3-2-1-0.zip"),
                job().name(null).plan(ExpansionPlan.order(0, 1, 2, 3, 3, 2, 1, 0)).build().modelFile());
    }

    @Test
    @DisplayName("one seed for the job: the plan's adapters are seeded with the recipe's seed, whatever the plan said")
    void theRecipesSeedSeedsThePlan() throws Exception {
        ExpandJob seven = job().plan(ExpansionPlan.cyclic(8).withSeed(3)).recipe(tinyRecipe().seed(7).build()).build();
        assertEquals(7, seven.configuration().get("planSeed").asLong());
        assertEquals(TrainConfig.builder().build().seed(), job().build().configuration().get("planSeed").asLong(), "no recipe: its default");
    }

    @Test
    @DisplayName("untied growth with training needs trainable all: adjustments would keep the untied copies frozen")
    void untiedBlocksNeedEverythingTrained() {
        ExpansionPlan untied = ExpansionPlan.cyclic(8).withUntiedBlocks(true);
        InvalidSettingException e = assertThrows(InvalidSettingException.class, () -> job().plan(untied)
                .trainData(FashionMnist.dir()).recipe(tinyRecipe().trainable(Trainable.ADJUSTMENTS).build()).build());
        assertEquals("trainable", e.setting());
        assertEquals("adjustments", e.value());
        assertFalse(Files.exists(out.resolve("micro-x8.zip")));
        job().plan(untied).trainData(FashionMnist.dir()).recipe(tinyRecipe().trainable(Trainable.ALL).build()).build();
        job().plan(untied).build(); // no training: nothing to freeze
    }

    /** Top-1 of the model file on the first {@code n} test images: argmax of its logits against the labels, counted here. */
    private double top1OfWrittenModel(int n) throws IOException {
        VitModel written = VitModel.load(out.resolve("micro-x8.zip"), null);
        BatchLoader loader = BatchLoader.evaluation(FashionMnist.test(), written.dataConfig(), 32).limit(n).build();
        long correct = 0;
        long seen = 0;
        try (BatchLoader.Batches batches = loader.epoch(0)) {
            while (batches.hasNext()) {
                DataSet b = batches.next();
                INDArray predicted = written.graph().outputSingle(b.getFeatures()).argMax(1);
                INDArray actual = b.getLabels().argMax(1);
                for (int i = 0; i < b.numExamples(); i++) if (predicted.getLong(i) == actual.getLong(i)) correct++;
                seen += b.numExamples();
            }
        }
        assertEquals(n, seen);
        return (double) correct / n;
    }

    @Test
    @DisplayName("a rerun with unchanged inputs resumes from the run's checkpoint; another recipe starts afresh, naming it")
    void resumesOnlyWithUnchangedInputs() throws Exception {
        job().recipe(tinyRecipe().build()).trainData(FashionMnist.dir()).build().run();
        int[] first = RawBits.of(VitModel.load(out.resolve("micro-x8.zip"), null).graph().params());

        String log = stderrOf(() -> job().recipe(tinyRecipe().build()).trainData(FashionMnist.dir()).build().run());
        assertTrue(log.contains("micro-x8: resuming the fine-tuning from its checkpoint in "), log);
        assertTrue(log.contains("micro-x8: resuming from step 4 of 4"), log);
        assertEquals(4, json().path("training").path("resumedFromStep").asInt());
        assertArrayEquals(first, RawBits.of(VitModel.load(out.resolve("micro-x8.zip"), null).graph().params()),
                "resumed at the end: the same weights, bit for bit");

        TrainConfig otherRate = tinyRecipe().learningRate(1e-4).build();
        log = stderrOf(() -> job().recipe(otherRate).trainData(FashionMnist.dir()).build().run());
        assertTrue(log.contains("micro-x8: starting the fine-tuning afresh, not from the checkpoint in "), log);
        assertTrue(log.contains(": recipe has changed since it was written"), log);
        assertEquals(0, json().path("training").path("resumedFromStep").asInt());
    }

    @Test
    @DisplayName("turning the control on after a finished run reuses the grown model's run; a new plan reuses the control's")
    void controlAndPlanChangesReuseTheOtherRun() throws Exception {
        job().recipe(tinyRecipe().build()).trainData(FashionMnist.dir()).build().run();
        String log = stderrOf(() -> job().recipe(tinyRecipe().control(true).build()).trainData(FashionMnist.dir()).build().run());
        assertTrue(log.contains("micro-x8: resuming from step 4 of 4"), "the grown model is not trained again: " + log);
        assertTrue(json().has("comparison"), "and the control ran");

        ExpansionPlan rank4 = ExpansionPlan.cyclic(8).withAdapterRank(4);
        log = stderrOf(() -> job().plan(rank4).recipe(tinyRecipe().control(true).build()).trainData(FashionMnist.dir()).build().run());
        assertTrue(log.contains("micro-x8: starting the fine-tuning afresh, not from the checkpoint in ") && log.contains(": plan has changed"),
                "another plan trains the grown model again: " + log);
        assertTrue(log.contains("micro-x8 control: resuming from step 4 of 4"), "the control never used the plan: " + log);
    }

    @Test
    @DisplayName("the published report, HTML and properties name inputs by file name and SHA-256, never by a path of this machine")
    void outputsHoldNoPaths() throws Exception {
        job().recipe(tinyRecipe().build()).trainData(FashionMnist.dir()).baseModelCoordinates("org.example:vit-micro:1.0:safetensors")
                .build().run();
        JsonNode report = json();
        assertEquals("vit-micro-p7-d4.safetensors", report.path("base").path("name").asText());
        assertEquals("org.example:vit-micro:1.0:safetensors", report.path("base").path("coordinates").asText());
        assertEquals(Fingerprints.file(MICRO.weights()), report.path("base").path("sha256").asText());
        assertEquals("fashion-mnist", report.path("training").path("trainData").path("name").asText());
        assertEquals(Fingerprints.contents(FashionMnist.dir()), report.path("training").path("trainData").path("sha256").asText());
        assertEquals("vit-micro-p7-d4.safetensors", properties().getProperty("source.file"));
        assertEquals("org.example:vit-micro:1.0:safetensors", properties().getProperty("source.coordinates"));
        for (String file : new String[] {Report.JSON_FILE, Report.HTML_FILE, Report.PROPERTIES_FILE}) {
            String text = Files.readString(out.resolve(file)).replaceAll("data:image/png;base64,[A-Za-z0-9+/=]+", "");
            for (Path p : new Path[] {out, MICRO.weights().getParent(), FashionMnist.dir(), Path.of(System.getProperty("user.home")),
                    Path.of("").toAbsolutePath()}) {
                assertFalse(text.contains(p.toAbsolutePath().normalize().toString()), file + " names " + p);
            }
            assertFalse(ABSOLUTE_PATH.matcher(text).find(), file + " holds an absolute path: " + firstMatch(text));
        }
    }

    /** A '/'-rooted path of two or more parts not inside an HTML tag ("</td>") or a URL ("http://"). */
    private static final java.util.regex.Pattern ABSOLUTE_PATH = java.util.regex.Pattern.compile("(?<![<\\w:/.])/[\\w.-]+/[\\w.-]+");

    private static String firstMatch(String text) {
        java.util.regex.Matcher m = ABSOLUTE_PATH.matcher(text);
        return m.find() ? m.group() : "";
    }

    @Test
    @DisplayName("two jobs on one output folder, in two threads: the second fails naming the folder and the holder")
    void lockedBetweenThreads() throws Exception {
        ExpandJob holder = job().build();
        try (OutputLock ignored = holder.lockOutput()) {
            ExecutorService other = Executors.newSingleThreadExecutor();
            try {
                ExecutionException e = assertThrows(ExecutionException.class, () -> other.submit(() -> job().build().run()).get());
                OutputLock.OutputLockedException locked = assertInstanceOf(OutputLock.OutputLockedException.class, e.getCause());
                assertEquals(out.toAbsolutePath().normalize(), locked.dir());
                assertTrue(locked.getMessage().startsWith(out.toAbsolutePath().normalize() + " is in use by another scalenet job (process "
                        + ProcessHandle.current().pid() + " on "), locked.getMessage());
            } finally {
                other.shutdownNow();
            }
            assertFalse(Files.exists(out.resolve("micro-x8.zip")), "the refused job wrote nothing");
        }
        job().build().run(); // released: the folder is usable again
        assertTrue(Files.exists(out.resolve("micro-x8.zip")));
        assertFalse(Files.exists(out.resolve(OutputLock.FILE)), "a job that ended leaves no lock file behind");
    }

    @Test
    @DisplayName("two processes: a job fails while another JVM holds the folder, naming its pid; a SIGKILL frees the folder")
    void lockedBetweenProcesses() throws Exception {
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), HoldLock.class.getName(), out.toString())
                .redirectErrorStream(true).start();
        try {
            BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("locked", lines.readLine(), "the child took the lock");
            OutputLock.OutputLockedException e = assertThrows(OutputLock.OutputLockedException.class, () -> job().build().run());
            assertTrue(e.holder().startsWith("process " + child.pid() + " on "), e.holder());
        } finally {
            child.destroyForcibly().waitFor();
        }
        job().build().run(); // the operating system dropped the killed holder's lock
        assertTrue(Files.exists(out.resolve("micro-x8.zip")));
    }

    /** {@code HoldLock <dir>}: takes the output lock on dir, says "locked", and holds it until killed. */
    public static final class HoldLock {
        public static void main(String[] args) throws Exception {
            OutputLock lock = OutputLock.acquire(Path.of(args[0]));
            System.out.println("locked");
            System.out.flush();
            Thread.sleep(600_000);
            lock.close();
        }
    }

    private interface Action {
        void run() throws Exception;
    }

    /** What the action logs (slf4j-simple writes to System.err). */
    private static String stderrOf(Action action) throws Exception {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            action.run();
        } finally {
            System.setErr(original);
        }
        String text = captured.toString(StandardCharsets.UTF_8);
        original.print(text);
        return text;
    }

    private JsonNode json() throws IOException {
        return new ObjectMapper().readTree(out.resolve(Report.JSON_FILE).toFile());
    }

    @Test
    @DisplayName("up to date only while base model, plan, recipe, data and the model file the record vouches for are unchanged")
    void upToDate(@TempDir Path tmp) throws Exception {
        ExpandJob j = job().build();
        assertFalse(j.upToDate(), "nothing written yet");
        j.run();
        assertTrue(job().build().upToDate());
        assertFalse(job().plan(ExpansionPlan.cyclic(8).withAdapterRank(4)).build().upToDate(), "another adapter rank");
        assertFalse(job().plan(ExpansionPlan.interleave(8)).build().upToDate(), "another strategy");
        byte[] weights = Files.readAllBytes(MICRO.weights());
        weights[weights.length - 1] ^= 1; // one bit of the last weight
        Path otherBase = Files.write(tmp.resolve("other.safetensors"), weights);
        assertFalse(job().baseModel(otherBase).build().upToDate(), "another base model");
        assertFalse(job().evalData(FashionMnist.dir()).build().upToDate(), "now with held-out data");
        assertFalse(job().trainData(FashionMnist.dir()).recipe(quickRecipe()).build().upToDate(), "now with training");

        TrainConfig.Builder recipe = tinyRecipe();
        job().trainData(FashionMnist.dir()).recipe(recipe.build()).build().run();
        assertTrue(job().trainData(FashionMnist.dir()).recipe(recipe.build()).build().upToDate());
        assertFalse(job().trainData(FashionMnist.dir()).recipe(recipe.learningRate(2e-3).build()).build().upToDate(), "another recipe");

        Path zip = out.resolve("micro-x8.zip");
        Files.writeString(zip, "a model that a run under other settings wrote before it failed");
        assertFalse(job().trainData(FashionMnist.dir()).recipe(tinyRecipe().build()).build().upToDate(), "a model file the record does not vouch for");
        Files.delete(zip);
        assertFalse(job().trainData(FashionMnist.dir()).recipe(tinyRecipe().build()).build().upToDate(), "model file gone");
    }

    @Test
    @DisplayName("bad settings fail naming the setting and leave no model behind")
    void badSettings() {
        InvalidSettingException depth = assertThrows(InvalidSettingException.class,
                () -> job().plan(ExpansionPlan.cyclic(3)).build().run());
        assertEquals("depth", depth.setting());
        IOException missing = assertThrows(IOException.class,
                () -> job().baseModel(out.resolve("nope.safetensors")).build().run());
        assertTrue(missing.getMessage().contains("nope.safetensors"), missing.getMessage());
        assertFalse(Files.exists(out.resolve("micro-x8.zip")));
        assertFalse(Files.exists(out.resolve(Report.PROPERTIES_FILE)));
    }

    private Properties properties() throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(out.resolve(Report.PROPERTIES_FILE))) {
            p.load(in);
        }
        return p;
    }
}
