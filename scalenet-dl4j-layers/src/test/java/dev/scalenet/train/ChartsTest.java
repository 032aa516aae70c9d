package dev.scalenet.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.Marker;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The training curve shows the accuracy of the model a run grew from as a reference line. */
class ChartsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<JsonNode> metrics() throws Exception {
        List<JsonNode> m = new ArrayList<>();
        m.add(JSON.readTree("{\"event\":\"eval\",\"step\":0,\"epoch\":0,\"top1\":0.8921,\"loss\":0.36}"));
        m.add(JSON.readTree("{\"event\":\"train\",\"step\":50,\"epoch\":0.5,\"loss\":0.9}"));
        m.add(JSON.readTree("{\"event\":\"eval\",\"step\":100,\"epoch\":1,\"top1\":0.9010,\"loss\":0.33}"));
        return m;
    }

    @Test
    @DisplayName("a reference line is a labelled marker on the accuracy plot, inside its range even below every evaluation")
    void referenceLine() throws Exception {
        JFreeChart chart = Charts.trainingCurveChart(metrics(), "run", Map.of("base model", 85.0));
        XYPlot accuracy = (XYPlot) ((CombinedDomainXYPlot) chart.getXYPlot()).getSubplots().get(1);
        @SuppressWarnings("unchecked")
        Collection<Marker> markers = accuracy.getRangeMarkers(org.jfree.chart.ui.Layer.FOREGROUND);
        assertEquals(1, markers.size());
        ValueMarker line = (ValueMarker) markers.iterator().next();
        assertEquals(85.0, line.getValue());
        assertEquals("base model 85.00%", line.getLabel());
        ValueAxis axis = accuracy.getRangeAxis();
        assertTrue(axis.getLowerBound() < 85.0 && axis.getUpperBound() > 90.10, axis.getRange().toString());
    }

    @Test
    @DisplayName("without references the accuracy plot has no markers")
    void noReference() throws Exception {
        JFreeChart chart = Charts.trainingCurveChart(metrics(), "run", Map.of());
        XYPlot accuracy = (XYPlot) ((CombinedDomainXYPlot) chart.getXYPlot()).getSubplots().get(1);
        assertEquals(null, accuracy.getRangeMarkers(org.jfree.chart.ui.Layer.FOREGROUND));
    }

    @Test
    @DisplayName("two runs on one chart (a grown model and its control): every series named by its run, a colour per run")
    void twoRuns() throws Exception {
        Map<String, List<JsonNode>> runs = new java.util.LinkedHashMap<>();
        runs.put("grown", metrics());
        runs.put("control", metrics());
        JFreeChart chart = Charts.trainingCurvesChart(runs, "job", Map.of("base model", 89.21));
        List<?> plots = ((CombinedDomainXYPlot) chart.getXYPlot()).getSubplots();
        XYPlot loss = (XYPlot) plots.get(0);
        XYPlot accuracy = (XYPlot) plots.get(1);
        assertEquals(List.of("grown: training loss (smoothed)", "grown: held-out loss", "control: training loss (smoothed)",
                "control: held-out loss"), keys(loss));
        assertEquals(List.of("grown: held-out top-1 %", "control: held-out top-1 %"), keys(accuracy));
        assertEquals(accuracy.getRenderer().getSeriesPaint(1), loss.getRenderer().getSeriesPaint(2), "the control's colour");
        assertTrue(!accuracy.getRenderer().getSeriesPaint(0).equals(accuracy.getRenderer().getSeriesPaint(1)));
    }

    private static List<String> keys(XYPlot plot) {
        List<String> k = new ArrayList<>();
        for (int i = 0; i < plot.getDataset().getSeriesCount(); i++) k.add(String.valueOf(plot.getDataset().getSeriesKey(i)));
        return k;
    }
}
