package dev.incontext.report;

import dev.incontext.util.AtomicFiles;
import dev.incontext.eval.Evaluation;
import dev.incontext.util.Json;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.DeviationRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;

/**
 * Writes an {@link Evaluation} as a console table, CSV, JSON and a PNG plot against the number of examples. The SVG
 * plot is {@link LineChart}; a whole suite (all of these per setting, plus an HTML page) is {@link SuiteReports}.
 */
public final class Reports {
    private Reports() {}

    /** A fixed-width table of every predictor's mean at every {@code every}-th k. */
    public static void table(Evaluation e, PrintWriter out, int every) {
        out.printf(Locale.ROOT, "%s: %s per number of in-context examples k (mean over %d prompts)%n", e.setting(), e.metric().label(), e.prompts());
        out.printf(Locale.ROOT, "%4s", "k");
        for (Evaluation.Curve c : e.curves()) {
            out.printf(Locale.ROOT, " %14s", c.predictor());
        }
        out.println();
        for (int k = 0; k < e.points(); k += every) {
            out.printf(Locale.ROOT, "%4d", k);
            for (Evaluation.Curve c : e.curves()) {
                out.printf(Locale.ROOT, " %14.4f", c.mean()[k]);
            }
            out.println();
        }
        out.flush();
    }

    /** {@code predictor,k,mean,ci_low,ci_high}, one row per predictor and k. */
    public static void csv(Evaluation e, Path file) throws IOException {
        StringBuilder s = new StringBuilder("predictor,k,mean,ci_low,ci_high\n");
        for (Evaluation.Curve c : e.curves()) {
            for (int k = 0; k < e.points(); k++) {
                s.append(String.format(Locale.ROOT, "%s,%d,%.8g,%.8g,%.8g%n", csvField(c.predictor()), k, c.mean()[k],
                        c.low()[k], c.high()[k]));
            }
        }
        AtomicFiles.write(file, s);
    }

    /**
     * The evaluation as one JSON object: setting, description, metric (label, formula, trivial line, direction),
     * normaliser, prompts, and per predictor the mean and the 90% bootstrap band per k (non-finite values as null).
     */
    public static void json(Evaluation e, Path file) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("setting", e.setting());
        m.put("description", e.description());
        m.put("metric", e.metric().label());
        m.put("metric_formula", e.metric().formula());
        m.put("lower_is_better", e.metric().lowerIsBetter());
        m.put("normaliser", e.normaliser());
        m.put("trivial", e.metric().trivial());
        m.put("prompts", e.prompts());
        m.put("band", e.band());
        m.put("bootstrap_unit_prompts", e.bootstrapUnit());
        List<Map<String, Object>> curves = new ArrayList<>();
        for (Evaluation.Curve c : e.curves()) {
            Map<String, Object> curve = new LinkedHashMap<>();
            curve.put("predictor", c.predictor());
            curve.put("mean", Json.sig8(c.mean()));
            curve.put("ci_low", Json.sig8(c.low()));
            curve.put("ci_high", Json.sig8(c.high()));
            curves.add(curve);
        }
        m.put("curves", curves);
        AtomicFiles.write(file, Json.line(m) + "\n");
    }

    /** A CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break. */
    static String csvField(String v) {
        if (v.indexOf(',') < 0 && v.indexOf('"') < 0 && v.indexOf('\n') < 0 && v.indexOf('\r') < 0) {
            return v;
        }
        return '"' + v.replace("\"", "\"\"") + '"';
    }

    /**
     * Mean with its 90% bootstrap band per predictor, and the trivial level ({@code trivial}: the zero predictor's
     * for squared error, chance for accuracy) as a dashed line; the y axis is clipped like the SVG plot's ({@link LineChart}) when a curve explodes, and a red subtitle
     * then says what goes off scale.
     */
    public static void plot(Evaluation e, String title, double trivial, Path png) throws IOException {
        System.setProperty("java.awt.headless", "true");
        YIntervalSeriesCollection data = new YIntervalSeriesCollection();
        for (Evaluation.Curve c : e.curves()) {
            YIntervalSeries s = new YIntervalSeries(c.predictor());
            for (int k = 0; k < e.points(); k++) {
                s.add(k, c.mean()[k], c.low()[k], c.high()[k]);
            }
            data.addSeries(s);
        }
        NumberAxis x = new NumberAxis("in-context examples");
        x.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        x.setRange(0, Math.max(1, e.points() - 1));
        NumberAxis y = new NumberAxis(e.metric().label());
        DeviationRenderer r = new DeviationRenderer(true, false);
        for (int i = 0; i < e.curves().size(); i++) {
            Color col = Color.decode(LineChart.colour(i));
            r.setSeriesPaint(i, col);
            r.setSeriesFillPaint(i, col);
            r.setSeriesStroke(i, new BasicStroke(2f));
        }
        r.setAlpha(0.2f);
        XYPlot plot = new XYPlot(data, x, y, r);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        ValueMarker line = new ValueMarker(trivial, Color.GRAY, new BasicStroke(1.5f, BasicStroke.CAP_BUTT,
                BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
        plot.addRangeMarker(line);
        List<YRange.Values> values = new ArrayList<>();
        for (Evaluation.Curve c : e.curves()) {
            values.add(new YRange.Values(c.predictor(), c.mean(), c.low(), c.high()));
        }
        YRange range = YRange.of(values, trivial, e.metric().lowerIsBetter());
        y.setRange(range.lo(), range.hi());
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        if (range.clipped()) {
            TextTitle note = new TextTitle(range.note(), new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            note.setPaint(new Color(0xb22222));
            chart.addSubtitle(note);
        }
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 600);
    }
}
