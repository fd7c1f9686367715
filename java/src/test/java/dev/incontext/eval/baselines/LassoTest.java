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
class LassoTest {
    private static final int B = 6;
    private static final int N = 24;
    private static final int D = 8;

    /**
     * The optimality conditions of (1/(2k)) ||y - Xw||^2 + alpha ||w||_1, recomputed in plain Java from the prompt:
     * g = X^T (y - X w) / k has |g_j| <= alpha + tol everywhere and g_j = alpha sign(w_j) (to tol) where w_j != 0,
     * tol = the solver's stated tolerance 1e-6 max(||X^T y / k||_inf, alpha) plus 1e-12 for the recomputation's own
     * rounding. Every alpha of the papers, k from 0 (w = 0) to past d, on sparse prompts (exact zeros expected).
     */
    @Test
    void kktConditionsHoldForEveryPrefix() {
        var s = Prompts.sampler("sparse_linear_regression", "task.n_dims=" + D, "task.sparsity=3");
        PromptBatch batch = Prompts.sample(s, B, N, 11);
        int zeros = 0;
        for (double alpha : new double[] {1, 0.1, 0.01, 0.001, 0.0001}) {
            zeros += checkKkt(batch, alpha);
        }
        assertTrue(zeros > B * N * D, "the lasso should set many coordinates exactly to zero; got " + zeros);
    }

    /** The fallback solver alone (FISTA with polishing, from w = 0) also meets the KKT conditions. */
    @Test
    void fallbackSolverAloneMeetsTheKktConditions() {
        var s = Prompts.sampler("sparse_linear_regression", "task.n_dims=" + D, "task.sparsity=3");
        PromptBatch batch = Prompts.sample(s, B, N, 17);
        Lasso lasso = new Lasso(0.1);
        Tensor w = lasso.weights(batch.xs(), batch.ys(), false);
        checkKkt(batch, 0.1, w);
        assertEquals(0.0, dev.incontext.util.Tensors.maxAbsDiff(w, lasso.weights(batch.xs(), batch.ys())),
                1e-6, "the path and the fallback should find the same (unique) solution");
    }

    /**
     * Degenerate prompts, where the path's active systems turn singular: coordinate 1 duplicates coordinate 0 and
     * point 5 repeats point 3. The solution is then not unique, but the KKT conditions still hold to the tolerance.
     */
    @Test
    void kktConditionsHoldOnDegeneratePrompts() {
        var s = Prompts.sampler("linear_regression", "task.n_dims=" + D);
        PromptBatch raw = Prompts.sample(s, B, N, 16);
        Tensor xs = raw.xs().clone();
        xs.select(2, 1).copy_(xs.select(2, 0));
        xs.select(1, 5).copy_(xs.select(1, 3));
        PromptBatch batch = new PromptBatch(xs, raw.ys(), java.util.Map.of(), D);
        for (double alpha : new double[] {0.1, 0.001}) {
            checkKkt(batch, alpha);
        }
    }

    /** Asserts the KKT conditions for every prompt and prefix; returns the number of exactly zero weights. */
    private static int checkKkt(PromptBatch batch, double alpha) {
        return checkKkt(batch, alpha, new Lasso(alpha).weights(batch.xs(), batch.ys()));
    }

    private static int checkKkt(PromptBatch batch, double alpha, Tensor weights) {
        double[] x = Prompts.host(batch.xs());
        double[] y = Prompts.host(batch.ys());
        double[] w = Prompts.host(weights);
        int zeros = 0;
        for (int b = 0; b < B; b++) {
            for (int k = 0; k < N; k++) {
                double[] c = new double[D];
                double[] g = new double[D];
                for (int j = 0; j < k; j++) {
                    double r = y[b * N + j];
                    for (int a = 0; a < D; a++) {
                        r -= x[(b * N + j) * D + a] * w[(b * N + k) * D + a];
                    }
                    for (int a = 0; a < D; a++) {
                        c[a] += x[(b * N + j) * D + a] * y[b * N + j] / k;
                        g[a] += x[(b * N + j) * D + a] * r / k;
                    }
                }
                double scale = alpha;
                for (double v : c) {
                    scale = Math.max(scale, Math.abs(v));
                }
                double tol = Lasso.TOLERANCE * scale + 1e-12;
                for (int a = 0; a < D; a++) {
                    double wj = w[(b * N + k) * D + a];
                    String where = "alpha " + alpha + " prompt " + b + " k " + k + " coordinate " + a;
                    assertTrue(Math.abs(g[a]) <= alpha + tol, where + ": |g| = " + Math.abs(g[a]));
                    if (wj != 0) {
                        assertEquals(alpha * Math.signum(wj), g[a], tol, where + ": w = " + wj);
                    } else {
                        zeros++;
                    }
                    if (k == 0) {
                        assertEquals(0.0, wj, 0.0, where);
                    }
                }
            }
        }
        return zeros;
    }

    /**
     * As alpha -> 0 the lasso tends to least squares when k > d (X^T X invertible). With alpha = 1e-9 the weights
     * differ by about alpha ||(X^T X / k)^-1||, far below the 1e-5 allowed for k >= 2d here.
     */
    @Test
    void tinyAlphaAgreesWithLeastSquaresPastD() {
        var s = Prompts.sampler("linear_regression", "task.n_dims=" + D);
        PromptBatch batch = Prompts.sample(s, B, N, 12);
        double[] lasso = Prompts.host(new Lasso(1e-9).predict(batch));
        double[] ls = Prompts.host(new LeastSquares(0).predict(batch));
        for (int b = 0; b < B; b++) {
            for (int k = 2 * D; k < N; k++) {
                assertEquals(ls[b * N + k], lasso[b * N + k], 1e-5, "prompt " + b + " k " + k);
            }
        }
    }

    /** Separate queries: the prediction is the query's dot product with the same fitted weights. */
    @Test
    void queryPathUsesTheSameFit() {
        var s = Prompts.sampler("sparse_linear_regression", "task.n_dims=" + D, "task.sparsity=3");
        PromptBatch batch = Prompts.sample(s, B, N, 13);
        Tensor queries = Prompts.sample(s, B, N, 14).xs();
        Lasso lasso = new Lasso(0.01);
        double[] w = Prompts.host(lasso.weights(batch.xs(), batch.ys()));
        double[] q = Prompts.host(queries);
        double[] pred = Prompts.host(lasso.predict(batch, queries));
        for (int i = 0; i < B * N; i++) {
            double dot = 0;
            for (int a = 0; a < D; a++) {
                dot += q[i * D + a] * w[i * D + a];
            }
            assertEquals(dot, pred[i], 1e-12, "entry " + i);
        }
        assertEquals(0.0, pred[0], 0.0);
    }

    /** Never silently unconverged: too few iterations is an error naming alpha, the count and the violation. */
    @Test
    void unconvergedFitsAreAnError() {
        var s = Prompts.sampler("linear_regression", "task.n_dims=" + D);
        PromptBatch batch = Prompts.sample(s, B, N, 15);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new Lasso(0.0001, 3).predict(batch));
        assertTrue(e.getMessage().contains("alpha=1.0E-4") && e.getMessage().contains("did not converge")
                && e.getMessage().contains("KKT"), e.getMessage());
    }
}
