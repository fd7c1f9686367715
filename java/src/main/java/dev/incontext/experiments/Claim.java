package dev.incontext.experiments;

import java.util.List;
import java.util.Locale;

/**
 * A paper's claim judged against a run by a criterion written in code before the run: the claim, the criterion in
 * words, the numbers measured, and the verdict. A summary prints one row per claim, so that an effect not reproduced
 * reads as such, with its numbers.
 */
public record Claim(String claim, String criterion, String measured, Verdict verdict) {
    /** agree: the criterion holds; disagree: it fails; inconclusive: the run cannot decide it (says why). */
    public enum Verdict { AGREE, DISAGREE, INCONCLUSIVE }

    /** The claims as a Markdown table. */
    public static String table(List<Claim> claims) {
        StringBuilder s = new StringBuilder("| claim | criterion (fixed before the run) | measured | verdict |\n"
                + "|---|---|---|---|\n");
        for (Claim c : claims) {
            s.append("| ").append(c.claim()).append(" | ").append(c.criterion()).append(" | ").append(c.measured())
                    .append(" | **").append(c.verdict().name().toLowerCase(Locale.ROOT)).append("** |\n");
        }
        return s.toString();
    }

    /**
     * A binomial accuracy's 95% interval over its independent unit (rows): {@code acc -+ 1.96 sqrt(acc (1 - acc) /
     * rows)}, with acc floored at 1/rows inside the root so that an accuracy of 0 or 1 still has a width.
     */
    static double[] interval(double acc, int rows) {
        double a = Math.min(Math.max(acc, 1.0 / rows), 1 - 1.0 / rows);
        double half = 1.96 * Math.sqrt(a * (1 - a) / rows);
        return new double[] {acc - half, acc + half};
    }
}
