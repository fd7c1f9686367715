package dev.incontext.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.testing.NativeScope;
import dev.incontext.eval.baselines.Averaging;
import dev.incontext.eval.baselines.LeastSquares;
import dev.incontext.eval.baselines.NearestNeighbours;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.ops.Rng;
import dev.incontext.tasks.TaskSampler;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeScope.class)
class EvaluatorTest {
    private static final TensorOptions F64 = new TensorOptions(torch.ScalarType.Double);
    /**
     * Closed forms (papers.md §9), x, w ~ N(0, I_d), noiseless, normalised by d: least squares (d - k)/d for k &lt; d
     * and 0 for k &gt;= d; averaging (d + 1)/k. Checked within 6 bootstrap standard errors.
     */
    @Test
    void baselinesMatchTheirClosedForms() {
        int d = 5;
        TaskSampler s = TaskSampler.forRun(ConfigLoader.load(RunConfig.class, "demo", List.of()), F64);
        Evaluation e = Evaluator.evaluate(List.of(new LeastSquares(0), new Averaging()), s, 12000, 2000, 12, 77);
        Evaluation.Curve ls = e.curve("Least squares");
        Evaluation.Curve avg = e.curve("Averaging");
        for (int k = 1; k < 12; k++) {
            double lsTruth = k < d ? (d - k) / (double) d : 0.0;
            double seLs = (ls.high()[k] - ls.low()[k]) / 3.29;
            assertTrue(Math.abs(ls.mean()[k] - lsTruth) <= 6 * seLs + 1e-9,
                    "least squares at k=" + k + ": " + ls.mean()[k] + " vs " + lsTruth + " (se " + seLs + ")");
            double avgTruth = (d + 1) / (double) k;
            double seAvg = (avg.high()[k] - avg.low()[k]) / 3.29;
            assertTrue(Math.abs(avg.mean()[k] - avgTruth) <= 6 * seAvg,
                    "averaging at k=" + k + ": " + avg.mean()[k] + " vs " + avgTruth + " (se " + seAvg + ")");
        }
        assertEquals(0.0, ls.mean()[d + 1], 1e-12);
    }

    /** k-NN against a plain Java loop over earlier points. */
    @Test
    void nearestNeighboursMatchABruteForceLoop() {
        TaskSampler s = TaskSampler.forRun(ConfigLoader.load(RunConfig.class, "demo", List.of()), F64);
        PromptBatch b = s.sample(4, 9, 5, Rng.cpu(5));
        for (boolean weighted : new boolean[] {false, true}) {
            Tensor pred = new NearestNeighbours(3, weighted).predict(b);
            double[] xs = new double[4 * 9 * 5];
            double[] ys = new double[4 * 9];
            double[] p = new double[4 * 9];
            b.xs().contiguous().data_ptr_double().get(xs);
            b.ys().contiguous().data_ptr_double().get(ys);
            pred.contiguous().data_ptr_double().get(p);
            for (int q = 0; q < 4; q++) {
                for (int i = 0; i < 9; i++) {
                    double[] dist = new double[i];
                    Integer[] order = new Integer[i];
                    for (int j = 0; j < i; j++) {
                        double s2 = 0;
                        for (int c = 0; c < 5; c++) {
                            double diff = xs[(q * 9 + i) * 5 + c] - xs[(q * 9 + j) * 5 + c];
                            s2 += diff * diff;
                        }
                        dist[j] = Math.sqrt(s2);
                        order[j] = j;
                    }
                    java.util.Arrays.sort(order, (u, v) -> Double.compare(dist[u], dist[v]));
                    double num = 0;
                    double den = 0;
                    for (int r = 0; r < Math.min(3, i); r++) {
                        double w = weighted ? 1.0 / dist[order[r]] : 1.0;
                        num += w * ys[q * 9 + order[r]];
                        den += w;
                    }
                    double expect = i == 0 ? 0.0 : num / den;
                    assertEquals(expect, p[q * 9 + i], 1e-9, "prompt " + q + " position " + i + " weighted " + weighted);
                }
            }
        }
    }
}
