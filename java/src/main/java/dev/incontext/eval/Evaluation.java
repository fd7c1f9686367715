package dev.incontext.eval;

import java.util.List;

/**
 * Per-position results of several predictors on the same prompts: for each predictor the mean of the metric at
 * every number of in-context examples k, with a 90% bootstrap interval (5th and 95th percentiles of 1000
 * resampled means). The metric is the squared error divided by the task's normalisation (so the zero predictor
 * scores 1), or the accuracy for classification.
 */
public record Evaluation(String metric, int prompts, List<Curve> curves) {
    public record Curve(String predictor, double[] mean, double[] low, double[] high) {}

    public Curve curve(String predictor) {
        return curves.stream().filter(c -> c.predictor().equals(predictor)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no curve named " + predictor));
    }

    public int points() {
        return curves.get(0).mean().length;
    }
}
