package dev.incontext.report;

import dev.incontext.util.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * A metric over a grid of two axes (rows x columns) as a coloured table with the value in every cell, written as PNG
 * and SVG from the same layout. Low values are light, high values dark (viridis-like ramp); a missing value (NaN, a
 * failed cell) is grey and labelled "-".
 */
public record Heatmap(String title, String rowLabel, List<String> rows, String columnLabel, List<String> columns,
        double[][] values) {
    private static final int CELL_W = 96;
    private static final int CELL_H = 40;
    private static final int LEFT = 180;
    private static final int TOP = 80;
    private static final Color[] RAMP = {new Color(0xfde725), new Color(0x5ec962), new Color(0x21918c),
        new Color(0x3b528b), new Color(0x440154)};

    public Heatmap {
        if (values.length != rows.size()) {
            throw new IllegalArgumentException("heatmap: " + rows.size() + " rows but " + values.length + " value rows");
        }
        for (double[] r : values) {
            if (r.length != columns.size()) {
                throw new IllegalArgumentException("heatmap: " + columns.size() + " columns but a row of " + r.length);
            }
        }
    }

    public int width() {
        return Math.max(560, LEFT + CELL_W * columns.size() + 40);
    }

    public int height() {
        return TOP + CELL_H * rows.size() + 60;
    }

    public void writePng(Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        BufferedImage img = new BufferedImage(width(), height(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width(), height());
            Font plain = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
            g.drawString(title, 10, 22);
            g.setFont(plain);
            FontMetrics fm = g.getFontMetrics();
            g.drawString(columnLabel + " \u2192", LEFT, TOP - 32);
            g.drawString(rowLabel + " \u2193", 10, TOP - 10);
            double[] range = range();
            for (int c = 0; c < columns.size(); c++) {
                String s = columns.get(c);
                g.drawString(s, LEFT + c * CELL_W + (CELL_W - fm.stringWidth(s)) / 2, TOP - 10);
            }
            for (int r = 0; r < rows.size(); r++) {
                g.setColor(Color.BLACK);
                g.drawString(rows.get(r), 10, TOP + r * CELL_H + CELL_H / 2 + 5);
                for (int c = 0; c < columns.size(); c++) {
                    double v = values[r][c];
                    Color fill = colour(v, range);
                    g.setColor(fill);
                    g.fillRect(LEFT + c * CELL_W, TOP + r * CELL_H, CELL_W, CELL_H);
                    g.setColor(Color.WHITE);
                    g.setStroke(new BasicStroke(1f));
                    g.drawRect(LEFT + c * CELL_W, TOP + r * CELL_H, CELL_W, CELL_H);
                    g.setColor(textOn(fill));
                    String s = label(v);
                    g.drawString(s, LEFT + c * CELL_W + (CELL_W - fm.stringWidth(s)) / 2, TOP + r * CELL_H + CELL_H / 2 + 5);
                }
            }
            g.setColor(Color.DARK_GRAY);
            g.drawString(legend(range), LEFT, TOP + rows.size() * CELL_H + 30);
        } finally {
            g.dispose();
        }
        ImageIO.write(img, "png", file.toFile());
    }

    public void writeSvg(Path file) throws IOException {
        double[] range = range();
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"12\">%n", width(), height()));
        s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width(), height()));
        s.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"22\" font-size=\"14\" font-weight=\"bold\">%s</text>%n",
                xml(title)));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s &#8594;</text>%n", LEFT, TOP - 32, xml(columnLabel)));
        s.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"%d\">%s &#8595;</text>%n", TOP - 10, xml(rowLabel)));
        for (int c = 0; c < columns.size(); c++) {
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                    LEFT + c * CELL_W + CELL_W / 2, TOP - 10, xml(columns.get(c))));
        }
        for (int r = 0; r < rows.size(); r++) {
            s.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"%d\">%s</text>%n", TOP + r * CELL_H + CELL_H / 2 + 5,
                    xml(rows.get(r))));
            for (int c = 0; c < columns.size(); c++) {
                double v = values[r][c];
                Color fill = colour(v, range);
                s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" "
                        + "stroke=\"white\"><title>%s = %s, %s = %s: %s</title></rect>%n", LEFT + c * CELL_W,
                        TOP + r * CELL_H, CELL_W, CELL_H, hex(fill), xml(rowLabel), xml(rows.get(r)), xml(columnLabel),
                        xml(columns.get(c)), label(v)));
                s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">%s</text>%n",
                        LEFT + c * CELL_W + CELL_W / 2, TOP + r * CELL_H + CELL_H / 2 + 5, hex(textOn(fill)), label(v)));
            }
        }
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"#404040\">%s</text>%n", LEFT,
                TOP + rows.size() * CELL_H + 30, xml(legend(range))));
        s.append("</svg>\n");
        AtomicFiles.write(file, s);
    }

    private double[] range() {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (double[] r : values) {
            for (double v : r) {
                if (Double.isFinite(v)) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        return new double[] {lo, hi};
    }

    private static String legend(double[] range) {
        return Double.isFinite(range[0]) ? "light = " + label(range[0]) + " (lowest), dark = " + label(range[1])
                + " (highest); grey = failed or missing" : "no finished cells";
    }

    static Color colour(double v, double[] range) {
        if (!Double.isFinite(v)) {
            return new Color(0xbdbdbd);
        }
        double t = range[1] > range[0] ? (v - range[0]) / (range[1] - range[0]) : 0.5;
        double x = t * (RAMP.length - 1);
        int i = Math.min(RAMP.length - 2, (int) Math.floor(x));
        double f = x - i;
        Color a = RAMP[i];
        Color b = RAMP[i + 1];
        return new Color((int) Math.round(a.getRed() + f * (b.getRed() - a.getRed())),
                (int) Math.round(a.getGreen() + f * (b.getGreen() - a.getGreen())),
                (int) Math.round(a.getBlue() + f * (b.getBlue() - a.getBlue())));
    }

    private static Color textOn(Color fill) {
        double luminance = 0.299 * fill.getRed() + 0.587 * fill.getGreen() + 0.114 * fill.getBlue();
        return luminance > 140 ? Color.BLACK : Color.WHITE;
    }

    static String label(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.4g", v) : "-";
    }

    private static String hex(Color c) {
        return String.format(Locale.ROOT, "#%02x%02x%02x", c.getRed(), c.getGreen(), c.getBlue());
    }

    private static String xml(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
