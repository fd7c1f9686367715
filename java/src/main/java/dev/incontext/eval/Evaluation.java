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
 * @param bootstrapUnit prompts per resampled unit of the bands: 1 (whole prompts), or the evaluation batch size when
 *     the prompts of a batch share one draw
 */
public record Evaluation(String setting, String description, Metric metric, double normaliser, int prompts,
        List<Curve> curves, int bootstrapUnit) {
    public Evaluation {
        curves = List.copyOf(curves);
        if (bootstrapUnit < 1) {
            throw new IllegalArgumentException("bootstrap unit must be >= 1 prompt; got " + bootstrapUnit);
        }
    }

    /** An evaluation whose bands resample whole prompts. */
    public Evaluation(String setting, String description, Metric metric, double normaliser, int prompts,
            List<Curve> curves) {
        this(setting, description, metric, normaliser, prompts, curves, 1);
    }

    /** What the bands resample, for reports: whole prompts, or whole batches that share a draw. */
    public String band() {
        return bootstrapUnit == 1 ? "90% bootstrap over whole prompts" : "90% bootstrap over whole evaluation batches "
                + "of " + bootstrapUnit + " prompts (each batch shares one draw: the independent unit)";
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
