package dev.incontext.ops;

import static dev.incontext.util.Tensors.randn;
import static dev.incontext.util.Tensors.relErr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Java-facing all-prefix baselines: per-prompt lambda, separate queries, weight vectors, averaging and k-NN,
 * checked against references (float64, 1e-10 relative), plus the closed-form truths of papers.md section 9
 * (items 2 and 4) within Monte Carlo error: each mean is compared with its expectation at 6 standard errors
 * estimated from the same sample, so a correct implementation fails with probability below 1e-8 per point.
 */
@ExtendWith(SeedOnFailure.class)
class PrefixBaselinesTest {
    private PointerScope scope;

    @BeforeEach
    void open() {
        scope = new PointerScope();
        torch.manual_seed(TestSeeds.fresh(getClass()));
    }

    @AfterEach
    void close() {
        scope.close();
    }

    private static Tensor lambdas(double... values) {
        Tensor t = torch.zeros(new long[] {values.length}, dev.incontext.util.Tensors.options(ScalarType.Double));
        for (int i = 0; i < values.length; i++) {
            t.select(0, i).fill_(new Scalar(values[i]));
        }
        return t;
    }

    @Test
    void perPromptLambdaAndQueriesMatchTheReference() {
        Tensor x = randn(ScalarType.Double, 6, 25, 8);
        Tensor y = randn(ScalarType.Double, 6, 25);
        Tensor q = randn(ScalarType.Double, 6, 25, 8);
        Tensor lam = lambdas(0.0, 0.5, 0.0, 2.0, 0.0, 0.1);
        double err = relErr(Ops.prefixLstsq(x, y, lam, q), Ops.prefixLstsqReference(x, y, lam, q));
        assertTrue(err <= 1e-10, "relative error " + err);
        // A scalar lambda with queries, and queries = null meaning x.
        double err2 = relErr(Ops.prefixLstsq(x, y, 0.0, q), Ops.prefixLstsqReference(x, y, lambdas(0, 0, 0, 0, 0, 0), q));
        assertTrue(err2 <= 1e-10, "relative error " + err2);
        assertEquals(0.0, relErr(Ops.prefixLstsq(x, y, 0.3, null), Ops.prefixLstsq(x, y, 0.3)));
    }

    @Test
    void weightsReproduceThePredictions() {
        Tensor x = randn(ScalarType.Double, 5, 30, 10);
        Tensor y = randn(ScalarType.Double, 5, 30);
        Tensor q = randn(ScalarType.Double, 5, 30, 10);
        Ops.PrefixFit fit = Ops.prefixLstsqWithWeights(x, y, 0.0, q);
        assertEquals(3, fit.weights().dim());
        assertEquals(10, fit.weights().size(2));
        double err = relErr(fit.weights().mul(q).sum(new long[] {-1}), fit.predictions());
        assertTrue(err <= 1e-12, "q . w vs predictions, relative error " + err);
        assertEquals(0.0, fit.weights().select(1, 0).abs().max().item_double(), "no points: zero weights");
        // k >= d: the least-squares weights of a noiseless linear task are the task vector itself.
        Tensor w = randn(ScalarType.Double, 5, 10, 1);
        Tensor yLin = torch.matmul(x, w).squeeze(-1);
        Tensor wFit = Ops.prefixLstsqWithWeights(x, yLin, 0.0, null).weights().select(1, 20);
        double werr = relErr(wFit, w.squeeze(-1));
        assertTrue(werr <= 1e-10, "recovered task vector, relative error " + werr);
        assertFalse(fit.weights().requires_grad());
    }

