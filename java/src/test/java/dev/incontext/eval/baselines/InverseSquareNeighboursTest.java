package dev.incontext.eval.baselines;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.incontext.tasks.PromptBatch;
import dev.incontext.testing.NativeScope;
import java.util.Arrays;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeScope.class)
class InverseSquareNeighboursTest {
    /**
     * Against a brute-force loop: the min(3, i) nearest earlier points weighted by 1/distance^2, at the prompt's own
     * x's and at separate queries; prompt 0 repeats points (x_5 = x_2, x_7 = x_2) so that distance 0 gets all the
     * weight, shared equally.
     */
    @Test
    void matchesABruteForceLoop() {
        int b = 4;
        int n = 9;
        int d = 5;
        var s = Prompts.sampler("linear_regression", "task.n_dims=" + d);
        PromptBatch raw = Prompts.sample(s, b, n, 31);
        Tensor xs = raw.xs().clone();
        xs.select(0, 0).select(0, 5).copy_(xs.select(0, 0).select(0, 2));
        xs.select(0, 0).select(0, 7).copy_(xs.select(0, 0).select(0, 2));
        PromptBatch batch = new PromptBatch(xs, raw.ys(), Map.of(), d);
        Tensor queries = Prompts.sample(s, b, n, 32).xs().clone();
        queries.select(0, 1).select(0, 4).copy_(xs.select(0, 1).select(0, 1));
        double[] x = Prompts.host(xs);
        double[] y = Prompts.host(batch.ys());
        for (boolean useQueries : new boolean[] {false, true}) {
            double[] q = useQueries ? Prompts.host(queries) : x;
            double[] pred = Prompts.host(new InverseSquareNeighbours(3).predict(batch, useQueries ? queries : null));
            for (int p = 0; p < b; p++) {
                for (int i = 0; i < n; i++) {
                    double[] dist = new double[i];
                    Integer[] order = new Integer[i];
                    for (int j = 0; j < i; j++) {
                        double s2 = 0;
                        for (int c = 0; c < d; c++) {
                            double diff = q[(p * n + i) * d + c] - x[(p * n + j) * d + c];
                            s2 += diff * diff;
                        }
                        dist[j] = s2;
                        order[j] = j;
                    }
                    Arrays.sort(order, (u, v) -> Double.compare(dist[u], dist[v]));
                    int kk = Math.min(3, i);
                    boolean exact = kk > 0 && dist[order[0]] == 0;
                    double num = 0;
                    double den = 0;
                    for (int r = 0; r < kk; r++) {
                        double w = exact ? (dist[order[r]] == 0 ? 1 : 0) : 1 / dist[order[r]];
                        num += w * y[p * n + order[r]];
                        den += w;
                    }
                    double expect = i == 0 ? 0 : num / den;
                    assertEquals(expect, pred[p * n + i], 1e-10, "prompt " + p + " position " + i + " queries "
                            + useQueries);
                }
            }
        }
        // The repeated point: position 5 of prompt 0 sees x_2 at distance 0, so it predicts y_2 exactly.
        double[] pred = Prompts.host(new InverseSquareNeighbours(3).predict(batch));
        assertEquals(y[2], pred[5], 0.0);
        assertEquals(0.0, torch.isnan(new InverseSquareNeighbours(1).predict(batch)).sum().item_double(), 0.0);
    }
}
