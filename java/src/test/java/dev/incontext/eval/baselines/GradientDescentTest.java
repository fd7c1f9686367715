package dev.incontext.eval.baselines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.tasks.PromptBatch;
import dev.incontext.testing.NativeScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeScope.class)
class GradientDescentTest {
    /**
     * papers.md §9.7: one step from 0 with eta* = k/(k + d + 1), x, w ~ N(0, I), noiseless, has normalised risk
     * (d + 1)/(k + d + 1). Monte Carlo over 30000 independent prompts at each k, within 6 standard errors of the
     * mean. The same check on averaging (eta = 1, risk (d + 1)/k) must fail at the larger k, so the test can tell.
     */
    @Test
    void oneOptimalStepHasTheClosedFormRisk() {
        int d = 5;
        int n = 16;
        int b = 30000;
        var s = Prompts.sampler("linear_regression", "task.n_dims=" + d);
        PromptBatch batch = Prompts.sample(s, b, n, 21);
        double[] y = Prompts.host(batch.ys());
        double[] opt = Prompts.host(GradientDescent.optimal(1).predict(batch));
        double[] avg = Prompts.host(new GradientDescent(1, 1.0, 1.0).predict(batch));
        int averagingRejected = 0;
        for (int k = 1; k < n; k++) {
            double truth = (d + 1.0) / (k + d + 1.0);
            double[] m = meanAndSe(opt, y, b, n, k, d);
            assertTrue(Math.abs(m[0] - truth) <= 6 * m[1],
                    "k=" + k + ": risk " + m[0] + " vs " + truth + " (se " + m[1] + ")");
            double[] a = meanAndSe(avg, y, b, n, k, d);
            assertTrue(Math.abs(a[0] - (d + 1.0) / k) <= 6 * a[1], "averaging at k=" + k + ": " + a[0]);
            if (Math.abs(a[0] - truth) > 6 * a[1]) {
                averagingRejected++;
            }
        }
        assertTrue(averagingRejected >= 10, "the check should reject eta = 1 at most k; rejected " + averagingRejected);
    }

    private static double[] meanAndSe(double[] pred, double[] y, int b, int n, int k, int d) {
        double sum = 0;
        double sumSq = 0;
        for (int i = 0; i < b; i++) {
            double e = (pred[i * n + k] - y[i * n + k]) * (pred[i * n + k] - y[i * n + k]) / d;
            sum += e;
            sumSq += e * e;
        }
        double mean = sum / b;
        double var = (sumSq / b - mean * mean) * b / (b - 1);
        return new double[] {mean, Math.sqrt(var / b)};
    }

    /** K steps on tensors equal a plain Java loop of full-batch gradient steps, at separate queries too. */
    @Test
    void stepsEqualAPlainLoop() {
        int d = 4;
        int n = 10;
        int b = 3;
        var s = Prompts.sampler("linear_regression", "task.n_dims=" + d);
        PromptBatch batch = Prompts.sample(s, b, n, 22);
        Tensor queries = Prompts.sample(s, b, n, 23).xs();
        double[] x = Prompts.host(batch.xs());
        double[] y = Prompts.host(batch.ys());
        double[] q = Prompts.host(queries);
        for (GradientDescent gd : new GradientDescent[] {new GradientDescent(3, Double.NaN, 1.0),
                new GradientDescent(5, 0.05, 1.0), new GradientDescent(2, Double.NaN, 2.5)}) {
            double[] own = Prompts.host(gd.predict(batch));
            double[] atQ = Prompts.host(gd.predict(batch, queries));
            for (int p = 0; p < b; p++) {
                for (int k = 0; k < n; k++) {
                    double eta = Double.isNaN(gd.eta()) ? k / (gd.inputVariance() * (k + d + 1.0)) : gd.eta();
                    double[] w = new double[d];
                    for (int step = 0; step < gd.steps(); step++) {
                        double[] grad = new double[d];
                        for (int i = 0; i < k; i++) {
                            double r = -y[p * n + i];
                            for (int a = 0; a < d; a++) {
                                r += x[(p * n + i) * d + a] * w[a];
                            }
                            for (int a = 0; a < d; a++) {
                                grad[a] += x[(p * n + i) * d + a] * r / k;
                            }
                        }
                        for (int a = 0; a < d; a++) {
                            w[a] -= eta * grad[a];
                        }
                    }
                    double e1 = 0;
                    double e2 = 0;
                    for (int a = 0; a < d; a++) {
                        e1 += x[(p * n + k) * d + a] * w[a];
                        e2 += q[(p * n + k) * d + a] * w[a];
                    }
                    String where = gd.name() + " prompt " + p + " k " + k;
                    assertEquals(e1, own[p * n + k], 1e-10 * (1 + Math.abs(e1)), where);
                    assertEquals(e2, atQ[p * n + k], 1e-10 * (1 + Math.abs(e2)), where + " (query)");
                }
            }
        }
    }

    @Test
    void divergenceIsAnErrorNotNaN() {
        var s = Prompts.sampler("linear_regression", "task.n_dims=4");
        PromptBatch batch = Prompts.sample(s, 2, 10, 24);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new GradientDescent(2000, 50.0, 1.0).predict(batch));
        assertTrue(e.getMessage().contains("diverged"), e.getMessage());
    }
}
