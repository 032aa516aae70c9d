package dev.scalenet.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.data.Datasets;
import dev.scalenet.data.Split;
import dev.scalenet.job.Evaluation;
import dev.scalenet.job.Report;
import dev.scalenet.train.EvalResult;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.vit.VitModel;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code spark-submit} entry point: its arguments, and one whole run in Spark local mode. */
class SparkFineTuneTest {
    @TempDir
    Path dir;

    private static InvalidSettingException refused(String... args) {
        return assertThrows(InvalidSettingException.class, () -> SparkArguments.parse(args).recipe(2));
    }

    @Test
    @DisplayName("bad arguments fail naming the option and what it takes")
    void argumentErrors() {
        assertEquals("option", refused("--data", "d", "--out", "o", "--lernRate", "1").setting(), "a misspelt option");
        assertTrue(refused("--data", "d", "--out", "o", "--lernRate", "1").getMessage().contains("--learningRate"),
                "the message lists the options");
        assertEquals("argument 1", refused("data").setting(), "a value without an option");
        assertEquals("out", refused("--data", "d", "--out").setting(), "an option without its value");
        assertEquals("data", refused("--out", "o").setting(), "--data is required");
        assertEquals("out", refused("--data", "d").setting(), "--out is required");
        assertEquals("epochs", refused("--data", "d", "--out", "o", "--epochs", "2", "--epochs", "3").setting(), "given twice");
        InvalidSettingException number = refused("--data", "d", "--out", "o", "--learningRate", "fast");
        assertEquals("learningRate", number.setting());
        assertTrue(number.getMessage().contains("expected a number"), number.getMessage());
        assertEquals("batchSize", refused("--data", "d", "--out", "o", "--batchSize=1.5").setting(), "a whole number");
        assertEquals("resume", refused("--data", "d", "--out", "o", "--resume", "yes").setting());
        assertEquals("shipData", refused("--data", "d", "--out", "o", "--shipData", "yes").setting());
        assertEquals("strategy", refused("--data", "d", "--out", "o", "--strategy", "spiral").setting());
        assertEquals("learningRate", refused("--data", "d", "--out", "o", "--learningRate", "-1").setting(), "checked by the recipe");
        InvalidSettingException ema = refused("--data", "d", "--out", "o", "--emaDecay", "0.999");
        assertEquals("emaDecay", ema.setting(), "no EMA of the weights across Spark tasks");
        assertTrue(ema.getMessage().contains("workers"), ema.getMessage());
        InvalidSettingException one = refused("--data", "d", "--out", "o", "--workers", "1");
        assertEquals("workers", one.setting());
        assertTrue(one.getMessage().contains("2 or more"), one.getMessage());
    }

    @Test
    @DisplayName("the defaults: --workers is Spark's parallelism, the recipe otherwise TrainConfig's; --key=value works")
    void defaults() {
        SparkArguments a = SparkArguments.parse("--data", "d", "--out=o", "--epochs", "3", "--depth", "8");
        assertEquals(5, a.recipe(5).workers());
        assertEquals(3, a.recipe(5).epochs());
        assertEquals(dev.scalenet.train.TrainConfig.builder().build().learningRate(), a.recipe(5).learningRate());
        assertEquals(8, a.plan.depth());
        assertEquals(Path.of("o"), a.out);
        assertTrue(a.resume);
        assertFalse(a.shipData, "the data is read at --data on every executor unless shipping is asked for");
        assertTrue(SparkArguments.parse("--data", "d", "--out", "o", "--shipData", "true").shipData);
        assertEquals(4, SparkArguments.parse("--data", "d", "--out", "o", "--workers", "4").recipe(5).workers());
    }

