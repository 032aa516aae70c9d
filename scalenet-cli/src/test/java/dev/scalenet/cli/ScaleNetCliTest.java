package dev.scalenet.cli;

import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.job.ExpandJob;
import dev.scalenet.train.TrainConfig;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line's parsing: --help everywhere, and every malformed input an error naming its option. */
class ScaleNetCliTest {
    /** What a run printed and returned. */
    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        CommandLine cli = ScaleNetCli.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"expand", "train", "evaluate", "predict", "features", "export", "experiment", "split"})
    @DisplayName("every command has --help: usage, its description and its options, exit code 0")
    void help(String command) {
        Run r = run(command, "--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Usage: scalenet " + command), r.out());
        assertTrue(r.out().contains("--help"), r.out());
        assertEquals("", r.err());
    }

    @Test
    @DisplayName("scalenet --help lists the eight commands; no command is a usage error")
    void topLevel() {
        Run r = run("--help");
        assertEquals(0, r.code());
        for (String c : new String[] {"expand", "train", "evaluate", "predict", "features", "export", "experiment", "split"}) {
            assertTrue(r.out().contains("  " + c), c + " in\n" + r.out());
        }
        Run none = run();
        assertEquals(2, none.code());
        assertTrue(none.err().contains("give a command"), none.err());
    }

    @Test
    @DisplayName("recipe settings are options of train, expand and experiment, with their defaults")
    void recipeOptionsInHelp() {
        String help = run("expand", "--help").out();
        assertTrue(help.contains("--learningRate=<double>")
                && help.contains("recipe: learningRate (default: " + TrainConfig.builder().build().learningRate() + ")"), help);
        assertTrue(help.contains("--trainLimit=<int>") && help.contains("recipe: trainLimit (default: 0)"), help);
        assertTrue(run("train", "--help").out().contains("recipe: learningRate (default: 0.001)"), "train starts from the pretraining recipe");
        assertTrue(run("experiment", "--help").out().contains("--batchSize=<int>"));
        assertTrue(run("train", "--help").out().contains("--epochs=<int>"));
        assertTrue(run("train", "--help").out().contains("--workers=<int>"), "data-parallel workers (ParallelWrapper)");
        assertFalse(run("predict", "--help").out().contains("--epochs"), "predict has no recipe");
    }

    @Test
    @DisplayName("expand's defaults are the library's, the same as the plugin's and the Spark job's, and its help shows them")
    void expandDefaultsAreTheLibrarys() {
        CommandLine cli = ScaleNetCli.commandLine();
        cli.parseArgs("expand");
        ExpandCommand expand = cli.getSubcommands().get("expand").getCommand();
        ExpansionPlan plan = ExpansionPlan.builder().strategy(expand.strategy).depth(expand.depth).adapterRank(expand.rank)
                .adapterPositions(expand.adapterPositions).functionPreserving(expand.functionPreserving)
                .untiedBlocks(expand.untiedBlocks).untiedNorms(expand.untiedNorms).build();
        assertEquals(ExpansionPlan.builder().build().toString(), plan.toString());
        assertEquals(ExpandJob.DEFAULT_RESUME, expand.resume);
        assertEquals(TrainConfig.builder().build(), expand.recipeDefaults());
        String help = run("expand", "--help").out().replaceAll("\\s+", " "); // as read, not as wrapped
        assertTrue(help.contains("starts as the base (default: true)"), help);
        assertTrue(help.contains("from its checkpoint (default: true)"), help);
    }

    @Test
    @DisplayName("every plugin parameter name that means something on the command line is an expand option")
    void pluginNamesAreOptions(@TempDir Path dir) {
        String help = run("expand", "--help").out();
        for (String name : new String[] {"--baseModel", "--modelConfig", "--adapterRank", "--trainData", "--evalData",
                "--outputDirectory", "--order", "--name", "--depth", "--strategy", "--adapterPositions", "--functionPreserving",
                "--untiedBlocks", "--untiedNorms", "--resume"}) {
            assertTrue(help.contains(name), name + " in\n" + help);
        }
        Run order = run("expand", "--order", "0,1,two", "--out", dir.toString());
        assertEquals(2, order.code(), order.err());
        assertTrue(order.err().contains("'--order': 0,1,two: expected source block indices"), order.err());
    }

    @Test
    @DisplayName("expand with data that is not there explains it like evaluate: the option, the folder, what it needs, where relative paths start")
    void missingData(@TempDir Path dir) {
        Run r = run("expand", "--trainData", "no/such/folder", "--out", dir.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("'--data': no/such/folder: expected a dataset folder"), r.err());
        assertTrue(r.err().contains("relative paths start at"), r.err());
        assertFalse(Files.exists(dir.resolve("base")), "nothing written");
    }

    @Test
    @DisplayName("-V prints the version on every command")
    void versionEverywhere() {
        for (String command : new String[] {"expand", "train", "evaluate"}) {
            Run r = run(command, "-V");
            assertEquals(0, r.code(), r.err());
            assertTrue(r.out().startsWith("scalenet "), command + ": " + r.out());
        }
    }

    @Test
    @DisplayName("an unknown option is an error naming it (exit code 2)")
    void unknownOption() {
        Run r = run("expand", "--dept", "8");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("Unknown option") && r.err().contains("'--dept'"), r.err());
    }

    @Test
    @DisplayName("a boolean takes true or false only: --resume yes is an error naming --resume")
    void strictBoolean() {
        Run r = run("train", "--arch", "a.json", "--resume", "yes");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--resume") && r.err().contains("yes"), r.err());
    }

    @Test
    @DisplayName("a malformed number is an error naming the option and the value")
    void malformedNumbers() {
        Run depth = run("expand", "--depth", "8x");
        assertEquals(2, depth.code());
        assertTrue(depth.err().contains("--depth") && depth.err().contains("8x"), depth.err());
        Run lr = run("train", "--arch", "a.json", "--learningRate", "fast");
        assertEquals(2, lr.code());
        assertTrue(lr.err().contains("--learningRate") && lr.err().contains("fast"), lr.err());
    }

    @Test
    @DisplayName("a recipe value that cannot work fails before any work, naming the option and what is allowed")
    void invalidRecipeValue(@TempDir Path dir) {
        Run r = run("expand", "--epochs", "0", "--out", dir.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("'--epochs': 0: expected at least 1"), r.err());
        Run positions = run("expand", "--adapterPositions", "some", "--out", dir.toString());
        assertEquals(2, positions.code(), positions.err());
        assertTrue(positions.err().contains("'--adapterPositions': some: expected inserted or all"), positions.err());
        Run gates = run("expand", "--functionPreserving", "yes", "--out", dir.toString());
        assertEquals(2, gates.code(), gates.err());
        assertTrue(gates.err().contains("--functionPreserving"), gates.err());
        Run control = run("expand", "--control", "yes", "--out", dir.toString());
        assertEquals(2, control.code(), control.err());
        assertTrue(control.err().contains("--control"), control.err());
        Run ema = run("expand", "--workers", "2", "--emaDecay", "0.999", "--out", dir.toString());
        assertEquals(2, ema.code(), ema.err());
        assertTrue(ema.err().contains("emaDecay") && ema.err().contains("workers is 2"), ema.err());
        Run strategy = run("expand", "--strategy", "zigzag", "--out", dir.toString());
        assertEquals(2, strategy.code(), strategy.err());
        assertTrue(strategy.err().contains("zigzag"), strategy.err());
        Run arms = run("experiment", "--arms", "base,scratch", "--out", dir.toString());
        assertEquals(2, arms.code(), arms.err());
        assertTrue(arms.err().contains("'--arms'") && arms.err().contains("scratch_full"), arms.err());
        assertFalse(Files.exists(dir.resolve("base")), "nothing written");
        Run finalTest = run("experiment", "--final", "yes", "--out", dir.toString());
        assertEquals(2, finalTest.code(), finalTest.err());
        assertTrue(finalTest.err().contains("--final"), finalTest.err());
        assertFalse(Files.exists(dir.resolve("seed0")), "nothing written");
    }

    @Test
    @DisplayName("train needs exactly one of --arch and --model; required options are named when missing")
    void requiredOptions() {
        Run neither = run("train");
        assertEquals(2, neither.code());
        assertTrue(neither.err().contains("--arch") && neither.err().contains("--model"), neither.err());
        Run both = run("train", "--arch", "a.json", "--model", "m.zip");
        assertEquals(2, both.code());
        assertTrue(both.err().contains("mutually exclusive"), both.err());
        Run predict = run("predict", "--model", "m.zip");
        assertEquals(2, predict.code());
        assertTrue(predict.err().contains("--inputs"), predict.err());
    }

    @Test
    @DisplayName("export --format onnx writes the .onnx file; an unknown format is a usage error naming --format")
    void exportOnnx(@TempDir Path dir) throws Exception {
        Path fixture = Path.of("../scalenet-dl4j-layers/src/test/resources/fixtures/timm/vit-micro-p7-d4.safetensors");
        Run r = run("export", "--model", fixture.toString(), "--format", "onnx", "--output", dir.resolve("micro").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.size(dir.resolve("micro.onnx")) > 4 * 53386, "the weights are in the file");
        Run bad = run("export", "--model", fixture.toString(), "--format", "tflite", "--output", dir.resolve("m").toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--format") && bad.err().contains("safetensors or onnx"), bad.err());
    }

    @Test
    @DisplayName("train --arch reads its JSON strictly: a key given twice fails with exit code 1, naming the file and the key")
    void strictArch(@TempDir Path dir) throws Exception {
        Path arch = Files.writeString(dir.resolve("arch.json"), "{\"constructor\": {\"depth\": 2, \"depth\": 12}}");
        Run r = run("train", "--arch", arch.toString(), "--data", "none", "--out", dir.resolve("out").toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains(arch.toAbsolutePath() + ": not valid JSON: the key 'depth' appears a second time at line 1,"), r.err());
        assertFalse(Files.exists(dir.resolve("out")), "nothing written");
    }

    @Test
    @DisplayName("a missing model file fails with exit code 1 and the file's name")
    void missingFile(@TempDir Path dir) {
        Run r = run("export", "--model", dir.resolve("nope.zip").toString(), "--output", dir.resolve("x.safetensors").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("nope.zip") && r.err().contains("not found"), r.err());
    }

    @Test
    @DisplayName("expand with an explicit --order and no --name names the model for the order, a file name")
    void explicitOrder(@TempDir Path dir) {
        Run r = run("expand", "--order", "0,1,2,3,3,2,1,0", "--data", "none", "--out", dir.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(java.nio.file.Files.isRegularFile(dir.resolve("vit_fmnist_d64_l4-order-0-1-2-3-3-2-1-0.zip")), r.out());
    }

    @Test
    @DisplayName("features --kind takes preLogits or tokens, and a bad one is named as --kind")
    void featuresKind(@TempDir Path dir) {
        Run r = run("features", "--model", dir.resolve("m.zip").toString(), "--inputs", dir.resolve("x.npy").toString(), "--kind", "pooled");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("Invalid value for option '--kind': pooled: expected preLogits or tokens (logits: the predict command)"), r.err());
    }

    @Test
    @DisplayName("a training step that cannot fit in this machine's memory fails before training, naming --batchSize and --recompute, after the estimate on stderr")
    void memoryCheck(@TempDir Path dir) throws Exception {
        String data = Path.of("../data/fashion-mnist").toAbsolutePath().normalize().toString();
        // a million images a step of the bundled model grown to 8 blocks: hundreds of GB expected, checked, never allocated
        Run r = run("expand", "--data", data, "--batchSize", "1000000", "--out", dir.resolve("out").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("memory: expected peak ") && r.err().contains("for a training step at batch 1000000, recompute off"), r.err());
        assertTrue(r.err().contains("memory: limits: JVM max heap "), r.err());
        assertTrue(r.err().contains("Invalid value for option '--batchSize': 1000000: expected a batch whose training step fits in memory:"
                + " the expected peak "), r.err());
        assertTrue(r.err().contains("or set recompute (the estimate with it: ") && r.err().contains("or set memoryCheck false"), r.err());
        assertFalse(java.nio.file.Files.exists(dir.resolve("out").resolve("vit_fmnist_d64_l4-cyclic-2x.zip")), "nothing written");

        Run train = run("train", "--model", dir.resolve("out/base").toFile().listFiles((d, n) -> n.endsWith(".safetensors"))[0].toString(),
                "--data", data, "--batchSize", "1000000", "--out", dir.resolve("train").toString());
        assertEquals(2, train.code(), train.err());
        assertTrue(train.err().contains("memory: expected peak ") && train.err().contains("'--batchSize': 1000000"), train.err());
        assertFalse(java.nio.file.Files.exists(dir.resolve("train/run")), "no run folder");
    }

    @Test
    @DisplayName("split writes the experiment's validation carve as a dataset folder (train-* the rest, val-* the evaluation split) and refuses to overwrite it")
    void split(@TempDir Path dir) throws Exception {
        Path data = Path.of("../data/fashion-mnist").toAbsolutePath().normalize();
        Path out = dir.resolve("split");
        Run r = run("split", "--data", data.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("55000 training examples") && r.out().contains("5000 validation examples")
                && r.out().contains("hold-out seed 20261129"), r.out());
        dev.scalenet.data.ImageDataset train = dev.scalenet.data.Datasets.open(data, dev.scalenet.data.Split.TRAIN);
        dev.scalenet.data.ImageDataset expected = dev.scalenet.data.HoldOut.carve(train, 5000, 0, 20261129L).validation();
        dev.scalenet.data.ImageDataset written = dev.scalenet.data.Datasets.open(out, dev.scalenet.data.Split.EVAL);
        assertEquals(5000, written.size());
        assertEquals(55000, dev.scalenet.data.Datasets.open(out, dev.scalenet.data.Split.TRAIN).size());
        for (int i = 0; i < written.size(); i += 97) {
            assertEquals(expected.label(i), written.label(i), "label " + i);
            org.junit.jupiter.api.Assertions.assertArrayEquals(expected.image(i).data(), written.image(i).data(), "pixels " + i);
        }
        Run again = run("split", "--data", data.toString(), "--out", out.toString());
        assertEquals(1, again.code(), again.err());
        assertTrue(again.err().contains(out.toString()) && again.err().contains("already exists"), again.err());
    }
}
