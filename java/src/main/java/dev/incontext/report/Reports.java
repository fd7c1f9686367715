package dev.incontext.report;

import dev.incontext.eval.Evaluation;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.DeviationRenderer;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;

/** Writes an {@link Evaluation} as a console table, CSV, JSON and a PNG plot against the number of examples. */
public final class Reports {
    private Reports() {}

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

    public static void csv(Evaluation e, Path file) throws IOException {
        StringBuilder s = new StringBuilder("predictor,k,mean,ci_low,ci_high\n");
        for (Evaluation.Curve c : e.curves()) {
            for (int k = 0; k < e.points(); k++) {
                s.append(String.format(Locale.ROOT, "%s,%d,%.8g,%.8g,%.8g%n", c.predictor(), k, c.mean()[k], c.low()[k],
                        c.high()[k]));
            }
        }
        Files.writeString(file, s, StandardCharsets.UTF_8);
    }

    public static void json(Evaluation e, Path file) throws IOException {
        StringBuilder s = new StringBuilder();
        s.append("{\"setting\":\"").append(e.setting()).append("\",\"metric\":\"").append(e.metric().label()).append("\",\"normaliser\":").append(e.normaliser()).append(",\"trivial\":").append(e.metric().trivial()).append(",\"prompts\":").append(e.prompts()).append(",\"curves\":[");
        for (int i = 0; i < e.curves().size(); i++) {
            Evaluation.Curve c = e.curves().get(i);
            s.append(i == 0 ? "" : ",").append("{\"predictor\":\"").append(c.predictor()).append("\",\"mean\":")
                    .append(array(c.mean())).append(",\"ci_low\":").append(array(c.low())).append(",\"ci_high\":")
                    .append(array(c.high())).append('}');
        }
        Files.writeString(file, s.append("]}\n"), StandardCharsets.UTF_8);
    }

    private static String array(double[] v) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) {
            s.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.8g", v[i]));
        }
        return s.append(']').toString();
    }

    /** Mean with its 90% bootstrap band per predictor, and the zero predictor's level as a dashed line. */
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
        NumberAxis y = new NumberAxis(e.metric().label());
        DeviationRenderer r = new DeviationRenderer(true, false);
        Color[] colors = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728),
            new Color(0x9467bd), new Color(0x8c564b)};
        for (int i = 0; i < e.curves().size(); i++) {
            Color col = colors[i % colors.length];
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
        double maxMean = 0;
        for (Evaluation.Curve c : e.curves()) {
            for (double v : c.mean()) {
                maxMean = Math.max(maxMean, v);
            }
        }
        y.setRange(0, Math.max(trivial * 1.25, Math.min(maxMean * 1.05, trivial * 2.5)));
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 600);
    }
}