    @Test
    @DisplayName("growth and resume default to the library's, the same as the plugin's and the command line's; plugin names are accepted")
    void libraryDefaultsAndPluginNames() throws Exception {
        SparkArguments a = SparkArguments.parse("--data", "d", "--out", "o");
        assertEquals(dev.scalenet.expand.ExpansionPlan.builder().build().toString(), a.plan.toString());
        assertEquals(dev.scalenet.job.ExpandJob.DEFAULT_RESUME, a.resume);
        SparkArguments named = SparkArguments.parse("--trainData", "d", "--outputDirectory", "o", "--adapterRank", "4",
                "--order", "0,1,2,3,3,2,1,0", "--functionPreserving", "false");
        assertEquals(Path.of("d"), named.data);
        assertEquals(4, named.plan.adapterRank());
        assertEquals(false, named.plan.functionPreserving());
        assertEquals(8, named.plan.resolveOrder(4).length);
        assertEquals(dir.resolve("o").resolve("vit_fmnist_d64_l4-order-0-1-2-3-3-2-1-0.zip"),
                SparkFineTune.job(SparkArguments.parse("--data", "d", "--out", dir.resolve("o").toString(), "--order", "0,1,2,3,3,2,1,0"),
                        TrainConfig.builder().build()).build().modelFile(), "an explicit order names the model as scalenet expand does");
        assertEquals("mine.zip", SparkFineTune.job(SparkArguments.parse("--data", "d", "--out", dir.resolve("o").toString(), "--name", "mine"),
                TrainConfig.builder().build()).build().modelFile().getFileName().toString());
    }

    @Test
    @DisplayName("main: a setting the job refuses (untiedBlocks without trainable all) exits 2 with its message, as a bad argument does")
    void jobRefusalsExit2() throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setProperty("spark.master", "local[2]");
        System.setProperty("spark.ui.enabled", "false");
        System.setProperty("spark.driver.host", "127.0.0.1");
        int code;
        try {
            code = SparkFineTune.run(new String[] {"--data", SparkEngineTest.DATA.toString(), "--out", dir.resolve("out").toString(),
                    "--untiedBlocks", "true"}, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
        } finally {
            System.clearProperty("spark.master");
            System.clearProperty("spark.ui.enabled");
            System.clearProperty("spark.driver.host");
        }
        assertEquals(2, code, err.toString(StandardCharsets.UTF_8));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains(
                "scalenet-spark: trainable = adjustments: expected all when untiedBlocks is true"), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    @DisplayName("--shipData: a folder above the limit is refused naming shipData and the limit; a missing folder naming data")
    void shipDataLimit() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.write(data.resolve("images.bin"), new byte[3 << 20]);
        assertEquals(1, ShippedData.shippable(data, 3 << 20).size(), "at the limit: shipped");
        InvalidSettingException over = assertThrows(InvalidSettingException.class, () -> ShippedData.shippable(data, 2 << 20));
        assertEquals("shipData", over.setting());
        assertTrue(over.getMessage().contains("(3.0 MiB)") && over.getMessage().contains("at most 2 MiB"), over.getMessage());
        assertEquals("data", assertThrows(InvalidSettingException.class,
                () -> ShippedData.shippable(dir.resolve("missing"), 2 << 20)).setting());
        assertEquals(1024, ShippedData.LIMIT_BYTES >> 20, "the limit the Scaling out page states");
    }

