package dev.scalenet.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.scalenet.train.PairedComparison;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The page shows what the report's JSON holds, and nothing from elsewhere but the curve the JSON names. */
class ReportPageTest {
    private static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3};

    @TempDir
    Path dir;

    /** A report folder as a fine-tuning job leaves it: report.json naming run/curve.png, and the curve. */
    private Path jobFolder(String name) throws Exception {
        ObjectNode root = new ObjectMapper().createObjectNode().put("name", name).put("tool", "scalenet test");
        ObjectNode training = root.putObject("training").put("steps", 10).put("trainableParams", 5).put("totalParams", 8)
                .put("metrics", "run/metrics.jsonl").put("curve", "run/curve.png");
        training.putObject("final").put("examples", 200).put("top1", 0.5).put("top5", 0.9).put("loss", 1.25);
        training.putObject("recipe").put("steps", 0).put("learningRate", 5e-5);
        Path folder = Files.createDirectories(dir.resolve("job"));
        Files.createDirectories(folder.resolve("run"));
        Files.write(folder.resolve("run/curve.png"), PNG);
        Files.writeString(folder.resolve(Report.JSON_FILE), root.toString());
        return folder;
    }

    @Test
    @DisplayName("a report read back renders from its JSON: accuracy row, recipe with the steps that ran, the named curve embedded, the name escaped")
    void rendersFromTheJson() throws Exception {
        String html = ReportPage.html(Report.readOrCreate(jobFolder("a <b> & \"c\""), "unused"));
        assertTrue(html.startsWith("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ScaleNet report: "
                + "a &lt;b&gt; &amp; &quot;c&quot;</title>"), html);
        assertTrue(html.contains("<tr><td>expanded, after training</td><td class=\"n\">50.00%</td><td class=\"n\">90.00%</td>"
                + "<td class=\"n\">1.2500</td><td class=\"n\">200</td></tr>"), html);
        assertTrue(html.contains("<tr><th>recipe: steps</th><td>10 (ran)</td></tr>"), html);
        assertTrue(html.contains("src=\"data:image/png;base64," + Base64.getEncoder().encodeToString(PNG) + "\""), html);
        assertFalse(html.contains("<h2>Expansion</h2>") || html.contains("against its control"), "no sections without their data");
        assertTrue(html.endsWith("<tr><th>tool</th><td>scalenet test</td></tr>\n</table>\n</body></html>\n"), html);
    }

    @Test
    @DisplayName("report.html written with a report is the page its folder renders when read back; without its curve file, no image")
    void writtenPageIsTheReadBackPage() throws Exception {
        Path folder = jobFolder("job");
        Report report = Report.readOrCreate(folder, "unused");
        report.write(folder);
        assertEquals(Files.readString(folder.resolve(Report.HTML_FILE)), ReportPage.html(Report.readOrCreate(folder, "unused")));
        Files.delete(folder.resolve("run/curve.png"));
        assertFalse(ReportPage.html(Report.readOrCreate(folder, "unused")).contains("<img"));
    }

    @Test
    @DisplayName("the comparison's sentence gives both accuracies, the interval, the discordant counts (one image, not one images) and the verdict")
    void comparisonSentence() {
        ObjectNode fiveToNone = imagesJson(5, 0);
        assertTrue(fiveToNone.path("ci95Low").asDouble() > 0, "the interval excludes 0: " + fiveToNone);
        assertTrue(Report.comparisonText(fiveToNone).endsWith("exact p = 0.0625: no difference shown (McNemar's p is not below 0.05)"),
                "the interval and McNemar disagree, so no side wins: " + Report.comparisonText(fiveToNone));
        assertTrue(Report.comparisonText(imagesJson(10, 40)).endsWith(": the control beat growing"), Report.comparisonText(imagesJson(10, 40)));
        assertTrue(Report.comparisonText(imagesJson(40, 10)).endsWith(": growing beat the control"), Report.comparisonText(imagesJson(40, 10)));
        ObjectNode p = new ObjectMapper().createObjectNode().put("accuracyA", 0.8887).put("accuracyB", 0.8887).put("difference", 0.0)
                .put("ci95Low", -0.0003).put("ci95High", 0.0003).put("onlyA", 1).put("onlyB", 1).put("mcnemarExactP", 1.0);
        assertEquals("88.87% vs 88.87%: +0.00 points, 95% CI [-0.03, +0.03]; McNemar: 1 image only the grown model gets right, 1 only"
                + " the control, exact p = 1.00: no difference shown (the interval includes 0)", Report.comparisonText(p));
        p.put("onlyA", 12).put("onlyB", 2).put("difference", 0.001).put("ci95Low", 0.0002).put("ci95High", 0.0018).put("mcnemarExactP", 0.0129);
        assertTrue(Report.comparisonText(p).contains("McNemar: 12 images only the grown model gets right, 2 only the control, exact p = 0.0129:"
                + " growing beat the control"), Report.comparisonText(p));
    }

    /** The comparison's JSON for 10,000 images, {@code onlyGrown} of them right only for the grown model, {@code onlyControl} only for the control. */
    private static ObjectNode imagesJson(long onlyGrown, long onlyControl) {
        return new PairedComparison.Images(10_000, 8_000, onlyGrown, onlyControl, 2_000 - onlyGrown - onlyControl).toJson();
    }
}
