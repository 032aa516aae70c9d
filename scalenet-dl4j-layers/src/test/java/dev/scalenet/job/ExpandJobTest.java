package dev.scalenet.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.scalenet.InvalidSettingException;
import dev.scalenet.data.FashionMnist;
import dev.scalenet.expand.ExpansionPlan;
import dev.scalenet.io.Fingerprints;
import dev.scalenet.train.TrainConfig;
import dev.scalenet.vit.TimmFixtures;
import dev.scalenet.vit.VitModel;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
        INDArray logits = written.graph().outputSingle(MICRO.inputs());
        double err = Transforms.abs(logits.sub(MICRO.expandedLogits("cyclic-8"))).maxNumber().doubleValue();
        assertTrue(err < 1e-4, "max |logit difference| " + err + " (float32 tolerance 1e-4)");
        Properties p = properties();
        assertEquals(Fingerprints.file(MICRO.weights()), p.getProperty("source.sha256"));
        assertEquals(Fingerprints.file(out.resolve("micro-x8.zip")), p.getProperty("model.sha256"));
        assertEquals("53386", p.getProperty("params.base"));
        assertFalse(p.containsKey("final.top1"), "no training, no final accuracy");
        assertEquals(report.properties().get("config.sha256"), p.getProperty("config.sha256"));
        assertTrue(Files.readString(out.resolve(Report.HTML_FILE)).contains("[0,1,2,3,0,1,2,3]"));
    }

    @Test
    @DisplayName("expand, fine-tune and evaluate: accuracy before and after, curve embedded in the HTML")
    void expandAndTrain() throws Exception {
        job().recipe(quickRecipe()).trainData(FashionMnist.dir()).build().run();
        JsonNode report = new ObjectMapper().readTree(out.resolve(Report.JSON_FILE).toFile());
        assertEquals(200, report.path("base").path("eval").path("examples").asInt());
        assertEquals(200, report.path("expansion").path("evalAtStart").path("examples").asInt());
        assertEquals(10, report.path("training").path("steps").asInt(), "320 images / batch 32");
        double top1 = report.path("training").path("final").path("top1").asDouble();
        assertTrue(top1 >= 0 && top1 <= 1);
        String html = Files.readString(out.resolve(Report.HTML_FILE));
        assertTrue(html.contains("data:image/png;base64,"));
        assertTrue(html.contains("recipe: steps</th><td>10 (ran)</td>"), "the recipe table shows the steps that ran, not the unset 0");
        assertTrue(Files.exists(out.resolve("run/metrics.jsonl")));
        assertEquals(String.valueOf(top1), properties().getProperty("final.top1"));
    }

    @Test
    @DisplayName("up to date only while base model, plan, recipe and data are unchanged")
    void upToDate() throws Exception {
        ExpandJob j = job().build();
        assertFalse(j.upToDate(), "nothing written yet");
        j.run();
        assertTrue(job().build().upToDate());
        assertFalse(job().plan(ExpansionPlan.cyclic(8).withAdapterRank(4)).build().upToDate(), "another adapter rank");
        assertFalse(job().plan(ExpansionPlan.interleave(8)).build().upToDate(), "another strategy");
        assertFalse(job().trainData(FashionMnist.dir()).recipe(quickRecipe()).build().upToDate(), "now with training");
        Files.delete(out.resolve("micro-x8.zip"));
        assertFalse(job().build().upToDate(), "model file gone");
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
