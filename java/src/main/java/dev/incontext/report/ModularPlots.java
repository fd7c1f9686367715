package dev.incontext.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.GrayPaintScale;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.xy.DefaultXYZDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** Plots for modular arithmetic: accuracy against the number of shots, the phase diagram, attention maps. */
public final class ModularPlots {
    private ModularPlots() {}

    /** Accuracy per shot: one solid line per evaluation set, dashed reference lines (Bayes, solver). */
    public static void shots(String title, Map<String, double[]> curves, Map<String, double[]> references, Path png)
            throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        Map<String, double[]> all = new LinkedHashMap<>(curves);
        all.putAll(references);
        for (Map.Entry<String, double[]> e : all.entrySet()) {
            XYSeries s = new XYSeries(e.getKey());
            for (int k = 0; k < e.getValue().length; k++) {
                s.add(k, e.getValue()[k]);
            }
            data.addSeries(s);
        }
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, false);
        Color[] colors = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728),
            Color.BLACK, Color.GRAY};
        int i = 0;
        for (String name : all.keySet()) {
            r.setSeriesPaint(i, colors[i % colors.length]);
            r.setSeriesStroke(i, curves.containsKey(name) ? new BasicStroke(2f)
                    : new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
            i++;
        }
        NumberAxis x = new NumberAxis("shots (examples of the task before the query)");
        x.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        NumberAxis y = new NumberAxis("accuracy");
        y.setRange(0, 1.02);
        XYPlot plot = new XYPlot(data, x, y, r);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 600);
    }

    /**
     * A heatmap of values in [0, 1] over a grid: {@code values[i][j]} at column label {@code xs[i]}, row label
     * {@code ys[j]}; NaN cells (not run) stay empty. Each cell is annotated with its value.
     */
    public static void heatmap(String title, String xName, List<String> xs, String yName, List<String> ys,
            double[][] values, Path png) throws IOException {
        DefaultXYZDataset data = new DefaultXYZDataset();
        int n = xs.size() * ys.size();
        double[][] series = new double[3][n];
        int c = 0;
        XYPlot plot = new XYPlot();
        for (int i = 0; i < xs.size(); i++) {
            for (int j = 0; j < ys.size(); j++) {
                series[0][c] = i;
                series[1][c] = j;
                series[2][c] = values[i][j];
                if (!Double.isNaN(values[i][j])) {
                    XYTextAnnotation a = new XYTextAnnotation(String.format(Locale.ROOT, "%.2f",
                            values[i][j]), i, j);
                    a.setPaint(values[i][j] > 0.5 ? Color.BLACK : Color.WHITE);
                    plot.addAnnotation(a);
                }
                c++;
            }
        }
        data.addSeries("accuracy", series);
        XYBlockRenderer r = new XYBlockRenderer();
        GrayPaintScale scale = new GrayPaintScale(0, 1);
        r.setPaintScale(scale);
        plot.setDataset(data);
        plot.setRenderer(r);
        plot.setDomainAxis(new SymbolAxis(xName, xs.toArray(new String[0])));
        plot.setRangeAxis(new SymbolAxis(yName, ys.toArray(new String[0])));
        plot.setBackgroundPaint(new Color(0xdddddd));
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, false);
        NumberAxis legendAxis = new NumberAxis("accuracy");
        legendAxis.setRange(0, 1);
        PaintScaleLegend legend = new PaintScaleLegend(scale, legendAxis);
        legend.setPosition(RectangleEdge.RIGHT);
        chart.addSubtitle(legend);
        chart.setBackgroundPaint(Color.WHITE);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 800, 600);
    }

    /** An attention map (T, T) of probabilities as a grey-scale image, each entry a block of {@code cell} pixels. */
    public static void attention(double[] map, int len, int cell, Path png) throws IOException {
        BufferedImage img = new BufferedImage(len * cell, len * cell, BufferedImage.TYPE_INT_RGB);
        for (int i = 0; i < len; i++) {
            for (int j = 0; j < len; j++) {
                int v = 255 - (int) Math.round(255 * Math.max(0, Math.min(1, map[i * len + j])));
                int rgb = (v << 16) | (v << 8) | v;
                for (int a = 0; a < cell; a++) {
                    for (int b = 0; b < cell; b++) {
                        img.setRGB(j * cell + b, i * cell + a, rgb);
                    }
                }
            }
        }
        ImageIO.write(img, "png", png.toFile());
    }
}
