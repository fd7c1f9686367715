package dev.incontext.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.config.RunConfig.TaskConfig;
import dev.incontext.config.RunConfig.TaskKind;
import dev.incontext.config.RunConfig.XDistribution;
import dev.incontext.eval.baselines.Averaging;
import dev.incontext.eval.baselines.LeastSquares;
import dev.incontext.eval.baselines.Zero;
import dev.incontext.model.Predictor;
import dev.incontext.tasks.TaskFamily;
import dev.incontext.testing.NativeScope;
import java.util.List;
import java.util.function.IntToDoubleFunction;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The settings against papers.md §9's closed forms, by Monte Carlo. Each check allows 6 bootstrap standard errors
 * (the 90% interval spans 3.29 of them), which a correct implementation exceeds with probability ~2e-9 per point;
 * a wrong normaliser or query moves the means by far more (each test says by how much).
 */
@ExtendWith(NativeScope.class)
class SettingsTest {
    private static final TensorOptions F64 = new TensorOptions(torch.ScalarType.Double);
    private static final int D = 5;

    private static RunConfig demo(String... overrides) {
        return ConfigLoader.load(RunConfig.class, "demo", List.of(overrides));
    }

    private static Evaluation run(List<? extends Predictor> predictors, TaskConfig task, int points, Setting s,
            int prompts) {
        return Evaluator.evaluate(predictors, task, points, 101, s, new Evaluator.Request(prompts, 2000, 11, F64, false),
                Evaluator.Listener.NONE).evaluation();
    }

    private static void assertCurve(Evaluation.Curve c, int from, int to, IntToDoubleFunction truth, String what) {
        for (int k = from; k < to; k++) {
            double se = (c.high()[k] - c.low()[k]) / 3.29;
            double t = truth.applyAsDouble(k);
            assertTrue(Math.abs(c.mean()[k] - t) <= 6 * se + 1e-9, what + " at k=" + k + ": " + c.mean()[k]
                    + " vs closed form " + t + " (se " + se + ")");
        }
    }

    /** The zero predictor scores 1 in every regression setting: each normaliser is the setting's E[y_q^2]. */
    @Test
    void zeroPredictorScoresOneInEverySetting() {
        TaskConfig lr = demo().task();
        List<Setting> settings = List.of(new Setting.Standard(), new Setting.Covariance(XDistribution.SKEWED),
                new Setting.Covariance(XDistribution.HALF_SUBSPACE), new Setting.OrthantsGaussianQuery(),
                new Setting.OrthogonalQuery(), new Setting.OverlappingQuery(), new Setting.ScaleX(3),
                new Setting.ScaleX(1.0 / 3), new Setting.ScaleY(2), new Setting.NoisyLabels(1.0),
                new Setting.RandomCovariance(9), new Setting.LongerPrompts(2));
        for (Setting s : settings) {
            Evaluation e = run(List.of(new Zero()), lr, 11, s, 20000);
            Evaluation.Curve z = e.curves().get(0);
            // Pool all positions: E[y^2]/normaliser = 1; the pooled se from the per-position intervals.
            double mean = 0;
            double var = 0;
            for (int k = 0; k < e.points(); k++) {
                mean += z.mean()[k] / e.points();
                double se = (z.high()[k] - z.low()[k]) / 3.29;
                var += se * se / e.points() / e.points();
            }
            // Positions share prompts, so the pooled se is at most the mean of the per-position ones.
            double bound = 6 * Math.sqrt(var * e.points());
            assertEquals(1.0, mean, bound, s.id() + ": the zero predictor's normalised error");
        }
        // A model trained on noisy labels without renormalisation: noise counts in E[y^2].
        TaskConfig noisy = demo("task.name=noisy_linear_regression", "task.noise_std=2").task();
        Evaluation e = run(List.of(new Zero()), noisy, 11, new Setting.Standard(), 20000);
        assertEquals(1.0, e.curves().get(0).mean()[5], 0.1);
    }

