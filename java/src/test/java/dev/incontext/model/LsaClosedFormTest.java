package dev.incontext.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.config.RunConfig.TaskConfig;
import dev.incontext.eval.Evaluation;
import dev.incontext.eval.Evaluator;
import dev.incontext.eval.Setting;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.ops.Rng;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.testing.NativeScope;
import dev.incontext.util.Tensors;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeScope.class)
class LsaClosedFormTest {
    private static final TensorOptions F64 = new TensorOptions(torch.ScalarType.Double);

    private static TaskConfig lr(int d) {
        return ConfigLoader.load(RunConfig.class, "lsa_linear_regression", List.of("task.n_dims=" + d, "curriculum.dims.start=" + d,
                "curriculum.dims.end=" + d)).task();
    }

    /**
     * Theorem 4.2 (papers.md §9.5) by Monte Carlo: d = 20, N = 40, every test length M up to 100 (0.344 at M = 40,
     * 0.2088 at M = 100), within 6 bootstrap standard errors.
     */
    @Test
    void riskMatchesTheorem42() {
        int d = 20;
        assertEquals(21.0 / 61, LsaClosedForm.isotropicRisk(d, 40, 40), 1e-12);
        LsaClosedForm f = LsaClosedForm.isotropic(d, 40);
        Evaluation e = Evaluator.evaluate(List.of(f), lr(d), 101, 101, new Setting.Standard(),
                new Evaluator.Request(6000, 1000, 3, F64, false), Evaluator.Listener.NONE).evaluation();
        Evaluation.Curve c = e.curves().get(0);
        for (int m : new int[] {10, 20, 40, 70, 100}) {
            double se = (c.high()[m] - c.low()[m]) / 3.29;
            double truth = LsaClosedForm.isotropicRisk(d, 40, m);
            assertTrue(Math.abs(c.mean()[m] - truth) <= 6 * se, "M=" + m + ": " + c.mean()[m] + " vs " + truth);
        }
    }

    /** The scaled-input risk (c²/g − 1)² + c⁴(d+1)/(M g²) by Monte Carlo at c = 2 and 1/2. */
    @Test
    void scaledInputRisk() {
        int d = 10;
        LsaClosedForm f = LsaClosedForm.isotropic(d, 20);
        for (double scale : new double[] {2, 0.5}) {
            Evaluation e = Evaluator.evaluate(List.of(f), lr(d), 61, 61, new Setting.ScaleX(scale),
                    new Evaluator.Request(6000, 1000, 4, F64, false), Evaluator.Listener.NONE).evaluation();
            Evaluation.Curve c = e.curves().get(0);
            for (int m : new int[] {20, 60}) {
                double se = (c.high()[m] - c.low()[m]) / 3.29;
                double truth = LsaClosedForm.scaledInputRisk(d, 20, m, scale);
                assertTrue(Math.abs(c.mean()[m] - truth) <= 6 * se, "c=" + scale + " M=" + m + ": " + c.mean()[m]
                        + " vs " + truth);
            }
        }
    }

    /**
     * K layers of von Oswald's construction are K steps of gradient descent from 0, by an explicit loop, to round-off;
     * one layer equals the one-step construction of the LSA model.
     */
    @Test
    void stackedConstructionIsKGradientSteps() {
        int d = 4;
        int n = 9;
        double eta = 0.6;
        PromptBatch b = new TaskSampler(lr(d), 5, F64).sample(6, n, d, Rng.cpu(19));
        Tensor queries = torch.randn(new long[] {6, n, d}, Rng.opt(Rng.cpu(20)), F64);
        double[] xs = Tensors.toDoubleArray(b.xs());
        double[] ys = Tensors.toDoubleArray(b.ys());
        double[] qs = Tensors.toDoubleArray(queries);
        for (int steps : new int[] {1, 3}) {
            double[] got = Tensors.toDoubleArray(LinearAttentionStack.gradientDescent(d, steps, eta, F64)
                    .predict(b, queries));
            for (int p = 0; p < 6; p++) {
                for (int k = 1; k < n; k++) {
                    double[] w = new double[d];
                    for (int s = 0; s < steps; s++) {
                        double[] g = new double[d];
                        for (int i = 0; i < k; i++) {
                            double r = ys[p * n + i];
                            for (int j = 0; j < d; j++) {
                                r -= w[j] * xs[(p * n + i) * d + j];
                            }
                            for (int j = 0; j < d; j++) {
                                g[j] += r * xs[(p * n + i) * d + j] / k;
                            }
                        }
                        for (int j = 0; j < d; j++) {
                            w[j] += eta * g[j];
                        }
                    }
                    double expected = 0;
                    for (int j = 0; j < d; j++) {
                        expected += w[j] * qs[(p * n + k) * d + j];
                    }
                    assertEquals(expected, got[p * n + k], 1e-11 * (1 + Math.abs(expected)), steps + " steps, k " + k);
                }
            }
        }
        Tensor one = LinearAttentionStack.gradientDescent(d, 1, eta, F64).predict(b, queries);
        Tensor lsa = LsaModel.gradientDescentStep(d, eta, F64).predict(b, queries);
        assertTrue(Tensors.maxAbsDiff(one, lsa) < 1e-12);
    }

