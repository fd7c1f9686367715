package dev.incontext.eval.baselines;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.testing.NativeScope;
import dev.incontext.util.Json;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import ml.dmlc.xgboost4j.java.Booster;
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

    /**
     * The prefix_boosted_trees op grows XGBoost's trees: on decision-tree prompts (d = 3 and the default d = 20), on
     * Gaussian linear-regression prompts, at separate queries, and on inputs rounded to one decimal (many tied values,
     * where the threshold and tie rules decide), its predictions equal XGBoost4J's at every prefix to 1e-5 of the
     * label scale. Measured on the development machine: identical at all 875 entries; the tolerance leaves room for
     * float32 rounding on other CPUs, far below what a different split (a change of order 0.01 or more) would give.
     */
    @Test
    void boostedTreesOpEqualsXGBoost() {
        var tree3 = Prompts.sampler("decision_tree", "task.n_dims=3", "task.depth=4");
        var tree20 = Prompts.sampler("decision_tree", "task.n_dims=20");
        var linear = Prompts.sampler("linear_regression", "task.n_dims=5");
        XGBoostBaseline xgb = new XGBoostBaseline(0);
        PromptBatch rounded = Prompts.sample(linear, 4, 30, 95);
        Tensor r = rounded.xs().mul(new org.bytedeco.pytorch.Scalar(10.0)).round()
                .div(new org.bytedeco.pytorch.Scalar(10.0));
        PromptBatch ties = new PromptBatch(r, rounded.ys().round(), java.util.Map.of(), rounded.activeDims());
        PromptBatch[] batches = {Prompts.sample(tree3, 6, 40, 91), Prompts.sample(tree20, 3, 45, 92),
            Prompts.sample(linear, 4, 35, 93), ties};
        String[] names = {"decision tree d = 3", "decision tree d = 20", "linear d = 5", "rounded inputs and labels"};
        for (int i = 0; i < batches.length; i++) {
            compare(names[i], xgb.predict(batches[i]), xgb.reference().predict(batches[i]));
        }
        Tensor queries = Prompts.sample(tree3, 6, 40, 94).xs();
        compare("at queries", xgb.predict(batches[0], queries), xgb.reference().predict(batches[0], queries));
    }

    private static void compare(String what, Tensor fast, Tensor reference) {
        double[] f = Prompts.host(fast);
        double[] r = Prompts.host(reference);
        double scale = 0;
        double worst = 0;
        int differ = 0;
        for (int i = 0; i < r.length; i++) {
            scale = Math.max(scale, Math.abs(r[i]));
            worst = Math.max(worst, Math.abs(f[i] - r[i]));
            differ += f[i] != r[i] ? 1 : 0;
        }
        assertTrue(worst <= 1e-5 * Math.max(scale, 1), what + ": max |op - xgboost| " + worst + " at scale " + scale
                + " (" + differ + " of " + r.length + " entries differ)");
    }

    /** The booster's own model, as XGBoost writes it (JSON), read back. */
    private static JsonNode learner(Booster b) throws Exception {
        return Json.parse(new String(b.toByteArray("json"), StandardCharsets.UTF_8)).get("learner");
    }

    /** The model's base_score: a number written as a string, in brackets where XGBoost keeps one per target. */
    private static double baseScore(JsonNode learner) {
        return Double.parseDouble(learner.get("learner_model_param").get("base_score").asText()
                .replace("[", "").replace("]", ""));
    }

    /**
     * Garg et al.'s XGBoost 1.6.1 defaults reach the booster, read back from the model it writes rather than from the
     * parameters given: (a) base_score 0.5 where 3.4 would estimate it from labels averaging about 3; (b) every split
     * threshold is the float midpoint (a + b) / 2 of two training values of its feature, which is where the exact
     * greedy algorithm puts splits (hist puts them on quantile cut points, on so few rows the training values
     * themselves); (c) on constant labels c the first tree is a single leaf of weight eta k (c − base_score) / (k +
     * lambda) = 0.3 x 40 x 2 / 41 (one Newton step from 0.5, shrunk by eta 0.3, with lambda 1), to float precision.
     */
    @Test
    void referenceParametersReachTheBooster() throws Exception {
        int k = 40;
        int d = 3;
        SplittableRandom r = new SplittableRandom(5);
        float[] x = new float[k * d];
        float[] y = new float[k];
        for (int i = 0; i < k; i++) {
            for (int c = 0; c < d; c++) {
                x[i * d + c] = (float) r.nextGaussian();
            }
            y[i] = 3 + x[i * d] + (x[i * d + 1] > 0 ? 1 : 0);
        }
        Booster b = XGBoostBaseline.fit(x, y, k, d, 0);
        try {
            JsonNode learner = learner(b);
            assertEquals(0.5, baseScore(learner), 1e-7, "base_score");
            int splits = 0;
            for (JsonNode tree : learner.get("gradient_booster").get("model").get("trees")) {
                for (int node = 0; node < tree.get("left_children").size(); node++) {
                    if (tree.get("left_children").get(node).asInt() == -1) {
                        continue;
                    }
                    int f = tree.get("split_indices").get(node).asInt();
                    float split = (float) tree.get("split_conditions").get(node).asDouble();
                    boolean midpoint = false;
                    for (int i = 0; i < k && !midpoint; i++) {
                        for (int j = 0; j < k && !midpoint; j++) {
                            midpoint = x[i * d + f] < x[j * d + f] && split == (x[i * d + f] + x[j * d + f]) * 0.5f;
                        }
                    }
                    assertTrue(midpoint, "split at " + split + " on feature " + f
                            + " is no midpoint of training values");
                    splits++;
                }
            }
            assertTrue(splits > 100, "only " + splits + " splits in " + XGBoostBaseline.ROUNDS + " trees");
        } finally {
            b.dispose();
        }
        float[] constant = new float[k];
        Arrays.fill(constant, 2.5f);
        Booster one = XGBoostBaseline.fit(x, constant, k, d, 0);
        try {
            JsonNode first = learner(one).get("gradient_booster").get("model").get("trees").get(0);
            assertEquals(1, first.get("left_children").size(), "constant labels: the first tree is one leaf");
            assertEquals(0.3 * k * (2.5 - 0.5) / (k + 1), first.get("split_conditions").get(0).asDouble(), 1e-6);
        } finally {
            one.dispose();
        }
    }
}
