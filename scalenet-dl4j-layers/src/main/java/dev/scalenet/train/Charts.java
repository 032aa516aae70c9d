package dev.scalenet.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.scalenet.io.AtomicFiles;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** PNG line charts of training runs, drawn with JFreeChart and written atomically. */
public final class Charts {
    private static final int WIDTH = 900;
    private static final int HEIGHT = 600;
    /** Okabe and Ito's colour-blind-safe palette: JFreeChart's default puts yellow on white. */
    private static final Color[] PALETTE = {new Color(0x0072B2), new Color(0xD55E00), new Color(0x009E73),
            new Color(0xCC79A7), new Color(0xE69F00), new Color(0x56B4E9), new Color(0x000000)};

    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private Charts() {}

    /**
     * One run's curve from its {@link MetricsLog} lines: training loss (top) and held-out top-1 accuracy
     * (bottom) against epochs.
     */
    public static void trainingCurve(List<JsonNode> metrics, String title, Path png) throws IOException {
        trainingCurve(metrics, title, png, Map.of());
    }

    /**
     * The same, with horizontal reference lines on the accuracy plot: name -> top-1 in percent (for example the
     * model the run grew from, so a reader sees at once whether growing paid).
     */
    public static void trainingCurve(List<JsonNode> metrics, String title, Path png, Map<String, Double> referenceTop1)
            throws IOException {
        save(trainingCurveChart(metrics, title, referenceTop1), png);
    }

    /**
     * Several runs on one chart (a grown model and its control): each run's training loss and held-out loss (top)
     * and held-out top-1 (bottom), the series named by the run, with the same reference lines.
     */
    public static void trainingCurves(Map<String, List<JsonNode>> runs, String title, Path png, Map<String, Double> referenceTop1)
            throws IOException {
        save(trainingCurvesChart(runs, title, referenceTop1), png);
    }

    static JFreeChart trainingCurveChart(List<JsonNode> metrics, String title, Map<String, Double> referenceTop1) {
        return trainingCurvesChart(Map.of("", metrics), title, referenceTop1);
    }

    static JFreeChart trainingCurvesChart(Map<String, List<JsonNode>> runs, String title, Map<String, Double> referenceTop1) {
        List<XYSeries> losses = new java.util.ArrayList<>();
        List<XYSeries> top1s = new java.util.ArrayList<>();
        for (Map.Entry<String, List<JsonNode>> run : runs.entrySet()) {
            String prefix = run.getKey().isEmpty() ? "" : run.getKey() + ": ";
            XYSeries loss = new XYSeries(prefix + "training loss (smoothed)");
            XYSeries evalLoss = new XYSeries(prefix + "held-out loss");
            XYSeries top1 = new XYSeries(prefix + "held-out top-1 %");
            for (JsonNode m : run.getValue()) {
                double epoch = m.path("epoch").asDouble();
                if ("train".equals(m.path("event").asText())) {
                    loss.add(epoch, m.path("loss").asDouble());
                } else if ("eval".equals(m.path("event").asText())) {
                    evalLoss.add(epoch, m.path("loss").asDouble());
                    top1.add(epoch, 100 * m.path("top1").asDouble());
                }
            }
            losses.add(loss);
            losses.add(evalLoss);
            top1s.add(top1);
        }
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(new NumberAxis("epoch"));
        XYPlot lossPlot = linePlot("loss", losses.toArray(new XYSeries[0]));
        plot.add(lossPlot, 1);
        XYPlot accuracy = linePlot("top-1 accuracy (%)", top1s.toArray(new XYSeries[0]));
        if (runs.size() > 1) { // a colour per run; held-out loss dashed
            XYLineAndShapeRenderer l = (XYLineAndShapeRenderer) lossPlot.getRenderer();
            XYLineAndShapeRenderer a = (XYLineAndShapeRenderer) accuracy.getRenderer();
            for (int r = 0; r < runs.size(); r++) {
                Color c = PALETTE[r % PALETTE.length];
                l.setSeriesPaint(2 * r, c);
                l.setSeriesPaint(2 * r + 1, c);
                l.setSeriesStroke(2 * r + 1, new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
                        new float[] {6f, 4f}, 0f));
                a.setSeriesPaint(r, c);
            }
        }
        ((NumberAxis) accuracy.getRangeAxis()).setAutoRangeMinimumSize(1.0); // one point, or a flat line, still gets a readable axis
        for (Map.Entry<String, Double> r : referenceTop1.entrySet()) {
            ValueMarker line = new ValueMarker(r.getValue(), Color.BLACK, new BasicStroke(1.5f, BasicStroke.CAP_BUTT,
                    BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
            line.setLabel(String.format(java.util.Locale.ROOT, "%s %.2f%%", r.getKey(), r.getValue()));
            line.setLabelAnchor(RectangleAnchor.BOTTOM_RIGHT);
            line.setLabelTextAnchor(TextAnchor.TOP_RIGHT);
            accuracy.addRangeMarker(line);
        }
        if (!referenceTop1.isEmpty()) { // markers do not widen the axis: keep the lines inside the plot
            NumberAxis axis = (NumberAxis) accuracy.getRangeAxis();
            double lo = referenceTop1.values().stream().mapToDouble(Double::doubleValue).min().orElseThrow();
            double hi = referenceTop1.values().stream().mapToDouble(Double::doubleValue).max().orElseThrow();
            for (XYSeries top1 : top1s) {
                if (top1.getItemCount() == 0) continue;
                lo = Math.min(lo, top1.getMinY());
                hi = Math.max(hi, top1.getMaxY());
            }
            double pad = Math.max(0.5, 0.1 * (hi - lo));
            axis.setRange(lo - pad, hi + pad);
        }
        plot.add(accuracy, 1);
        return new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
    }

    /** Several named series of {@code (x, y)} points on one pair of axes. */
    public static void lines(String title, String xLabel, String yLabel, Map<String, List<double[]>> series, Path png)
            throws IOException {
        XYSeries[] all = new XYSeries[series.size()];
        int i = 0;
        for (Map.Entry<String, List<double[]>> e : series.entrySet()) {
            XYSeries s = new XYSeries(e.getKey());
            for (double[] p : e.getValue()) s.add(p[0], p[1]);
            all[i++] = s;
        }
        XYPlot plot = linePlot(yLabel, all);
        plot.setDomainAxis(new NumberAxis(xLabel));
        save(new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true), png);
    }

    private static XYPlot linePlot(String yLabel, XYSeries... series) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (XYSeries s : series) data.addSeries(s);
        NumberAxis y = new NumberAxis(yLabel);
        y.setAutoRangeIncludesZero(false);
        y.setNumberFormatOverride(new java.text.DecimalFormat("0.###"));
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        for (int i = 0; i < series.length; i++) {
            renderer.setSeriesStroke(i, new BasicStroke(2f));
            renderer.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
            // a short series (evaluations) reads better with markers
            renderer.setSeriesShapesVisible(i, series[i].getItemCount() <= 60);
        }
        XYPlot plot = new XYPlot(data, null, y, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        return plot;
    }

    private static void save(JFreeChart chart, Path png) throws IOException {
        chart.setBackgroundPaint(Color.WHITE);
        AtomicFiles.write(png, out -> ChartUtils.writeChartAsPNG(out, chart, WIDTH, HEIGHT));
    }
}