    /**
     * §9.7: one GD step from 0 with the optimal step has normalised risk (d+1)/(N+d+1) for Gaussian x (η* =
     * N/(N+d+1)) and (d−0.2)/(N+d−0.2) for uniform x (η* = 1/(1+(d−0.2)/N) at unit variance); d = N = 10, by Monte
     * Carlo within 6 standard errors. The two risks differ through the inputs' fourth moment (m₄ = 3 for Gaussian,
     * 1.8 for uniform): 0.5238 against 0.4949 here.
     */
    @Test
    void optimalOneStepRisk() {
        int d = 10;
        int n = 10;
        for (String dist : new String[] {"isotropic", "uniform"}) {
            TaskConfig t = ConfigLoader.load(RunConfig.class, "lsa_linear_regression", List.of("task.n_dims=10",
                    "curriculum.dims.start=10", "curriculum.dims.end=10", "task.x_distribution=" + dist)).task();
            boolean uniform = dist.equals("uniform");
            double eta = uniform ? 1 / (1 + (d - 0.2) / n) : n / (n + d + 1.0);
            double risk = uniform ? (d - 0.2) / (n + d - 0.2) : (d + 1.0) / (n + d + 1);
            Evaluation e = Evaluator.evaluate(List.of(LsaModel.gradientDescentStep(d, eta, F64)), t, n + 1, n + 1,
                    new Setting.Standard(), new Evaluator.Request(20000, 5000, 6, F64, false), Evaluator.Listener.NONE)
                    .evaluation();
            Evaluation.Curve c = e.curves().get(0);
            double se = (c.high()[n] - c.low()[n]) / 3.29;
            assertTrue(Math.abs(c.mean()[n] - risk) <= 6 * se, dist + ": " + c.mean()[n] + " vs " + risk + " se " + se);
        }
    }

    /**
     * The gd:1 baseline on uniform inputs takes §9.7's uniform step: at position N it equals the LSA construction with
     * η* = 1/(s(1 + (d − 0.2)/N)); and every baseline's argument is checked when a config names it.
     */
    @Test
    void gdBaselineUsesTheUniformOptimalStep() {
        var c = ConfigLoader.load(RunConfig.class, "von_oswald_gd", List.of());
        TaskSampler s = new TaskSampler(c.task(), 1, F64);
        PromptBatch b = s.sample(32, 11, 10, Rng.cpu(8));
        Tensor gd = dev.incontext.eval.baselines.BaselineSpec.parse("gd:1")
                .create(new dev.incontext.eval.baselines.BaselineContext(c.task(), s, 1)).predict(b);
        double eta = dev.incontext.experiments.VonOswaldGd.optimalStep(c.task(), 10);
        Tensor lsa = LsaModel.gradientDescentStep(10, eta, F64).predict(b);
        assertTrue(Tensors.maxAbsDiff(gd.select(1, 10), lsa.select(1, 10)) < 1e-12);
        for (String bad : new String[] {"gd:0", "xgboost:3", "dmmse:1", "gd_relu_net:2", "tree:-1", "lasso:0"}) {
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> dev.incontext.eval.baselines.BaselineSpec.parse(bad), bad);
        }
    }

    /** The training fast path (last position only) equals the last column of the all-prefix forward pass. */
    @Test
    void lastPositionFastPathEqualsForward() {
        int d = 6;
        var c = ConfigLoader.load(RunConfig.class, "lsa_linear_regression", List.of("task.n_dims=6", "curriculum.dims.end=6",
                "curriculum.dims.start=6"));
        LsaModel m = (LsaModel) Models.create(c, F64);
        // Perturb every entry so that no block is zero by construction.
        try (org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
            m.wpv().add_(torch.randn(new long[] {d + 1, d + 1}, Rng.opt(Rng.cpu(1)), F64).mul(new Scalar(0.3)));
            m.wkq().add_(torch.randn(new long[] {d + 1, d + 1}, Rng.opt(Rng.cpu(2)), F64).mul(new Scalar(0.3)));
        }
        PromptBatch b = new TaskSampler(c.task(), 5, F64).sample(8, 11, d, Rng.cpu(3));
        Tensor all = m.forward(b.xs(), b.ys());
        Tensor last = m.forwardForLoss(b.xs(), b.ys());
        assertEquals(1, last.size(1));
        assertTrue(Tensors.relErr(last.select(1, 0), all.select(1, 10)) < 1e-12);
    }

    /** von Oswald's construction equals one gradient-descent step from 0, on random prompts, to round-off. */
    @Test
    void gdConstructionIsOneGradientStep() {
        int d = 7;
        double eta = 0.83;
        LsaModel m = LsaModel.gradientDescentStep(d, eta, F64);
        PromptBatch b = new TaskSampler(lr(d), 5, F64).sample(16, 13, d, Rng.cpu(9));
        Tensor queries = torch.randn(new long[] {16, 13, d}, Rng.opt(Rng.cpu(10)), F64);
        Tensor pred = m.predict(b, queries);
        // One step on (1/2k) sum (y - w.x)^2 from w = 0: w1 = eta (1/k) sum y_i x_i, by explicit sums.
        double[] xs = Tensors.toDoubleArray(b.xs());
        double[] ys = Tensors.toDoubleArray(b.ys());
        double[] qs = Tensors.toDoubleArray(queries);
        double[] got = Tensors.toDoubleArray(pred);
        for (int p = 0; p < 16; p++) {
            for (int k = 0; k < 13; k++) {
                double expected = 0;
                for (int j = 0; j < d; j++) {
                    double w = 0;
                    for (int i = 0; i < k; i++) {
                        w += ys[p * 13 + i] * xs[(p * 13 + i) * d + j];
                    }
                    w = k == 0 ? 0 : eta * w / k;
                    expected += w * qs[(p * 13 + k) * d + j];
                }
                assertEquals(expected, got[p * 13 + k], 1e-12 * (1 + Math.abs(expected)), "prompt " + p + ", k " + k);
            }
        }
        // And its effective matrix is eta I.
        assertEquals(0.0, Tensors.maxAbsDiff(m.effectiveMatrix(), torch.eye(d, F64).mul(new Scalar(eta))), 0.0);
    }
}
