package dev.incontext.report;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Axis ticks at 1, 2 or 5 times a power of ten, and short number labels. */
final class Ticks {
    private Ticks() {}

    /** The smallest of 1, 2, 2.5, 5, 10 times a power of ten that is at least {@code x} (x &gt; 0). */
    static double niceCeil(double x) {
        if (!(x > 0) || !Double.isFinite(x)) {
            return x;
        }
        double p = Math.pow(10, Math.floor(Math.log10(x)));
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (m * p >= x * (1 - 1e-12)) {
                return m * p;
            }
        }
        return 10 * p;
    }

    /** A step of 1, 2 or 5 times a power of ten giving about {@code target} intervals over [lo, hi]. */
    static double step(double lo, double hi, int target) {
        double raw = (hi - lo) / Math.max(1, target);
        if (!(raw > 0)) {
            return 1;
        }
        double p = Math.pow(10, Math.floor(Math.log10(raw)));
        double m = raw / p;
        return (m <= 1.5 ? 1 : m <= 3 ? 2 : m <= 7 ? 5 : 10) * p;
    }

    /** Multiples of {@code step} inside [lo, hi] (with a little slack for rounding). */
    static List<Double> within(double lo, double hi, double step) {
        List<Double> t = new ArrayList<>();
        double eps = step * 1e-9;
        for (long i = (long) Math.ceil((lo - eps) / step); i * step <= hi + eps; i++) {
            t.add(i * step);
        }
        return t;
    }

    /** Integer ticks over 0 .. max (an x axis of positions). */
    static List<Double> integers(int max) {
        double step = Math.max(1, step(0, Math.max(1, max), 8));
        return within(0, Math.max(1, max), Math.ceil(step));
    }

    /** A short label: at most 4 significant digits, no trailing zeros, no exponent for ordinary magnitudes. */
    static String label(double v) {
        if (!Double.isFinite(v)) {
            return "-";
        }
        if (v == 0) {
            return "0";
        }
        double a = Math.abs(v);
        if (a >= 1e-3 && a < 1e6) {
            return new BigDecimal(String.format(Locale.ROOT, "%.4g", v)).stripTrailingZeros().toPlainString();
        }
        return String.format(Locale.ROOT, "%.3g", v);
    }
}
