package dev.incontext.eval;

import dev.incontext.tasks.TokenBatch;
import dev.incontext.util.Tensors;

/**
 * Reference lines for in-context modular arithmetic over Z_p (papers.md §9.11): the Bayes-optimal accuracy under a
 * uniform prior over all p^2 tasks with k i.i.d. uniform examples, and the exact linear solver (a 2 x 2 system over
 * Z_p by adjugate and modular inverse, as He et al.'s {@code solve_equations_on_Zp}).
 */
public final class ZpReference {
    private ZpReference() {}

    /**
     * Bayes-optimal accuracy after k examples: sum over the rank r of the examples (over Z_p) of P(r) times
     * [p^(r-2) + (1 - p^(r-2)) / p]; the query is determined iff it lies in the span of the examples, which has
     * probability p^(r-2), and otherwise every value of z is equally likely. P(r = 0) = p^(-2k),
     * P(r = 2) = (1 - p^(-k)) (1 - p^(1-k)), P(r = 1) = the rest.
     */
    public static double bayesAccuracy(int p, int k) {
        if (p < 2 || k < 0) {
            throw new IllegalArgumentException("need p >= 2 and k >= 0; got p = " + p + ", k = " + k);
        }
        double pr0 = Math.pow(p, -2.0 * k);
        double pr2 = k < 2 ? 0.0 : (1 - Math.pow(p, -k)) * (1 - Math.pow(p, 1.0 - k));
        double pr1 = 1 - pr0 - pr2;
        double[] pr = {pr0, pr1, pr2};
        double acc = 0;
        for (int r = 0; r <= 2; r++) {
            double inSpan = Math.pow(p, r - 2.0);
            acc += pr[r] * (inSpan + (1 - inSpan) / p);
        }
        return acc;
    }

    /** The multiplicative inverse of v modulo the prime p (v not divisible by p). */
    public static int inverse(int v, int p) {
        int r = Math.floorMod(v, p);
        if (r == 0) {
            throw new ArithmeticException(v + " has no inverse modulo " + p);
        }
        int result = 1;
        int base = r;
        for (int e = p - 2; e > 0; e >>= 1) {     // Fermat: v^(p-2) = v^-1 mod p
            if ((e & 1) == 1) {
                result = (int) ((long) result * base % p);
            }
            base = (int) ((long) base * base % p);
        }
        return result;
    }

    /**
     * Solves a x1 + b y1 = z1, a x2 + b y2 = z2 over Z_p. Returns {a, b}, or null when the determinant
     * x1 y2 - x2 y1 is 0 mod p (the two examples do not identify the task).
     */
    public static int[] solve(int p, int x1, int y1, int z1, int x2, int y2, int z2) {
        int det = Math.floorMod(x1 * y2 - x2 * y1, p);
        if (det == 0) {
            return null;
        }
        int inv = inverse(det, p);
        int a = Math.floorMod((long) inv * Math.floorMod(z1 * y2 - z2 * y1, p), p);
        int b = Math.floorMod((long) inv * Math.floorMod(x1 * z2 - x2 * z1, p), p);
        return new int[] {a, b};
    }

    /**
     * The exact solver's accuracy at the query (qx, qy) given the first k examples {@code xs[i], ys[i], zs[i]}, under
     * a uniform prior over tasks: 1 when the examples determine z at the query (two independent examples, or a query
     * in the span of one), and 1/p otherwise (the expected accuracy of a guess among the p equally likely values).
     * This is the Bayes-optimal accuracy for that particular prompt. The examples must be consistent with one task.
     */
    public static double solverAccuracy(int p, int[] xs, int[] ys, int k, int qx, int qy) {
        int rank = 0;
        int bx = 0;
        int by = 0;
        for (int i = 0; i < k; i++) {
            int x = Math.floorMod(xs[i], p);
            int y = Math.floorMod(ys[i], p);
            if (x == 0 && y == 0) {
                continue;
            }
            if (rank == 0) {
                rank = 1;
                bx = x;
                by = y;
            } else if (Math.floorMod(bx * y - by * x, p) != 0) {
                return 1.0;   // two independent examples: solve() recovers the task exactly
            }
        }
        qx = Math.floorMod(qx, p);
        qy = Math.floorMod(qy, p);
        boolean inSpan = (qx == 0 && qy == 0) || (rank == 1 && Math.floorMod(bx * qy - by * qx, p) == 0);
        return inSpan ? 1.0 : 1.0 / p;
    }

    /**
     * The exact solver's accuracy at every shot, averaged over the rows of a batch (its pairs (B, n, 2) read to the
     * host): entry i uses the row's first i examples to predict z at example i. The per-prompt counterpart of
     * {@link #bayesAccuracy}, on the very rows a model is evaluated on (with He et al.'s split and distinct pairs).
     */
    public static double[] solverCurve(int p, TokenBatch batch) {
        int rows = (int) batch.rows();
        int n = (int) batch.examples();
        double[] pairs = Tensors.toDoubleArray(batch.pairs());
        double[] out = new double[n];
        int[] xs = new int[n];
        int[] ys = new int[n];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < n; i++) {
                xs[i] = (int) pairs[(r * n + i) * 2];
                ys[i] = (int) pairs[(r * n + i) * 2 + 1];
            }
            for (int i = 0; i < n; i++) {
                out[i] += solverAccuracy(p, xs, ys, i, xs[i], ys[i]) / rows;
            }
        }
        return out;
    }
}
