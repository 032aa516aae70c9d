package dev.scalenet.maven;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.job.OutputLock;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.train.Trainable;
import org.apache.maven.model.Build;
import org.apache.maven.model.Model;
import org.apache.maven.plugin.MojoExecution;
import org.apache.maven.plugin.MojoFailureException;
import org.apache.maven.plugin.descriptor.MojoDescriptor;
import org.apache.maven.plugin.logging.SystemStreamLog;
import org.apache.maven.project.MavenProject;
import org.apache.maven.project.MavenProjectHelper;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExpandMojoTest {
    /** The library's timm fixture (surefire runs in this module's folder). */
    static final Path FIXTURES = Path.of("../scalenet-dl4j-layers/src/test/resources/fixtures/timm").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    final List<String> attached = new ArrayList<>();
    final List<String> info = new ArrayList<>();

    /** The version the plugin descriptor reports, part of the up-to-date check. */
    String pluginVersion = "0.1.0";

    private ExpandMojo mojo() {
        MavenProjectHelper helper = new MavenProjectHelper() {
            @Override public void attachArtifact(MavenProject p, String type, String classifier, File file) {
                attached.add(type + ":" + classifier + ":" + file.getName());
            }
            @Override public void attachArtifact(MavenProject p, String type, File file) { throw new AssertionError(); }
            @Override public void attachArtifact(MavenProject p, File file, String classifier) { throw new AssertionError(); }
            @Override public void addResource(MavenProject p, String d, List<String> i, List<String> e) { throw new AssertionError(); }
            @Override public void addTestResource(MavenProject p, String d, List<String> i, List<String> e) { throw new AssertionError(); }
        };
        ExpandMojo m = new ExpandMojo(null, helper);
        Model model = new Model();
        model.setGroupId("org.example");
        model.setArtifactId("vit");
        model.setVersion("1.0");
        model.setBuild(new Build());
        m.project = new MavenProject(model);
        m.project.setFile(dir.resolve("pom.xml").toFile());
        MojoDescriptor descriptor = new MojoDescriptor();
        descriptor.setGoal("expand");
        org.apache.maven.plugin.descriptor.PluginDescriptor plugin = new org.apache.maven.plugin.descriptor.PluginDescriptor();
        plugin.setGroupId("dev.scalenet");
        plugin.setArtifactId("scalenet-maven-plugin");
        plugin.setVersion(pluginVersion);
        descriptor.setPluginDescriptor(plugin);
        m.mojoExecution = new MojoExecution(descriptor);
        m.backend = "auto";
        m.outputDirectory = dir.resolve("out").toFile();
        m.name = "vit";
        m.classifier = "scalenet";
        m.attach = true;
        m.setLog(new SystemStreamLog() {
            @Override public void info(CharSequence content) { info.add(content.toString()); super.info(content); }
        });
        return m;
    }

    @Test
    @DisplayName("depth + strategy make the plan; adapterRank and untiedNorms refine it (the job seeds it with the recipe's seed)")
    void plan() throws Exception {
        ExpandMojo m = mojo();
        m.depth = 8;
        m.strategy = "interleave";
        m.adapterRank = 4;
        m.untiedNorms = true;
        ExpansionPlan p = m.plan();
        assertEquals(ExpansionPlan.Strategy.INTERLEAVE, p.strategy());
        assertArrayEquals(new int[] {0, 0, 1, 1, 2, 2, 3, 3}, p.resolveOrder(4));
        assertEquals(4, p.adapterRank());
        assertTrue(p.untiedNorms());
    }

    @Test
    @DisplayName("a POM that sets nothing gets the library's recommended plan and recipe and resume: one default per setting, declared in the library")
    void defaultsAreTheLibrarys() throws Exception {
        ExpandMojo m = mojo();
        assertEquals(ExpansionPlan.builder().build().toString(), m.plan().toString());
        assertTrue(m.plan().functionPreserving(), "the recommended function-preserving start");
        assertEquals(TrainConfig.builder().build(), m.recipe());
        assertEquals(null, m.resume, "unset: ExpandJob.DEFAULT_RESUME applies");
        // no expand parameter of a growth, recipe or resume setting declares a default of its own in the descriptor
        for (java.lang.reflect.Field f : ExpandMojo.class.getDeclaredFields()) {
            org.apache.maven.plugins.annotations.Parameter p = f.getAnnotation(org.apache.maven.plugins.annotations.Parameter.class);
            boolean librarySetting = ExpansionPlan.Builder.defaults().containsKey(f.getName()) || f.getName().equals("resume")
                    || TrainConfig.builder().build().toJson().has(f.getName());
            if (p != null && librarySetting) assertEquals("", p.defaultValue(), f.getName() + " must leave its default to the library");
        }
    }

    @Test
    @DisplayName("functionPreserving, adapterPositions and untiedBlocks reach the plan; a bad adapterPositions names the parameter")
    void growthOptions() throws Exception {
        ExpandMojo m = mojo();
        ExpansionPlan defaults = m.plan();
        assertFalse(defaults.untiedBlocks());
        assertEquals(ExpansionPlan.AdapterPositions.INSERTED, defaults.adapterPositions());
        m.functionPreserving = false;
        assertFalse(m.plan().functionPreserving(), "the paper's start, when asked for");
        m.functionPreserving = true;
        m.untiedBlocks = true;
        m.adapterPositions = "all";
        ExpansionPlan p = m.plan();
        assertTrue(p.functionPreserving() && p.untiedBlocks());
        assertEquals(ExpansionPlan.AdapterPositions.ALL, p.adapterPositions());
        m.adapterPositions = "everywhere";
        MojoFailureException e = assertThrows(MojoFailureException.class, m::plan);
        assertTrue(e.getMessage().startsWith("Invalid <adapterPositions> (-Dscalenet.adapterPositions) = everywhere: expected inserted or all"),
                e.getMessage());
    }

    @Test
    @DisplayName("an order replaces depth and strategy; a depth that disagrees with it is an error naming <depth>")
    void order() throws Exception {
        ExpandMojo m = mojo();
        m.order = "[0, 1, 1, 2, 3, 3]";
        m.strategy = "interleave";
        assertArrayEquals(new int[] {0, 1, 1, 2, 3, 3}, m.plan().resolveOrder(4));
        m.depth = 8;
        MojoFailureException e = assertThrows(MojoFailureException.class, m::plan);
        assertTrue(e.getMessage().startsWith("Invalid <depth> (-Dscalenet.depth) = 8: expected nothing, or the length of the order (6)"), e.getMessage());
        m.depth = null;
        m.order = "0,1,two";
        e = assertThrows(MojoFailureException.class, m::plan);
        assertTrue(e.getMessage().startsWith("Invalid <order> (-Dscalenet.order) = 0,1,two: expected source block indices"), e.getMessage());
    }

    @Test
    @DisplayName("without depth or order the plan doubles the base depth with the strategy")
    void defaultDepth() throws Exception {
        ExpansionPlan plan = mojo().plan();
        assertEquals(8, plan.depthFor(4));
        assertEquals(6, plan.depthFor(3));
        assertEquals(ExpansionPlan.Strategy.CYCLIC, plan.strategy());
    }

    @Test
    @DisplayName("an unknown strategy fails in the library as the setting 'strategy' and is reported as the parameter <strategy>")
    void strategy() {
        ExpandMojo m = mojo();
        m.depth = 8;
        m.strategy = "spiral";
        MojoFailureException e = assertThrows(MojoFailureException.class, m::plan);
        assertTrue(e.getMessage().startsWith("Invalid <strategy> (-Dscalenet.strategy) = spiral: expected cyclic or interleave"),
                e.getMessage());
    }

    @Test
    @DisplayName("recipe: given parameters are set, absent ones keep the library's defaults, bad ones name their setting")
    void recipe() {
        ExpandMojo m = mojo();
        m.epochs = 2;
        m.learningRate = 1e-3;
        m.trainable = "adjustments";
        TrainConfig r = m.recipe();
        assertEquals(2, r.epochs());
        assertEquals(1e-3, r.learningRate());
        assertEquals(Trainable.ADJUSTMENTS, r.trainable());
        assertEquals(TrainConfig.builder().build().batchSize(), r.batchSize());
        m.batchSize = 0;
        assertEquals("batchSize", assertThrows(InvalidSettingException.class, m::recipe).setting());
    }

    @Test
    @DisplayName("every recipe setting's parameter reaches the recipe: each, set alone to a value other than its default, comes back from recipe()")
    void everyRecipeParameterReachesTheRecipe() throws Exception {
        ObjectNode defaults = TrainConfig.builder().build().toJson();
        for (Iterator<Map.Entry<String, JsonNode>> it = defaults.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> setting = it.next();
            ExpandMojo m = mojo();
            Field f = ExpandMojo.class.getDeclaredField(setting.getKey());
            JsonNode d = setting.getValue();
            Object other = d.isBoolean() ? (Object) !d.asBoolean()
                    : d.isIntegralNumber() ? (f.getType() == Long.class ? (Object) (d.asLong() + 1) : (Object) (d.asInt() + 1))
                    : d.isNumber() ? (Object) (d.asDouble() == 0 ? 0.01 : d.asDouble() / 2)
                    : Arrays.stream(Trainable.values()).map(Trainable::spelling).filter(t -> !t.equals(d.asText())).findFirst().orElseThrow();
            f.set(m, other);
            ObjectNode expected = defaults.deepCopy().set(setting.getKey(), new ObjectMapper().valueToTree(other));
            assertEquals(expected, m.recipe().toJson(), setting.getKey());
        }
    }

    @Test
    @DisplayName("without <evalData>, a held-out class mismatch is about <trainData>, whose evaluation split it came from")
    void heldOutSplitIsTrainData() {
        ExpandMojo m = mojo();
        m.trainData = dir.toFile();
        assertEquals("trainData", m.parameterOf("evalData"));
        m.evalData = dir.toFile();
        assertEquals("evalData", m.parameterOf("evalData"));
        assertEquals("depth", m.parameterOf("depth"));
    }

    @Test
    @DisplayName("skip: nothing runs, nothing is attached")
    void skip() throws Exception {
        ExpandMojo m = mojo();
        m.skip = true;
        m.baseModel = "does-not-matter";
        m.execute();
        assertEquals(List.of(), attached);
        assertFalse(Files.exists(dir.resolve("out")));
        assertTrue(info.get(0).startsWith("Skipping scalenet:expand: <skip> (-Dscalenet.skip) is true"), info.toString());
    }

    @Test
    @DisplayName("a second run with the same inputs skips, says why, and still attaches the model; a changed setting runs again")
    void upToDate() throws Exception {
        ExpandMojo first = mojo();
        first.baseModel = FIXTURES.resolve("vit-micro-p7-d4.safetensors").toString();
        first.depth = 8;
        first.execute();
        assertTrue(Files.isRegularFile(dir.resolve("out/vit.zip")));
        assertFalse(info.stream().anyMatch(s -> s.startsWith("Skipping the expansion")), info.toString());

        ExpandMojo second = mojo();
        second.baseModel = first.baseModel;
        second.depth = 8;
        info.clear();
        second.execute();
        assertTrue(info.stream().anyMatch(s -> s.startsWith("Skipping the expansion: ") && s.contains("vit.zip is up to date")
                && s.contains("config.sha256")), info.toString());
        assertEquals(List.of("zip:scalenet:vit.zip", "zip:scalenet:vit.zip"), attached);

        ExpandMojo changed = mojo();
        changed.baseModel = first.baseModel;
        changed.depth = 8;
        changed.adapterRank = 2;
        info.clear();
        changed.execute();
        assertFalse(info.stream().anyMatch(s -> s.startsWith("Skipping the expansion")), info.toString());

        pluginVersion = "0.2.0"; // an upgrade with unchanged settings: the older version's model is not reused
        ExpandMojo upgraded = mojo();
        upgraded.baseModel = first.baseModel;
        upgraded.depth = 8;
        upgraded.adapterRank = 2;
        info.clear();
        upgraded.execute();
        assertFalse(info.stream().anyMatch(s -> s.startsWith("Skipping the expansion")), info.toString());
    }

    @Test
    @DisplayName("with <onnx>, the ONNX model is written and attached beside the zip: type onnx, the same classifier")
    void onnxAttached() throws Exception {
        ExpandMojo m = mojo();
        m.baseModel = FIXTURES.resolve("vit-micro-p7-d4.safetensors").toString();
        m.depth = 8;
        m.onnx = true;
        m.execute();
        assertTrue(Files.size(dir.resolve("out/vit.onnx")) > 0);
        assertEquals(List.of("zip:scalenet:vit.zip", "onnx:scalenet:vit.onnx"), attached);
    }

    @Test
    @DisplayName("an output directory another build holds fails the build at once, naming <outputDirectory>, the directory and the holder")
    void outputDirectoryInUse() throws Exception {
        ExpandMojo m = mojo();
        m.baseModel = FIXTURES.resolve("vit-micro-p7-d4.safetensors").toString();
        m.depth = 8;
        try (OutputLock held = OutputLock.acquire(dir.resolve("out"))) {
            MojoFailureException e = assertThrows(MojoFailureException.class, m::execute);
            assertTrue(e.getMessage().startsWith("Cannot expand: <outputDirectory> (-Dscalenet.outputDirectory) " + dir.resolve("out")
                    + " is in use by another scalenet job (process " + ProcessHandle.current().pid() + " on "), e.getMessage());
        }
        assertEquals(List.of(), attached);
        assertFalse(Files.exists(dir.resolve("out/vit.zip")));
        m.execute(); // released: the same build now runs
        assertTrue(Files.isRegularFile(dir.resolve("out/vit.zip")));
    }

    @Test
    @DisplayName("a failing run attaches nothing and writes nothing")
    void failure() {
        ExpandMojo m = mojo();
        m.baseModel = FIXTURES.resolve("vit-micro-p7-d4.safetensors").toString();
        m.depth = 3;
        MojoFailureException e = assertThrows(MojoFailureException.class, m::execute);
        assertTrue(e.getMessage().startsWith("Invalid <depth> (-Dscalenet.depth) = 3: expected at least the base model's depth 4"), e.getMessage());
        assertEquals(List.of(), attached);
        assertFalse(Files.exists(dir.resolve("out/vit.zip")));
    }

    @Test
    @DisplayName("a data folder of no known layout fails before any work, naming the parameter, the folder once and what was looked for")
    void unusableData() throws Exception {
        ExpandMojo m = mojo();
        m.baseModel = FIXTURES.resolve("vit-micro-p7-d4.safetensors").toString();
        File empty = Files.createDirectories(dir.resolve("empty")).toFile();
        m.evalData = empty;
        MojoFailureException e = assertThrows(MojoFailureException.class, m::execute);
        assertTrue(e.getMessage().startsWith("Invalid <evalData> (-Dscalenet.evalData) = " + empty + ": no dataset found: looked for "),
                e.getMessage());
        assertTrue(e.getMessage().endsWith(". Fix the <evalData> element of the scalenet plugin's <configuration>, or pass"
                + " -Dscalenet.evalData=..."), e.getMessage());
        assertFalse(Files.exists(dir.resolve("out")), "nothing written");
    }

    /** The bundled Fashion-MNIST (tests run in the module folder). */
    private static final File FASHION_MNIST = Path.of("../data/fashion-mnist").toAbsolutePath().normalize().toFile();

    /** A machine of {@code mb} MB for the memory check, ND4J's CPU backend. */
    private static dev.scalenet.train.MemoryCheck.Limits machine(long mb) {
        return new dev.scalenet.train.MemoryCheck.Limits(mb << 20, mb << 20, 1L << 30, 0, "CpuBackend", true);
    }

    private ExpandMojo training() {
        ExpandMojo m = mojo();
        m.baseModel = FIXTURES.resolve("vit-micro-p7-d4.safetensors").toString();
        m.depth = 8;
        m.trainData = FASHION_MNIST;
        m.batchSize = 16;
        m.trainLimit = 16;
        m.evalLimit = 16;
        return m;
    }

    @Test
    @DisplayName("a training step that cannot fit fails the build before training, naming <batchSize> and recompute, after logging the estimate and the limits")
    void memoryCheckFails() {
        ExpandMojo m = training();
        m.memoryLimits = machine(64);
        MojoFailureException e = assertThrows(MojoFailureException.class, m::execute);
        assertTrue(e.getMessage().startsWith("Invalid <batchSize> (-Dscalenet.batchSize) = 16: expected a batch whose training step fits in memory:"
                + " the expected peak "), e.getMessage());
        assertTrue(e.getMessage().contains("at batch 16 (recompute off) is over the 64 MB this machine has; lower batchSize")
                && e.getMessage().contains("or set recompute (the estimate with it: ")
                && e.getMessage().contains("or set memoryCheck false if the estimate is wrong"), e.getMessage());
        assertTrue(info.stream().anyMatch(s -> s.startsWith("memory: expected peak ") && s.contains("at batch 16, recompute off: parameters ")),
                info.toString());
        assertTrue(info.stream().anyMatch(s -> s.startsWith("memory: limits: JVM max heap 1.0 GB, ND4J off-heap limit none, physical memory 64 MB")),
                info.toString());
        assertEquals(List.of(), attached);
        assertFalse(Files.exists(dir.resolve("out/vit.zip")));
        assertFalse(Files.exists(dir.resolve("out/vit.run")), "no training state written");
    }

    @Test
    @DisplayName("<memoryCheck>false</memoryCheck>: the estimate is logged as over the limit and the build trains anyway")
    void memoryCheckOff() throws Exception {
        ExpandMojo m = training();
        m.memoryLimits = machine(64);
        m.memoryCheck = false;
        m.execute();
        assertTrue(Files.isRegularFile(dir.resolve("out/vit.zip")));
        assertTrue(info.stream().anyMatch(s -> s.startsWith("memory: ") && s.endsWith("memoryCheck is false, so training starts anyway")),
                info.toString());
    }

    @Test
    @DisplayName("every goal's recipe parameters document the library's defaults, so the goal reference cannot drift from them")
    void documentedDefaultsAreTheLibrarys() throws Exception {
        String[] mojos = Files.readString(Path.of("target/classes/META-INF/maven/plugin.xml")).split("<mojo>");
        JsonNode defaults = TrainConfig.builder().build().toJson();
        Pattern goalName = Pattern.compile("<goal>(\\w+)</goal>");
        Pattern parameter = Pattern.compile(
                "<parameter>\\s*<name>(\\w+)</name>.*?<description>(.*?)</description>", Pattern.DOTALL);
        Pattern statedDefault = Pattern.compile("Default:? ([\\w.+-]+?)\\.?(?:\\s|$|\\()");
        List<String> checked = new ArrayList<>();
        for (String mojo : Arrays.copyOfRange(mojos, 1, mojos.length)) { // [0] is the plugin's header
            Matcher goal = goalName.matcher(mojo);
            assertTrue(goal.find(), mojo);
            Matcher parameters = parameter.matcher(mojo);
            while (parameters.find()) {
                String name = goal.group(1) + ":" + parameters.group(1);
                JsonNode expected = defaults.get(parameters.group(1));
                if (expected == null || parameters.group(1).equals("steps")) continue; // steps: unset means "by epochs"
                Matcher stated = statedDefault.matcher(parameters.group(2).trim());
                assertTrue(stated.find(), name + "'s description states no default: " + parameters.group(2));
                String value = stated.group(1);
                if (expected.isNumber()) {
                    assertEquals(expected.asDouble(), Double.parseDouble(value), 0.0, name + ": documented " + value + ", library " + expected);
                } else {
                    assertEquals(expected.asText(), value, name);
                }
                checked.add(name);
            }
        }
        assertTrue(checked.containsAll(List.of("expand:epochs", "expand:batchSize", "expand:learningRate", "expand:warmupEpochs",
                "expand:trainable", "expand:control", "evaluate:batchSize", "evaluate:evalLimit")), checked.toString());
    }
}
