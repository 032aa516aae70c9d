package dev.scalenet.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/**
 * {@code report.html}: a {@link Report} for people. One self-contained page (inline styles, the training curve embedded
 * as a data URI), so it opens from a zip or an artifact store with nothing beside it. It shows only what the report's
 * JSON holds, plus the curve the JSON names: a report read back (the evaluate goal) renders the same page.
 */
final class ReportPage {
    private ReportPage() {}

    static String html(Report report) throws IOException {
        ObjectNode root = report.json();
        Path curve = report.curve();
        StringBuilder h = new StringBuilder();
        String name = esc(root.path("name").asText());
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ScaleNet report: ").append(name)
                .append("</title>\n<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}"
                        + "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .7em;text-align:left}"
                        + "th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}img{max-width:100%}"
                        + "code{background:#f6f6f6;padding:0 .2em}</style></head><body>\n");
        h.append("<h1>ScaleNet report: ").append(name).append("</h1>\n");
        h.append("<h2>Accuracy</h2>\n<table><tr><th>model</th><th>top-1</th><th>top-5</th><th>loss</th><th>images</th></tr>\n");
        evalRow(h, "base model", root.path("base").path("eval"));
        evalRow(h, "expanded, before training", root.path("expansion").path("evalAtStart"));
        evalRow(h, "expanded, after training", root.path("training").path("final"));
        evalRow(h, "control: the base fine-tuned the same way", root.path("control").path("final"));
        for (JsonNode e : root.path("evaluations")) {
            evalRow(h, "evaluate: " + e.path("model").path("name").asText() + " on " + e.path("data").path("name").asText(), e);
        }
        h.append("</table>\n");
        if (root.has("comparison")) {
            JsonNode p = root.get("comparison");
            h.append("<h2>Grown model against its control</h2>\n<p>").append(esc(Report.comparisonText(p))).append(".</p>\n<table>");
            row(h, "control", root.path("control").path("what").asText());
            row(h, "held-out images", p.path("images").asText());
            row(h, "difference (grown - control)", String.format(Locale.ROOT, "%+.2f points, 95%% CI [%+.2f, %+.2f]",
                    100 * p.path("difference").asDouble(), 100 * p.path("ci95Low").asDouble(), 100 * p.path("ci95High").asDouble()));
            row(h, "only the grown model right / only the control right", p.path("onlyA").asText() + " / " + p.path("onlyB").asText());
            row(h, "McNemar's exact p (mid-p)", String.format(Locale.ROOT, "%.3g (%.3g)", p.path("mcnemarExactP").asDouble(),
                    p.path("mcnemarMidP").asDouble()));
            row(h, "method", p.path("method").asText());
            h.append("</table>\n");
        }
        if (root.has("expansion")) {
            JsonNode e = root.get("expansion");
            h.append("<h2>Expansion</h2>\n<table>");
            row(h, "plan", e.path("plan").asText());
            row(h, "order (source block per position)", e.path("order").toString());
            row(h, "parameters", String.format(Locale.ROOT, "%,d = %,d base + %,d adjustment (%.2f%%)", e.path("totalParams").asLong(),
                    e.path("baseParams").asLong(), e.path("adjustmentParams").asLong(),
                    100.0 * e.path("adjustmentParams").asLong() / Math.max(1, e.path("baseParams").asLong())));
            h.append("</table>\n");
        }
        if (root.has("training")) {
            JsonNode t = root.get("training");
            h.append("<h2>Fine-tuning</h2>\n");
            if (curve != null && Files.isRegularFile(curve)) {
                h.append("<img alt=\"training curve\" src=\"data:image/png;base64,")
                        .append(Base64.getEncoder().encodeToString(Files.readAllBytes(curve))).append("\">\n");
            }
            h.append("<table>");
            row(h, "steps", t.path("steps").asText());
            row(h, "trainable parameters", String.format(Locale.ROOT, "%,d of %,d", t.path("trainableParams").asLong(), t.path("totalParams").asLong()));
            row(h, "training time", String.format(Locale.ROOT, "%.1f s (%.1f images/s)", t.path("trainSeconds").asDouble(), t.path("imagesPerSecond").asDouble()));
            row(h, "training data", describe(t.path("trainData")));
            row(h, "held-out data", describe(t.path("evalData")));
            for (Iterator<Map.Entry<String, JsonNode>> it = t.path("recipe").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> r = it.next();
                // the recipe's "steps" is 0 when epochs set the length: show the steps that ran instead
                String value = r.getKey().equals("steps") ? t.path("steps").asText() + " (ran)" : r.getValue().asText();
                row(h, "recipe: " + r.getKey(), value);
            }
            h.append("</table>\n");
        }
        h.append("<h2>Provenance</h2>\n<table>");
        for (Map.Entry<String, String> p : report.properties().entrySet()) {
            if (p.getKey().endsWith("sha256") || p.getKey().equals("model.file")) row(h, p.getKey(), p.getValue());
        }
        row(h, "base model", describe(root.path("base")));
        row(h, "tool", root.path("tool").asText());
        h.append("</table>\n</body></html>\n");
        return h.toString();
    }

    /** A source as one line: name, coordinates, split and images, SHA-256. */
    private static String describe(JsonNode source) {
        if (source.isMissingNode()) return "";
        StringBuilder s = new StringBuilder(source.path("name").asText());
        if (source.has("coordinates")) s.append(" (").append(source.get("coordinates").asText()).append(')');
        if (source.has("split")) s.append(", ").append(source.get("split").asText()).append(" split");
        if (source.has("images")) s.append(String.format(Locale.ROOT, ", %,d images", source.get("images").asLong()));
        return s.append(", SHA-256 ").append(source.path("sha256").asText()).toString();
    }

    private static void evalRow(StringBuilder h, String label, JsonNode e) {
        if (e.isMissingNode()) return;
        h.append(String.format(Locale.ROOT, "<tr><td>%s</td><td class=\"n\">%.2f%%</td><td class=\"n\">%.2f%%</td><td class=\"n\">%.4f</td><td class=\"n\">%d</td></tr>\n",
                esc(label), 100 * e.path("top1").asDouble(), 100 * e.path("top5").asDouble(), e.path("loss").asDouble(), e.path("examples").asLong()));
    }

    private static void row(StringBuilder h, String key, String value) {
        h.append("<tr><th>").append(esc(key)).append("</th><td>").append(esc(value)).append("</td></tr>\n");
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
