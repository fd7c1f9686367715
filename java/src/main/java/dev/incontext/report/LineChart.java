package dev.incontext.report;

import dev.incontext.util.AtomicFiles;
import dev.incontext.eval.Evaluation;
import dev.incontext.eval.Metric;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Curves against the number of in-context examples k, drawn as SVG text in the style of the papers' figures: one line
 * per predictor with its shaded band, a dashed reference line (the zero predictor, or chance), axes with ticks and
 * labels, a legend beside the plot, and the title above. The y axis is clipped as {@link YRange} decides, and the
 * plot then says so under the title.
 *
 * @param title above the plot (wrapped when long)
 * @param xLabel under the x axis
 * @param yLabel beside the y axis
 * @param series one line each, x = 0 .. length - 1
 * @param reference y of the dashed reference line, or NaN for none
 * @param referenceLabel the reference line's name in the legend
 * @param lowerIsBetter error-like (start at 0, clip explosions) or score-like (bounded, never clipped)
 * @param bandLabel the legend's name for the shaded bands
 */
public record LineChart(String title, String xLabel, String yLabel, List<Series> series, double reference,
        String referenceLabel, boolean lowerIsBetter, String bandLabel) {
    private static final String[] COLOURS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    private static final int LEFT = 72;
    private static final int PLOT_W = 520;
    private static final int PLOT_H = 300;
    private static final int BOTTOM = 56;
    private static final int MAX_LEGEND_CHARS = 34;

    /**
     * One curve: {@code mean[k]} for k = 0 .. length - 1, and its band {@code low[k] .. high[k]} (both null for
     * none). A non-finite value breaks the line there.
     */
    public record Series(String name, double[] mean, double[] low, double[] high) {
        public Series {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(mean, "mean");
            if ((low == null) != (high == null)) {
                throw new IllegalArgumentException("series " + name + ": give both band edges or neither");
            }
            if (low != null && (low.length != mean.length || high.length != mean.length)) {
                throw new IllegalArgumentException("series " + name + ": band of " + low.length + "/" + high.length
                        + " values for " + mean.length + " means");
            }
        }
    }

    public LineChart {
        series = List.copyOf(series);
        if (series.isEmpty()) {
            throw new IllegalArgumentException("a line chart needs at least one series: " + title);
        }
    }

    /**
     * An evaluation's curves with their 90% bootstrap bands and the metric's trivial line; the title is the setting
     * id and its description.
     */
    public static LineChart of(Evaluation e) {
        List<Series> s = new ArrayList<>();
        for (Evaluation.Curve c : e.curves()) {
            s.add(new Series(c.predictor(), c.mean(), c.low(), c.high()));
        }
        return new LineChart(e.setting() + ": " + e.description(), "in-context examples", e.metric().label(), s,
                e.metric().trivial(), trivialLabel(e.metric()), e.metric().lowerIsBetter(), "90% bootstrap band");
    }

    /** What the dashed line of a metric stands for. */
    static String trivialLabel(Metric m) {
        return m instanceof Metric.Accuracy ? "chance" : "zero predictor";
    }

    /** The y range both the SVG and the PNG use. */
    YRange range() {
        List<YRange.Values> v = new ArrayList<>();
        for (Series s : series) {
            v.add(new YRange.Values(s.name(), s.mean(), s.low(), s.high()));
        }
        return YRange.of(v, reference, lowerIsBetter);
    }

    /** Whether the y axis cuts off part of some curve or band. */
    public boolean clipped() {
        return range().clipped();
    }

    /** What the clipped y axis cuts off, for the reader ("y axis clipped at 5: Averaging reaches 21 at k = 1"); empty when not clipped. */
    public String clipNote() {
        return range().note();
    }

    /** Writes the chart as a standalone SVG file (UTF-8). */
    public void writeSvg(Path file) throws IOException {
        AtomicFiles.write(file, svg("c"));
    }

    /**
     * The chart as one {@code <svg>} element, well-formed XML that can stand alone or be embedded inline in an HTML
     * page; {@code id} prefixes the element ids (the clip path), so several charts can share a page.
     */
    public String svg(String id) {
        String clipId = id.replaceAll("[^A-Za-z0-9_-]", "_") + "-plot";
        YRange r = range();
        double lo = r.lo();
        double hi = r.hi();
        double yStep = Ticks.step(lo, hi, 5);
        if (!r.clipped()) {
            hi = Math.ceil(hi / yStep - 1e-9) * yStep;
        }
        int xMax = Math.max(1, series.stream().mapToInt(s -> s.mean().length).max().orElse(1) - 1);

        int legendChars = Math.max(referenceLabel.length(), bandLabel.length());
        for (Series s : series) {
            legendChars = Math.max(legendChars, Math.min(MAX_LEGEND_CHARS, s.name().length()));
        }
        int legendW = 44 + 7 * legendChars;
        int width = LEFT + PLOT_W + 24 + legendW;
        // about 9 px a character of the bold 15 px title, 7 px of the 11.5 px note
        List<String> titleLines = wrap(title, (width - 24) / 9);
        List<String> noteLines = r.clipped() ? wrap(r.note(), (width - 24) / 7) : List.of();
        int top = 14 + 20 * titleLines.size() + 16 * noteLines.size() + 12;
        int height = top + PLOT_H + BOTTOM;
        Frame f = new Frame(LEFT, top, PLOT_W, PLOT_H, xMax, lo, hi);

        StringBuilder s = new StringBuilder();
        s.append(fmt("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                + "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\" role=\"img\">%n",
                width, height, width, height));
        s.append("<title>").append(xml(title)).append("</title>\n");
        s.append(fmt("<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
        s.append(fmt("<defs><clipPath id=\"%s\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/></clipPath></defs>%n",
                clipId, LEFT, top, PLOT_W, PLOT_H));
        int y = 14;
        for (String line : titleLines) {
            y += 20;
            s.append(fmt("<text x=\"12\" y=\"%d\" font-size=\"15\" font-weight=\"bold\">%s</text>%n", y - 4, xml(line)));
        }
        for (String line : noteLines) {
            y += 16;
            s.append(fmt("<text x=\"12\" y=\"%d\" font-size=\"11.5\" fill=\"#b22222\">%s</text>%n", y - 2, xml(line)));
        }

        // grid and tick labels
        s.append("<g stroke=\"#e6e6e6\" stroke-width=\"1\">\n");
        List<Double> yTicks = Ticks.within(lo, hi, yStep);
        List<Double> xTicks = Ticks.integers(xMax);
        for (double t : yTicks) {
            s.append(fmt("<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\"/>%n", LEFT, f.y(t), LEFT + PLOT_W, f.y(t)));
        }
        for (double t : xTicks) {
            s.append(fmt("<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\"/>%n", f.x(t), top, f.x(t), top + PLOT_H));
        }
        s.append("</g>\n<g font-size=\"11\" fill=\"#333333\">\n");
        for (double t : yTicks) {
            s.append(fmt("<text x=\"%d\" y=\"%.2f\" text-anchor=\"end\">%s</text>%n", LEFT - 7, f.y(t) + 4,
                    Ticks.label(t)));
        }
        for (double t : xTicks) {
            s.append(fmt("<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", f.x(t), top + PLOT_H + 16,
                    Ticks.label(t)));
        }
        s.append("</g>\n");

        // bands under lines, then the reference line, then the lines
        s.append(fmt("<g clip-path=\"url(#%s)\">%n", clipId));
        for (int i = 0; i < series.size(); i++) {
            Series c = series.get(i);
            if (c.low() != null) {
                for (String poly : bands(c, f)) {
                    s.append(fmt("<path d=\"%s\" fill=\"%s\" fill-opacity=\"0.18\" stroke=\"none\"/>%n", poly, colour(i)));
                }
            }
        }
        if (Double.isFinite(reference)) {
            s.append(fmt("<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"#555555\" stroke-width=\"1.5\" "
                    + "stroke-dasharray=\"6 4\"/>%n", LEFT, f.y(reference), LEFT + PLOT_W, f.y(reference)));
        }
        for (int i = 0; i < series.size(); i++) {
            Series c = series.get(i);
            s.append("<g><title>").append(xml(c.name())).append("</title>");
            for (String line : lines(c.mean(), f)) {
                s.append(fmt("<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                        + "stroke-linejoin=\"round\"/>", line, colour(i)));
            }
            if (c.mean().length <= 41) {
                for (int k = 0; k < c.mean().length; k++) {
                    if (Double.isFinite(c.mean()[k])) {
                        s.append(fmt("<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.3\" fill=\"%s\"/>", f.x(k),
                                f.yClamped(c.mean()[k]), colour(i)));
                    }
                }
            }
            s.append("</g>\n");
        }
        s.append("</g>\n");

        // axes and their labels
        s.append(fmt("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333333\"/>%n",
                LEFT, top, PLOT_W, PLOT_H));
        s.append(fmt("<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"13\">%s</text>%n",
                LEFT + PLOT_W / 2, top + PLOT_H + 40, xml(xLabel)));
        s.append(fmt("<text transform=\"translate(%d %d) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">%s</text>%n",
                18, top + PLOT_H / 2, xml(yLabel)));
        // a small triangle on the top edge wherever a mean goes off scale
        for (int i = 0; i < series.size(); i++) {
            double[] m = series.get(i).mean();
            for (int k = 0; k < m.length; k++) {
                if (Double.isFinite(m[k]) && m[k] > hi) {
                    s.append(fmt("<path d=\"M%.2f %d l-4.5 8 h9 Z\" fill=\"%s\"><title>%s: %s at k = %d</title></path>%n",
                            f.x(k), top + 1, colour(i), xml(series.get(i).name()), Ticks.label(m[k]), k));
                }
            }
        }

        // legend
        int lx = LEFT + PLOT_W + 20;
        int ly = top + 8;
        for (int i = 0; i < series.size(); i++) {
            Series c = series.get(i);
            if (c.low() != null) {
                s.append(fmt("<rect x=\"%d\" y=\"%d\" width=\"26\" height=\"10\" fill=\"%s\" fill-opacity=\"0.18\"/>",
                        lx, ly - 5, colour(i)));
            }
            s.append(fmt("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>", lx, ly,
                    lx + 26, ly, colour(i)));
            s.append(fmt("<text x=\"%d\" y=\"%d\">%s</text>%n", lx + 34, ly + 4, xml(shorten(c.name()))));
            ly += 20;
        }
        if (Double.isFinite(reference)) {
            s.append(fmt("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#555555\" stroke-width=\"1.5\" "
                    + "stroke-dasharray=\"6 4\"/>", lx, ly, lx + 26, ly));
            s.append(fmt("<text x=\"%d\" y=\"%d\">%s</text>%n", lx + 34, ly + 4, xml(referenceLabel)));
            ly += 20;
        }
        if (series.stream().anyMatch(c -> c.low() != null)) {
            s.append(fmt("<rect x=\"%d\" y=\"%d\" width=\"26\" height=\"10\" fill=\"#777777\" fill-opacity=\"0.25\"/>",
                    lx, ly - 5));
            s.append(fmt("<text x=\"%d\" y=\"%d\">%s</text>%n", lx + 34, ly + 4, xml(bandLabel)));
        }
        return s.append("</svg>\n").toString();
    }

    /** Maps data to the plot area; values far off the axis are pulled in so the numbers stay sane. */
    private record Frame(int left, int top, int w, int h, int xMax, double lo, double hi) {
        double x(double k) {
            return left + w * k / xMax;
        }

        double y(double v) {
            return top + h * (hi - v) / (hi - lo);
        }

        /** Far outside the clip (a thousand plot heights) the slope error of the visible part is negligible. */
        double yClamped(double v) {
            return Math.max(top - 1000.0 * h, Math.min(top + 1001.0 * h, y(v)));
        }
    }

    private static List<String> lines(double[] v, Frame f) {
        List<String> out = new ArrayList<>();
        StringBuilder d = null;
        for (int k = 0; k < v.length; k++) {
            if (!Double.isFinite(v[k])) {
                d = flush(out, d);
                continue;
            }
            if (d == null) {
                d = new StringBuilder(fmt("M%.2f %.2f", f.x(k), f.yClamped(v[k])));
            } else {
                d.append(fmt(" L%.2f %.2f", f.x(k), f.yClamped(v[k])));
            }
        }
        flush(out, d);
        return out;
    }

    private static StringBuilder flush(List<String> out, StringBuilder d) {
        if (d != null) {
            out.add(d.toString());
        }
        return null;
    }

    /** One closed polygon per run of positions where mean and band are all finite. */
    private static List<String> bands(Series c, Frame f) {
        List<String> out = new ArrayList<>();
        int n = c.mean().length;
        int k = 0;
        while (k < n) {
            while (k < n && !finite(c, k)) {
                k++;
            }
            int start = k;
            while (k < n && finite(c, k)) {
                k++;
            }
            if (k > start) {
                StringBuilder d = new StringBuilder();
                for (int j = start; j < k; j++) {
                    d.append(fmt(j == start ? "M%.2f %.2f" : " L%.2f %.2f", f.x(j), f.yClamped(c.high()[j])));
                }
                for (int j = k - 1; j >= start; j--) {
                    d.append(fmt(" L%.2f %.2f", f.x(j), f.yClamped(c.low()[j])));
                }
                out.add(d.append(" Z").toString());
            }
        }
        return out;
    }

    private static boolean finite(Series c, int k) {
        return Double.isFinite(c.mean()[k]) && Double.isFinite(c.low()[k]) && Double.isFinite(c.high()[k]);
    }

    /** The i-th curve's colour (matplotlib's tab10), shared with the PNG plot. */
    static String colour(int i) {
        return COLOURS[i % COLOURS.length];
    }

    private static String shorten(String name) {
        return name.length() <= MAX_LEGEND_CHARS ? name : name.substring(0, MAX_LEGEND_CHARS - 1) + "\u2026";
    }

    /** Greedy word wrap at {@code width} characters (a word longer than that gets a line of its own). */
    static List<String> wrap(String text, int width) {
        List<String> out = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (String word : text.split("\\s+")) {
            if (line.length() > 0 && line.length() + 1 + word.length() > width) {
                out.add(line.toString());
                line.setLength(0);
            }
            line.append(line.length() > 0 ? " " : "").append(word);
        }
        if (line.length() > 0 || out.isEmpty()) {
            out.add(line.toString());
        }
        return out;
    }

    private static String fmt(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }

    /** Text for XML content or a quoted attribute. */
    static String xml(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> {
                    // XML 1.0 forbids most control characters even as references: drop them
                    if (c >= 0x20 || c == '\n' || c == '\t' || c == '\r') {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }
}
