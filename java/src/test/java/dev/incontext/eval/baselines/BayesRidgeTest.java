package dev.incontext.eval.baselines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.tasks.PromptBatch;
import dev.incontext.testing.NativeScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeScope.class)
class BayesRidgeTest {
    /**
     * papers.md §9.8: with prior s w ~ N(0, s^2 I) and noise sigma^2, the posterior mean (ridge, lambda = sigma^2/s^2)
     * has risk against the noiseless target sigma^2 E tr[(X^T X + lambda I)^-1] (the query is independent of the
     * prompt). Paired Monte Carlo on the same prompts: the mean of (error - sigma^2 tr[...]) is 0 within 6 standard
     * errors at every k; at k = 0 the prediction is 0 and the trace term is exactly d s^2. Ridge with 4 lambda on the
     * same prompts must fail the check at several k (it is not the posterior mean), so the test can tell.
     */
    @Test
    void riskMatchesThePosteriorTrace() {
        int d = 4;
        int n = 12;
        int b = 20000;
        double sigma = 1.0;
        double s = 1.5;
        BaselineContext ctx = Prompts.context("noisy_linear_regression", "task.n_dims=" + d, "task.noise_std=" + sigma,
                "task.renormalize_ys=false", "task.y_scale=" + s);
        PromptBatch batch = Prompts.sample(ctx.sampler(), b, n, 51);
        double lambda = sigma * sigma / (s * s);
        var ridge = BaselineSpec.parse("bayes_ridge").create(ctx);
        assertEquals("Bayes ridge (lambda=" + lambda + ")", ridge.name());
        double[] pred = Prompts.host(ridge.predict(batch));
        double[] wrong = Prompts.host(new LeastSquares(4 * lambda).predict(batch));
        Tensor x = batch.xs();
        double[] target = Prompts.host(torch.matmul(x, batch.params().get("w")).squeeze(2).mul(new Scalar(s)));
        Tensor gram = PrefixMoments.exclusiveCumsum(x.unsqueeze(3).mul(x.unsqueeze(2)))
                .add(torch.eye(d, Prompts.f64()).mul(new Scalar(lambda)));
        double[] trace = Prompts.host(torch.inverse(gram).diagonal(0, 2, 3).sum(new long[] {2}, false, null)
                .mul(new Scalar(sigma * sigma)));
        int wrongRejected = 0;
        for (int k = 0; k < n; k++) {
            double[] paired = pairedMeanAndSe(pred, target, trace, b, n, k);
            assertTrue(Math.abs(paired[0]) <= 6 * paired[1] + 1e-12,
                    "k=" + k + ": error - trace term = " + paired[0] + " (se " + paired[1] + ")");
            double[] wrongPaired = pairedMeanAndSe(wrong, target, trace, b, n, k);
            if (Math.abs(wrongPaired[0]) > 6 * wrongPaired[1]) {
                wrongRejected++;
            }
        }
        for (int i = 0; i < b; i++) {
            assertEquals(0.0, pred[i * n], 0.0);
            assertEquals(d * s * s, trace[i * n], 1e-12);
        }
        assertTrue(wrongRejected >= 3, "ridge with 4 lambda should fail the check at several k; failed at "
                + wrongRejected);
    }

    private static double[] pairedMeanAndSe(double[] pred, double[] target, double[] trace, int b, int n, int k) {
        double sum = 0;
        double sumSq = 0;
        for (int i = 0; i < b; i++) {
            double e = pred[i * n + k] - target[i * n + k];
            double diff = e * e - trace[i * n + k];
            sum += diff;
            sumSq += diff * diff;
        }
        double mean = sum / b;
        double var = (sumSq / b - mean * mean) * b / (b - 1);
        return new double[] {mean, Math.sqrt(var / b)};
    }
}