    @Test
    void averagingAndKnnMatchSmallLoops() {
        Tensor x = randn(ScalarType.Double, 3, 8, 4);
        Tensor y = randn(ScalarType.Double, 3, 8);
        Tensor avg = Ops.prefixAveraging(x, y, null);
        Tensor knn = Ops.prefixKnn(x, y, 1, false, null);
        for (int b = 0; b < 3; b++) {
            for (int k = 1; k < 8; k++) {
                double[] w = new double[4];
                double best = Double.POSITIVE_INFINITY;
                double nearestY = 0;
                for (int i = 0; i < k; i++) {
                    double dist = 0;
                    for (int j = 0; j < 4; j++) {
                        double xij = x.get(b).get(i).get(j).item_double();
                        w[j] += y.get(b).get(i).item_double() * xij / k;
                        double diff = xij - x.get(b).get(k).get(j).item_double();
                        dist += diff * diff;
                    }
                    if (dist < best) {
                        best = dist;
                        nearestY = y.get(b).get(i).item_double();
                    }
                }
                double expect = 0;
                for (int j = 0; j < 4; j++) {
                    expect += w[j] * x.get(b).get(k).get(j).item_double();
                }
                assertEquals(expect, avg.get(b).get(k).item_double(), 1e-12 * (1 + Math.abs(expect)), "averaging");
                assertEquals(nearestY, knn.get(b).get(k).item_double(), 1e-14, "1-NN");
            }
            assertEquals(0.0, avg.get(b).get(0).item_double());
            assertEquals(0.0, knn.get(b).get(0).item_double());
        }
    }

    /**
     * x, w ~ N(0, I_d), noiseless: the normalised squared error of least squares at k points is (d - k)/d for
     * k &lt; d and 0 for k &gt;= d (papers.md 9.2); averaging gives (d + 1)/k (9.4). d = 20, n = 41, B = 8000.
     */
    @Test
    void closedFormErrorCurves() {
        int b = 8000;
        int n = 41;
        int d = 20;
        Tensor x = randn(ScalarType.Double, b, n, d);
        Tensor w = randn(ScalarType.Double, b, d, 1);
        Tensor y = torch.matmul(x, w).squeeze(-1);
        Tensor lsErr = Ops.prefixLstsq(x, y, 0.0).sub(y).square().div(new Scalar(d));  // (B, n)
        Tensor avgErr = Ops.prefixAveraging(x, y, null).sub(y).square().div(new Scalar(d));
        Tensor lsMean = lsErr.mean(new long[] {0});
        Tensor lsSe = lsErr.std(new long[] {0}, true).div(new Scalar(Math.sqrt(b)));
        Tensor avgMean = avgErr.mean(new long[] {0});
        Tensor avgSe = avgErr.std(new long[] {0}, true).div(new Scalar(Math.sqrt(b)));
        StringBuilder report = new StringBuilder();
        for (int k = 0; k < n; k++) {
            double m = lsMean.get(k).item_double();
            double se = lsSe.get(k).item_double();
            double expect = k < d ? (double) (d - k) / d : 0.0;
            report.append(String.format("k=%d ls %.4f (expect %.4f, se %.4f)", k, m, expect, se));
            if (k >= d) {
                assertTrue(lsErr.select(1, k).max().item_double() <= 1e-16, "k >= d must interpolate exactly: " + report);
            } else {
                assertTrue(Math.abs(m - expect) <= 6 * se, "least squares at k=" + k + ": " + report);
            }
            if (k >= 1) {
                double am = avgMean.get(k).item_double();
                double ase = avgSe.get(k).item_double();
                double aexp = (d + 1.0) / k;
                report.append(String.format(", avg %.4f (expect %.4f, se %.4f)%n", am, aexp, ase));
                assertTrue(Math.abs(am - aexp) <= 6 * ase, "averaging at k=" + k + ": " + report);
            } else {
                report.append('\n');
            }
        }
        System.out.print(report);
    }

    @Test
    void badInputsNameTheArgument() {
        Tensor x = randn(ScalarType.Double, 2, 5, 3);
        Tensor y = randn(ScalarType.Double, 2, 5);
        Tensor q = x.clone();
        q.get(1).get(2).get(0).fill_(new Scalar(Double.NaN));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ops.prefixLstsq(x, y, 0.0, q));
        assertTrue(e.getMessage().startsWith("incontext.prefix_lstsq: argument 'queries' contains NaN"), e.getMessage());
        IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class,
                () -> Ops.prefixLstsq(x, y, lambdas(0.0, -2.0), null));
        assertTrue(e2.getMessage().contains("'lambda' must be finite and >= 0"), e2.getMessage());
        IllegalArgumentException e3 = assertThrows(IllegalArgumentException.class, () -> Ops.prefixKnn(x, y, 0, true, null));
        assertTrue(e3.getMessage().startsWith("incontext.prefix_knn: argument 'k'"), e3.getMessage());
    }
}
