package dev.incontext.eval.baselines;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.tasks.PromptBatch;
import dev.incontext.testing.NativeScope;
import java.util.Arrays;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeScope.class)
class XGBoostBaselineTest {
    /**
     * On depth-4 sign-tree prompts over d = 3 coordinates, XGBoost's squared error at k = 30..49, as a fraction of the
     * zero predictor's on the same prompts, is below 1 by more than 6 jackknife standard errors (about 0.3 is typical);
     * the same seed reproduces the predictions bit for bit; the query path equals one booster fitted by hand; constant
     * labels are predicted as that constant.
     */
    @Test
    void learnsTreesReproduciblyAndAtQueries() {
        int d = 3;
        int n = 50;
        int b = 16;
        var s = Prompts.sampler("decision_tree", "task.n_dims=" + d, "task.depth=4");
        PromptBatch batch = Prompts.sample(s, b, n, 71);
        XGBoostBaseline xgb = new XGBoostBaseline(0);
        Tensor queries = Prompts.sample(s, b, n, 72).xs();
        double[] pred = Prompts.host(xgb.predict(batch));
        PromptBatch small = Prompts.sample(s, 2, 20, 73);
        assertArrayEquals(Prompts.host(xgb.predict(small)), Prompts.host(xgb.predict(small)));
        double[] y = Prompts.host(batch.ys());
        double[] err = new double[b];     // per prompt, k = 30..n-1: squared errors, and the zero predictor's
        double[] zero = new double[b];
        for (int p = 0; p < b; p++) {
            for (int k = 30; k < n; k++) {
                double e = pred[p * n + k] - y[p * n + k];
                err[p] += e * e;
                zero[p] += y[p * n + k] * y[p * n + k];
            }
        }
        double[] ratio = Ratio.jackknife(err, zero);
        assertTrue(ratio[0] + 6 * ratio[1] < 1, "xgboost error / zero error " + ratio[0] + " (se " + ratio[1] + ")");

        // The query path, against a booster fitted by hand on the same prefix.
        double[] xs = Prompts.host(batch.xs());
        double[] q = Prompts.host(queries);
        int p = 3;
        int k = 17;
        float[] x = new float[k * d];
        float[] yk = new float[k];
        float[] query = new float[d];
        for (int i = 0; i < k * d; i++) {
            x[i] = (float) xs[p * n * d + i];
        }
        for (int i = 0; i < k; i++) {
            yk[i] = (float) y[p * n + i];
        }
        for (int c = 0; c < d; c++) {
            query[c] = (float) q[(p * n + k) * d + c];
        }
        Tensor atQ = xgb.predict(batch, queries);
        assertEquals(XGBoostBaseline.fitAndPredict(x, yk, k, d, query, 0), Prompts.host(atQ)[p * n + k], 0.0);
        assertEquals(0.0, Prompts.host(atQ)[0], 0.0);

        float[] constant = new float[k];
        Arrays.fill(constant, 0.75f);
        assertEquals(0.75, XGBoostBaseline.fitAndPredict(x, constant, k, d, query, 0), 1e-6);
    }
}
