package dev.incontext.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The y range of a line chart, shared by the PNG and SVG plots so both clip alike. An error-like chart (lower is
 * better) starts at 0 and is clipped when a curve explodes (averaging at k = 1 scores about d + 1 against a trivial
 * line of 1): the top is at most 2.5 times the typical level, the larger of the reference line and the largest
 * per-curve median, so a curve that is high everywhere (a model far out of distribution) is still shown whole. A
 * higher-is-better chart (accuracy) is bounded and never clipped.
 *
 * @param lo bottom of the axis
 * @param hi top of the axis
 * @param clipped whether some mean or band value lies above {@code hi}
 * @param note for the reader when clipped: what goes off scale, and how far; empty otherwise
 */
record YRange(double lo, double hi, boolean clipped, String note) {
    /** The most the top may exceed the typical level before the axis is clipped. */
    static final double CLIP_FACTOR = 2.5;

    /** One curve's values: mean, and band (both may be null). */
    record Values(String name, double[] mean, double[] low, double[] high) {}

    static YRange of(List<Values> curves, double reference, boolean lowerIsBetter) {
        double dataMin = Double.POSITIVE_INFINITY;
        double dataMax = Double.NEGATIVE_INFINITY;
        double typical = Double.isFinite(reference) ? Math.abs(reference) : 0;
        for (Values c : curves) {
            for (double[] a : new double[][] {c.mean(), c.low(), c.high()}) {
                if (a == null) {
                    continue;
                }
                for (double v : a) {
                    if (Double.isFinite(v)) {
                        dataMin = Math.min(dataMin, v);
                        dataMax = Math.max(dataMax, v);
                    }
                }
            }
            typical = Math.max(typical, median(c.mean()));
        }
        if (!Double.isFinite(dataMin)) {
            double r = Double.isFinite(reference) ? reference : 0;
            return new YRange(Math.min(0, r), Math.max(1, 2 * r), false, "");
        }
        if (!lowerIsBetter) {
            double lo = Double.isFinite(reference) ? Math.min(dataMin, reference) : dataMin;
            double hi = Double.isFinite(reference) ? Math.max(dataMax, reference) : dataMax;
            double pad = Math.max(0.05 * (hi - lo), 1e-9);
            return new YRange(lo - pad, hi + pad, false, "");
        }
        double lo = Math.min(0, dataMin);
        double hi = dataMax * 1.05;
        if (typical > 0 && dataMax > CLIP_FACTOR * typical) {
            hi = Ticks.niceCeil(CLIP_FACTOR * typical);
        }
        if (Double.isFinite(reference)) {
            hi = Math.max(hi, reference * 1.15);
        }
        if (!(hi > lo)) {
            hi = lo + 1;
        }
        boolean clipped = dataMax > hi;
        return new YRange(lo, hi, clipped, clipped ? note(curves, hi) : "");
    }

    private static String note(List<Values> curves, double hi) {
        List<String> off = new ArrayList<>();
        List<String> bandsOnly = new ArrayList<>();
        for (Values c : curves) {
            int at = -1;
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < c.mean().length; k++) {
                if (Double.isFinite(c.mean()[k]) && c.mean()[k] > max) {
                    max = c.mean()[k];
                    at = k;
                }
            }
            if (at >= 0 && max > hi) {
                off.add(String.format(Locale.ROOT, "%s reaches %s at k = %d", c.name(), Ticks.label(max), at));
            } else if (c.high() != null && Arrays.stream(c.high()).anyMatch(v -> Double.isFinite(v) && v > hi)) {
                bandsOnly.add(c.name());
            }
        }
        StringBuilder s = new StringBuilder("y axis clipped at ").append(Ticks.label(hi));
        if (!off.isEmpty()) {
            s.append(": ").append(String.join("; ", off));
        }
        if (!bandsOnly.isEmpty()) {
            s.append(off.isEmpty() ? ": " : "; ").append("band of ").append(String.join(", ", bandsOnly))
                    .append(" goes above");
        }
        return s.toString();
    }

    private static double median(double[] v) {
        double[] f = Arrays.stream(v).filter(Double::isFinite).sorted().toArray();
        if (f.length == 0) {
            return 0;
        }
        return f.length % 2 == 1 ? f[f.length / 2] : 0.5 * (f[f.length / 2 - 1] + f[f.length / 2]);
    }
}
