package dev.incontext.eval.baselines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.model.Predictor;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.testing.NativeScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeScope.class)
class DiscreteMmseTest {
    /**
     * The exact posterior mean under a uniform prior on the pool, computed independently in a plain Java double loop
     * (log-likelihoods shifted by their max): sum_i p_i s q.w_i with p_i proportional to
     * exp(-sum_{j<k} (y_j - s x_j.w_i)^2 / (2 sigma^2)). Noise 0.5 and 0.02 (sharp posteriors), y_scale 1.5, a pool of
     * 7, at the prompt's x's and at separate queries, and chunked over the pool one member at a time.
     */
    @Test
    void equalsTheExactPosteriorMean() {
        int d = 3;
        int n = 10;
        int b = 5;
        for (double sigma : new double[] {0.5, 0.02}) {
            BaselineContext ctx = Prompts.context("noisy_linear_regression", "task.n_dims=" + d,
                    "task.noise_std=" + sigma, "task.renormalize_ys=false", "task.num_tasks=7", "task.y_scale=1.5");
            PromptBatch batch = Prompts.sample(ctx.sampler(), b, n, 41);
            Tensor queries = Prompts.sample(ctx.sampler(), b, n, 42).xs();
            Predictor dmmse = BaselineSpec.parse("dmmse").create(ctx);
            Tensor poolTensor = ctx.sampler().taskPool().orElseThrow().get("w");
            double[] pool = Prompts.host(poolTensor);
            Predictor chunked = new DiscreteMmse(poolTensor, sigma, 1.5, (long) b * n);
            double[] x = Prompts.host(batch.xs());
            double[] y = Prompts.host(batch.ys());
            double[] qs = Prompts.host(queries);
            double[] own = Prompts.host(dmmse.predict(batch));
            double[] atQ = Prompts.host(dmmse.predict(batch, queries));
            double[] chunkedAtQ = Prompts.host(chunked.predict(batch, queries));
            int m = 7;
            for (int p = 0; p < b; p++) {
                for (int k = 0; k < n; k++) {
                    double[] logp = new double[m];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < k; j++) {
                            double r = y[p * n + j];
                            for (int a = 0; a < d; a++) {
                                r -= 1.5 * x[(p * n + j) * d + a] * pool[i * d + a];
                            }
                            logp[i] -= r * r / (2 * sigma * sigma);
                        }
                        max = Math.max(max, logp[i]);
                    }
                    double z = 0;
                    double e1 = 0;
                    double e2 = 0;
                    for (int i = 0; i < m; i++) {
                        double wgt = Math.exp(logp[i] - max);
                        double f1 = 0;
                        double f2 = 0;
                        for (int a = 0; a < d; a++) {
                            f1 += 1.5 * x[(p * n + k) * d + a] * pool[i * d + a];
                            f2 += 1.5 * qs[(p * n + k) * d + a] * pool[i * d + a];
                        }
                        z += wgt;
                        e1 += wgt * f1;
                        e2 += wgt * f2;
                    }
                    String where = "sigma " + sigma + " prompt " + p + " k " + k;
                    assertEquals(e1 / z, own[p * n + k], 1e-9, where);
                    assertEquals(e2 / z, atQ[p * n + k], 1e-9, where + " (query)");
                    assertEquals(atQ[p * n + k], chunkedAtQ[p * n + k], 1e-12, where + " (chunked)");
                }
            }
        }
    }

    /** sigma = 0: a hard assignment; noiseless prompts from the pool are then predicted exactly for k >= 1. */
    @Test
    void noiselessPoolIsIdentifiedExactly() {
        BaselineContext ctx = Prompts.context("linear_regression", "task.n_dims=4", "task.num_tasks=16");
        PromptBatch batch = Prompts.sample(ctx.sampler(), 6, 8, 43);
        double[] pred = Prompts.host(BaselineSpec.parse("dmmse").create(ctx).predict(batch));
        double[] y = Prompts.host(batch.ys());
        double[] x = Prompts.host(batch.xs());
        double[] pool = Prompts.host(ctx.sampler().taskPool().orElseThrow().get("w"));
        for (int p = 0; p < 6; p++) {
            for (int k = 1; k < 8; k++) {
                assertEquals(y[p * 8 + k], pred[p * 8 + k], 1e-9, "prompt " + p + " k " + k);
            }
            double mean = 0;    // k = 0: the pool mean
            for (int i = 0; i < 16; i++) {
                for (int a = 0; a < 4; a++) {
                    mean += x[(p * 8) * 4 + a] * pool[i * 4 + a] / 16;
                }
            }
            assertEquals(mean, pred[p * 8], 1e-12, "prompt " + p + " k 0");
        }
    }

    /** A dMMSE created inside a PointerScope that has closed still predicts (it holds no tensor of that scope). */
    @Test
    void outlivesTheScopeItWasCreatedIn() {
        BaselineContext ctx = Prompts.context("noisy_linear_regression", "task.n_dims=3", "task.num_tasks=5",
                "task.renormalize_ys=false");
        Predictor dmmse;
        try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
            dmmse = BaselineSpec.parse("dmmse").create(ctx);
        }
        PromptBatch batch = Prompts.sample(ctx.sampler(), 2, 6, 44);
        assertTrue(dev.incontext.util.Tensors.allFinite(dmmse.predict(batch)));
    }

    @Test
    void refusesTasksWithoutAPoolNamingWhy() {
        var noPool = Prompts.context("linear_regression", "task.n_dims=4");
        var e = assertThrows(IllegalArgumentException.class, () -> BaselineSpec.parse("dmmse").create(noPool));
        assertTrue(e.getMessage().contains("num_tasks") && e.getMessage().contains("usage"), e.getMessage());
        var classification = Prompts.context("linear_classification", "task.n_dims=4", "task.num_tasks=4");
        e = assertThrows(IllegalArgumentException.class, () -> BaselineSpec.parse("dmmse").create(classification));
        assertTrue(e.getMessage().contains("linear regression"), e.getMessage());
        var renormalised = Prompts.context("noisy_linear_regression", "task.n_dims=4", "task.num_tasks=4",
                "task.renormalize_ys=true");
        e = assertThrows(IllegalArgumentException.class, () -> BaselineSpec.parse("dmmse").create(renormalised));
        assertTrue(e.getMessage().contains("renormalize_ys"), e.getMessage());
    }
}
