package dev.incontext.eval;

import java.util.List;

/**
 * Per-position results of several predictors on the same prompts of one setting: for each predictor the mean of
 * the metric at every number of in-context examples k, with a 90% bootstrap interval (5th and 95th percentiles of
 * 1000 means of prompts resampled with replacement, whole prompts at a time, or whole evaluation batches when the
 * setting's prompts share a draw per batch: {@link Setting#groupedByBatch}).
 *
 * @param setting the setting's id ({@code standard}, {@code scale_x_2}, ...)
 * @param description what the setting shifts
 * @param normaliser what squared errors were divided by: E[y_q²] of the setting's targets
 */
public record Evaluation(String setting, String description, Metric metric, double normaliser, int prompts,
        List<Curve> curves) {
    public Evaluation {
        curves = List.copyOf(curves);
    }

    public record Curve(String predictor, double[] mean, double[] low, double[] high) {}

    public Curve curve(String predictor) {
        return curves.stream().filter(c -> c.predictor().equals(predictor)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no curve named " + predictor + "; have "
                        + curves.stream().map(Curve::predictor).toList()));
    }

    /** Number of scored positions k = 0 .. points() - 1. */
    public int points() {
        return curves.get(0).mean().length;
    }
}
