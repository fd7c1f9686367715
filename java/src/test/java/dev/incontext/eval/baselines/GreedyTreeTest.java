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
class GreedyTreeTest {
    private static double[][] rows(double[] flat, int p, int n, int d) {
        double[][] x = new double[n][];
        for (int i = 0; i < n; i++) {
            x[i] = Arrays.copyOfRange(flat, (p * n + i) * d, (p * n + i + 1) * d);
        }
        return x;
    }

    /**
     * On prompts labelled by depth-2 trees, the unlimited tree fits every prefix's training points exactly (leaves
     * are pure unless points coincide, which continuous inputs exclude), and a depth-limited tree respects its depth.
     */
    @Test
    void unlimitedTreeInterpolatesTreeLabels() {
        int d = 5;
        int n = 30;
        var s = Prompts.sampler("decision_tree", "task.n_dims=" + d, "task.depth=2");
        PromptBatch batch = Prompts.sample(s, 4, n, 61);
        double[] xs = Prompts.host(batch.xs());
        double[] y = Prompts.host(batch.ys());
        for (int p = 0; p < 4; p++) {
            double[][] x = rows(xs, p, n, d);
            double[] yp = Arrays.copyOfRange(y, p * n, (p + 1) * n);
            for (int k = 1; k < n; k++) {
                GreedyTree.Node tree = GreedyTree.fit(x, yp, k, GreedyTree.UNLIMITED);
                for (int i = 0; i < k; i++) {
                    assertEquals(yp[i], tree.predict(x[i], 0), 1e-12, "prompt " + p + " k " + k + " point " + i);
                }
                assertTrue(GreedyTree.fit(x, yp, k, 2).depth() <= 2);
            }
        }
    }

    /** A depth-1 tree is the best single split, checked by exhaustive search over features and midpoints. */
    @Test
    void stumpIsTheExhaustiveBestSplit() {
        int d = 4;
        int n = 25;
        var s = Prompts.sampler("relu_2nn_regression", "task.n_dims=" + d);
        PromptBatch batch = Prompts.sample(s, 3, n, 62);
        double[] xs = Prompts.host(batch.xs());
        double[] y = Prompts.host(batch.ys());
        for (int p = 0; p < 3; p++) {
            double[][] x = rows(xs, p, n, d);
            double[] yp = Arrays.copyOfRange(y, p * n, (p + 1) * n);
            GreedyTree.Node stump = GreedyTree.fit(x, yp, n, 1);
            double best = Double.POSITIVE_INFINITY;
            for (int f = 0; f < d; f++) {
                for (int i = 0; i < n; i++) {
                    double t = x[i][f];    // split "<= t" at every point value: the same partitions as midpoints
                    best = Math.min(best, splitSse(x, yp, f, t));
                }
            }
            assertEquals(best, splitSse(x, yp, stump.feature, stump.threshold), 1e-9, "prompt " + p);
        }
    }

    private static double splitSse(double[][] x, double[] y, int f, double t) {
        double[] sum = new double[2];
        double[] sq = new double[2];
        int[] cnt = new int[2];
        for (int i = 0; i < y.length; i++) {
            int side = x[i][f] <= t ? 0 : 1;
            sum[side] += y[i];
            sq[side] += y[i] * y[i];
            cnt[side]++;
        }
        double sse = 0;
        for (int side = 0; side < 2; side++) {
            if (cnt[side] > 0) {
                sse += sq[side] - sum[side] * sum[side] / cnt[side];
            }
        }
        return sse;
    }

    /**
     * Learns depth-4 sign trees: at k = 80..99 the depth-4 greedy tree's squared error, as a fraction of the zero
     * predictor's on the same prompts, is below 1 by more than 6 jackknife standard errors. Reproducible bit for bit,
     * and the query path predicts with the same fitted trees.
     */
    @Test
    void learnsDecisionTreesReproduciblyAndAtQueries() {
        int d = 5;
        int n = 100;
        int b = 32;
        var s = Prompts.sampler("decision_tree", "task.n_dims=" + d, "task.depth=4");
        PromptBatch batch = Prompts.sample(s, b, n, 63);
        GreedyTree tree = new GreedyTree(4);
        double[] pred = Prompts.host(tree.predict(batch));
        assertArrayEquals(pred, Prompts.host(tree.predict(batch)));
        double[] y = Prompts.host(batch.ys());
        double[] err = new double[b];     // per prompt, k = 80..n-1: squared errors, and the zero predictor's
        double[] zero = new double[b];
        for (int p = 0; p < b; p++) {
            for (int k = 80; k < n; k++) {
                double e = pred[p * n + k] - y[p * n + k];
                err[p] += e * e;
                zero[p] += y[p * n + k] * y[p * n + k];
            }
        }
        double[] ratio = Ratio.jackknife(err, zero);
        assertTrue(ratio[0] + 6 * ratio[1] < 1, "tree error / zero error " + ratio[0] + " (se " + ratio[1] + ")");

        Tensor queries = Prompts.sample(s, b, n, 64).xs();
        double[] atQ = Prompts.host(tree.predict(batch, queries));
        double[] xs = Prompts.host(batch.xs());
        double[] q = Prompts.host(queries);
        for (int p = 0; p < 2; p++) {
            double[] yp = Arrays.copyOfRange(y, p * n, (p + 1) * n);
            for (int k = 1; k < n; k += 7) {
                GreedyTree.Node t = GreedyTree.fit(rows(xs, p, n, d), yp, k, 4);
                assertEquals(t.predict(q, (p * n + k) * d), atQ[p * n + k], 0.0, "prompt " + p + " k " + k);
            }
            assertEquals(0.0, atQ[p * n], 0.0);
        }
        assertEquals("Greedy tree (depth 4)", tree.name());
        assertEquals("Greedy tree", new GreedyTree(GreedyTree.UNLIMITED).name());
    }
}