    /** §9.2, §9.10: least squares under the shifts it solves exactly. */
    @Test
    void leastSquaresUnderShifts() {
        TaskConfig lr = demo().task();
        List<LeastSquares> ls = List.of(new LeastSquares(0));
        // Half subspace: 1 - 2k/d for k < d/2, then 0 (d = 6 so that d/2 is whole).
        TaskConfig d6 = demo("task.n_dims=6", "curriculum.dims.end=6").task();
        assertCurve(run(ls, d6, 11, new Setting.Covariance(XDistribution.HALF_SUBSPACE), 8000).curves().get(0), 1, 11,
                k -> k < 3 ? 1 - 2.0 * k / 6 : 0, "half subspace");
        // Overlapping query: 0 for every k >= 1.
        Evaluation.Curve over = run(ls, lr, 11, new Setting.OverlappingQuery(), 2000).curves().get(0);
        for (int k = 1; k < 11; k++) {
            assertEquals(0.0, over.mean()[k], 1e-10, "overlapping query at k=" + k);
        }
        // Orthogonal query: min-norm least squares predicts 0 there, so it scores exactly the zero predictor's 1;
        // only k < d is scored.
        Evaluation orth = run(ls, lr, 11, new Setting.OrthogonalQuery(), 8000);
        assertEquals(D, orth.points());
        assertCurve(orth.curves().get(0), 1, D, k -> 1.0, "orthogonal query");
        // Scaled x: the normalised error is unchanged, (d - k)/d then 0 (an unscaled normaliser would give 9x).
        assertCurve(run(ls, lr, 11, new Setting.ScaleX(3), 8000).curves().get(0), 1, 11,
                k -> k < D ? (D - k) / (double) D : 0, "x scaled by 3");
        assertCurve(run(ls, lr, 11, new Setting.ScaleY(0.5), 8000).curves().get(0), 1, 11,
                k -> k < D ? (D - k) / (double) D : 0, "y scaled by 1/2");
        // Orthants with a Gaussian query: least squares still recovers w for k >= d.
        Evaluation.Curve orthants = run(ls, lr, 11, new Setting.OrthantsGaussianQuery(), 2000).curves().get(0);
        assertEquals(0.0, orthants.mean()[D + 2], 1e-8);
    }

    /**
     * §9.3: noisy least squares against the noisy label, k > d + 1: sigma^2 d/(k - d - 1) + sigma^2, over
     * E[y^2] = d + sigma^2. Checked where the inverse-Wishart moments have light enough tails (k >= d + 4).
     */
    @Test
    void noisyLeastSquares() {
        double sigma = 0.5;
        TaskConfig noisy = demo("task.name=noisy_linear_regression", "task.noise_std=" + sigma).task();
        Evaluation e = run(List.of(new LeastSquares(0)), noisy, 20, new Setting.Standard(), 20000);
        double s2 = sigma * sigma;
        assertCurve(e.curves().get(0), D + 4, 20, k -> (s2 * D / (k - D - 1) + s2) / (D + s2), "noisy least squares");
    }

    /**
     * §9.6 for the averaging estimator on orthant prompts with a Gaussian query: with M = E[x x^T] = (1 - 2/pi) I +
     * (2/pi) s s^T, the exact error is tr((M - I)^2) + (E|x|^4 - tr(M^2))/k, over d; its limit (4/pi^2)(d - 1) is what
     * separates LSA-like from least-squares-like models. A query from the prompt's orthant would give a different curve.
     */
    @Test
    void averagingOnOrthantsWithGaussianQuery() {
        TaskConfig lr = demo().task();
        Evaluation e = run(List.of(new Averaging()), lr, 41, new Setting.OrthantsGaussianQuery(), 20000);
        double c = 2 / Math.PI;
        double bias = c * c * D * (D - 1);                      // ||M - I||_F^2 = (2/pi)^2 d (d - 1)
        double trM2 = D + D * (D - 1) * c * c;
        double fourth = D * D + 2.0 * D;                         // E|z|^4
        assertCurve(e.curves().get(0), 1, 41, k -> (bias + (fourth - trM2) / k) / D, "averaging on orthants");
    }

    /** Zhang's shared covariance: one lambda per batch, so prompts of a batch share it. */
    @Test
    void randomCovarianceIsSharedWithinABatch() {
        TaskConfig lr = demo().task();
        var sampler = new dev.incontext.tasks.TaskSampler(lr, 3, F64);
        var batch = new Setting.RandomCovariance(4).prompts(sampler, 2000, 3, dev.incontext.ops.Rng.cpu(3));
        // Per-coordinate variance across the batch is c * lambda_i for one lambda: the coordinates differ a lot,
        // while per-prompt lambdas would average out to c = 4 in every coordinate.
        double[] var = dev.incontext.util.Tensors.toDoubleArray(batch.xs().pow(new org.bytedeco.pytorch.Scalar(2))
                .mean(new long[] {0, 1}, false, new org.bytedeco.pytorch.ScalarTypeOptional()));
        double min = java.util.Arrays.stream(var).min().orElseThrow();
        double max = java.util.Arrays.stream(var).max().orElseThrow();
        assertTrue(max / min > 1.5, "coordinate variances " + java.util.Arrays.toString(var));
    }

    @Test
    void unsupportedSettingsSayWhy() {
        TaskConfig dt = demo("task.name=decision_tree").task();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(List.of(new Zero()), dt, 11,
                new Setting.ScaleX(2), 10));
        assertTrue(e.getMessage().contains("scale_x_2") && e.getMessage().contains("decision_tree"), e.getMessage());
        assertTrue(new Setting.LongerPrompts(2).unsupported(dt, 41, 41).isPresent());
        assertTrue(new Setting.FreshTasks().unsupported(dt, 41, 41).isPresent());
        assertEquals(TaskKind.LINEAR_REGRESSION, new Setting.OtherTask(TaskKind.LINEAR_REGRESSION)
                .task(demo("task.name=relu_2nn_regression").task()).name());
        assertEquals(1.0, TaskFamily.of(dt).normalisation(5));
    }
}
