package dev.incontext.report;

import java.util.Locale;

/**
 * The little JSON the report files need, written by hand: escaped strings, numbers with 8 significant digits, and
 * null for a non-finite number (JSON has no NaN or Infinity; a reader would otherwise refuse the whole file).
 */
final class Json {
    private Json() {}

    /** A JSON string literal, quotes included. */
    static String str(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    /** A number with 8 significant digits, or null when not finite. */
    static String num(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.8g", v) : "null";
    }

    /** A number exactly as Java prints it (shortest round-trip form), or null when not finite. */
    static String exact(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "null";
    }

    static String array(double[] v) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) {
            s.append(i == 0 ? "" : ",").append(num(v[i]));
        }
        return s.append(']').toString();
    }

    static String array(long[] v) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) {
            s.append(i == 0 ? "" : ",").append(v[i]);
        }
        return s.append(']').toString();
    }
}
