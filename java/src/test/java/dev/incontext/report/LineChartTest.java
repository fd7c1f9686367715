package dev.incontext.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static dev.incontext.report.ReportFixtures.elements;
import static dev.incontext.report.ReportFixtures.parseXml;
import static dev.incontext.report.ReportFixtures.regression;

import dev.incontext.eval.Evaluation;
import dev.incontext.eval.Metric;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

class LineChartTest {
    @TempDir
    Path tmp;

    /** Averaging at k = 1 scores d + 1 = 21 against a trivial line of 1: the axis stops at 2.5 and says why. */
    @Test
    void anExplodingBaselineClipsTheAxisAndThePlotSaysSo() throws Exception {
        Evaluation e = regression("standard", "the training distribution", 41);
        LineChart c = LineChart.of(e);
        YRange r = c.range();
        assertTrue(r.clipped());
        assertEquals(0.0, r.lo());
        assertTrue(r.hi() >= 1.15 && r.hi() <= 5, "top " + r.hi());
        assertTrue(c.clipNote().contains("Averaging reaches 21 at k = 1"), c.clipNote());
        assertFalse(c.clipNote().contains("Transformer"), "only what goes off scale is named: " + c.clipNote());
        Path f = tmp.resolve("c.svg");
        c.writeSvg(f);
        Document doc = parseXml(f);
        String text = doc.getDocumentElement().getTextContent();
        assertTrue(text.contains("clipped") && text.contains("Averaging reaches 21"), text);
        assertTrue(text.contains("in-context examples") && text.contains("normalised squared error"), "axis labels");
        assertTrue(text.contains("standard: the training distribution"), "title");
        assertTrue(text.contains("zero predictor") && text.contains("90% bootstrap band"), "legend");
        // one band and one line per curve, the dashed trivial line, all drawn inside the clip
        assertEquals(4, elements(doc, "path").stream()
                .filter(p -> p.getAttribute("fill-opacity").equals("0.18")).count());
        assertEquals(4, elements(doc, "path").stream()
                .filter(p -> p.getAttribute("fill").equals("none")).count());
        assertEquals(List.of("Averaging: 21 at k = 1", "Averaging: 10.5 at k = 2", "Averaging: 7 at k = 3",
                "Averaging: 5.25 at k = 4"), elements(doc, "path").stream()
                .filter(p -> p.getAttribute("d").contains("l-4.5 8")).map(p -> p.getTextContent()).toList(),
                "a marker on the top edge where a mean is off scale");
        assertTrue(elements(doc, "line").stream()
                .anyMatch(l -> l.getAttribute("stroke-dasharray").equals("6 4")), "dashed trivial line");
    }

    /** A curve that is high everywhere (a model far out of distribution) is a result, not an explosion. */
    @Test
    void aCurveHighEverywhereIsShownWhole() {
        double[] high = new double[21];
        double[] low = new double[21];
        java.util.Arrays.fill(high, 6.0);
        high[0] = 7.0;
        java.util.Arrays.fill(low, 0.2);
        Evaluation e = new Evaluation("scale_x_3", "x scaled by 3", new Metric.SquaredError(), 180, 64,
                List.of(new Evaluation.Curve("Transformer", high, high, high),
                        new Evaluation.Curve("Least squares", low, low, low)));
        YRange r = LineChart.of(e).range();
        assertFalse(r.clipped(), r.toString());
        assertTrue(r.hi() >= 7.0);
    }

    /** Accuracy is bounded: never clipped, and chance (0.5) stays in view. */
    @Test
    void accuracyIsNeverClippedAndShowsChance() {
        double[] acc = {0.5, 0.6, 0.8, 0.95};
        Evaluation e = new Evaluation("standard", "linear classification", new Metric.Accuracy(), 1, 64,
                List.of(new Evaluation.Curve("Transformer", acc, acc, acc)));
        LineChart c = LineChart.of(e);
        YRange r = c.range();
        assertFalse(r.clipped());
        assertTrue(r.lo() < 0.5 && r.hi() > 0.95, r.toString());
        assertTrue(c.svg("a").contains("chance"));
    }

    @Test
    void ticksAreRoundNumbers() {
        assertEquals(List.of(0.0, 0.5, 1.0, 1.5, 2.0, 2.5), Ticks.within(0, 2.5, Ticks.step(0, 2.5, 5)));
        assertEquals(List.of(0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0), Ticks.integers(40));
        assertEquals("0.25", Ticks.label(0.25));
        assertEquals("21", Ticks.label(21.0000001));
        assertEquals("1.23e-05", Ticks.label(1.23e-5));
        assertEquals(2.5, Ticks.niceCeil(2.2));
        assertEquals(5.0, Ticks.niceCeil(3.1));
    }

    /** Non-finite values break the line instead of breaking the file. */
    @Test
    void nonFiniteValuesBreakTheLine() throws Exception {
        double[] v = {1, 0.8, Double.NaN, 0.5, Double.POSITIVE_INFINITY, 0.2};
        LineChart c = new LineChart("t", "x", "y", List.of(new LineChart.Series("s", v, null, null)), Double.NaN, "",
                true, "");
        Path f = tmp.resolve("n.svg");
        c.writeSvg(f);
        Document doc = parseXml(f);
        assertEquals(3, elements(doc, "path").size(), "three runs of finite values");
        assertFalse(java.nio.file.Files.readString(f).contains("NaN"));
    }
}