    @Test
    @DisplayName("main: argument errors exit 2 with the message and write nothing; no Spark master is an error too")
    void exitCodes() throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Path out = dir.resolve("out");
        int code = SparkFineTune.run(new String[] {"--data", "d", "--out", out.toString(), "--epochs", "none"},
                new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(2, code);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("epochs = none: expected a whole number"), err.toString(StandardCharsets.UTF_8));
        assertFalse(Files.exists(out));
        String master = System.clearProperty("spark.master");
        try {
            err.reset();
            code = SparkFineTune.run(new String[] {"--data", "d", "--out", out.toString(), "--emaDecay", "0.999"},
                    new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(2, code);
            assertTrue(err.toString(StandardCharsets.UTF_8).contains("emaDecay = 0.999"), "the recipe is checked before Spark"
                    + " is needed: " + err.toString(StandardCharsets.UTF_8));
            err.reset();
            code = SparkFineTune.run(new String[] {"--data", "d", "--out", out.toString()},
                    new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(2, code);
            assertTrue(err.toString(StandardCharsets.UTF_8).contains("no Spark master"), err.toString(StandardCharsets.UTF_8));
        } finally {
            if (master != null) System.setProperty("spark.master", master);
        }
        ByteArrayOutputStream help = new ByteArrayOutputStream();
        assertEquals(0, SparkFineTune.run(new String[] {"--help"}, new PrintStream(help, true, StandardCharsets.UTF_8), System.err));
        assertTrue(help.toString(StandardCharsets.UTF_8).contains("--learningRate"));
    }

    @Test
    @DisplayName("main in local[2]: grows the bundled model, fine-tunes it on Spark, writes the zip and the report of a"
            + " single-machine run; the report's accuracy is the written zip's")
    void endToEnd() throws Exception {
        Path out = dir.resolve("out");
        System.setProperty("spark.master", "local[2]");
        System.setProperty("spark.ui.enabled", "false");
        System.setProperty("spark.driver.host", "127.0.0.1");
        int code;
        try {
            code = SparkFineTune.run(new String[] {"--data", SparkEngineTest.DATA.toString(), "--out", out.toString(),
                    "--depth", "8", "--rank", "8", "--epochs", "1", "--batchSize", "32", "--trainLimit", "256",
                    "--evalLimit", "200", "--warmupEpochs", "0.5", "--learningRate", "1e-3"}, System.out, System.err);
        } finally {
            System.clearProperty("spark.master");
            System.clearProperty("spark.ui.enabled");
            System.clearProperty("spark.driver.host");
        }
        assertEquals(0, code);
        String name = "vit_fmnist_d64_l4-cyclic-8"; // the base model's name and the plan, as the scalenet expand command names it
        Path zip = out.resolve(name + ".zip");
        for (Path f : new Path[] {zip, out.resolve(Report.JSON_FILE), out.resolve(Report.HTML_FILE), out.resolve(Report.PROPERTIES_FILE),
                out.resolve(name + ".run").resolve("metrics.jsonl"), out.resolve(name + ".run").resolve("curve.png")}) {
            assertTrue(Files.isRegularFile(f), f + " written");
        }
        JsonNode report = new ObjectMapper().readTree(out.resolve(Report.JSON_FILE).toFile());
        assertEquals(4, report.at("/training/steps").asLong(), "256 images in batches of 32 on 2 tasks: 4 rounds");
        assertEquals(2, report.at("/training/recipe/workers").asInt(), "workers: Spark's local[2] parallelism");
        assertEquals(8, report.at("/expansion/depth").asInt());
        // the metrics of steps trained on the executors: one line a round (4 rounds < 20 lines an epoch), with the
        // tasks' mean loss and the throughput; the gradient norm is not known on the driver
        long trainLines = 0;
        for (String line : Files.readAllLines(out.resolve(name + ".run").resolve("metrics.jsonl"))) {
            JsonNode m = new ObjectMapper().readTree(line);
            if (!"train".equals(m.path("event").asText())) continue;
            trainLines++;
            assertTrue(m.get("loss").asDouble() > 0 && Double.isFinite(m.get("loss").asDouble()), line);
            assertTrue(m.get("imagesPerSecond").asDouble() > 0, line);
            assertFalse(m.has("gradNorm"), line);
        }
        assertEquals(4, trainLines);

        VitModel model = VitModel.load(zip, null);
        EvalResult again = Evaluation.of(model, Datasets.open(SparkEngineTest.DATA, Split.EVAL), 32, 200);
        assertEquals(report.at("/training/final/top1").asDouble(), again.top1(), 0.0, "the report's accuracy is the zip's");
        assertEquals(report.at("/training/final/loss").asDouble(), again.loss(), 1e-6);
        Properties p = new Properties();
        try (var in = Files.newInputStream(out.resolve(Report.PROPERTIES_FILE))) {
            p.load(in);
        }
        assertEquals(dev.scalenet.io.Fingerprints.file(zip), p.getProperty("model.sha256"));
    }
}
