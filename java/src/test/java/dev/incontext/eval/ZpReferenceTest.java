package dev.incontext.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The Z_p reference lines against brute-force enumeration over every task, example sequence and query. */
class ZpReferenceTest {
    /**
     * Bayes accuracy by enumeration: for every example sequence E and query q, group the p^2 tasks by the labels
     * they give E; the Bayes predictor picks the most frequent z at q within the group, so it is right for
     * max_z #{w in group : w.q = z} of the tasks. Average over everything.
     */
    static double bruteBayes(int p, int k) {
        int n = p * p;
        long correct = 0;
        long total = 0;
        int sequences = (int) Math.pow(n, k);
        for (int e = 0; e < sequences; e++) {
            int[] ex = new int[k];
            for (int i = 0, v = e; i < k; i++, v /= n) {
                ex[i] = v % n;
            }
            for (int q = 0; q < n; q++) {
                Map<List<Integer>, int[]> groups = new HashMap<>();
                for (int w = 0; w < n; w++) {
                    int a = w / p;
                    int b = w % p;
                    List<Integer> labels = new ArrayList<>();
                    for (int i = 0; i < k; i++) {
                        labels.add((a * (ex[i] / p) + b * (ex[i] % p)) % p);
                    }
                    groups.computeIfAbsent(labels, l -> new int[p])[(a * (q / p) + b * (q % p)) % p]++;
                }
                for (int[] counts : groups.values()) {
                    int max = 0;
                    for (int c : counts) {
                        max = Math.max(max, c);
                    }
                    correct += max;
                }
                total += n;
            }
        }
        return (double) correct / total;
    }

    @Test
    void bayesFormulaMatchesBruteForce() {
        for (int k = 0; k <= 3; k++) {
            assertEquals(bruteBayes(3, k), ZpReference.bayesAccuracy(3, k), 1e-12, "p = 3, k = " + k);
        }
        for (int k = 0; k <= 2; k++) {
            assertEquals(bruteBayes(5, k), ZpReference.bayesAccuracy(5, k), 1e-12, "p = 5, k = " + k);
        }
    }

    @Test
    void bayesValuesForP29MatchPapersSection911() {
        // k = 0: chance 1/p, plus the query (0, 0), whose z is 0 for every task.
        assertEquals(1.0 / (29 * 29) + (1 - 1.0 / (29 * 29)) / 29, ZpReference.bayesAccuracy(29, 0), 1e-15);
        assertEquals(0.0677, ZpReference.bayesAccuracy(29, 1), 5e-5);
        assertEquals(0.9668, ZpReference.bayesAccuracy(29, 2), 5e-5);
        assertEquals(0.9989, ZpReference.bayesAccuracy(29, 3), 5e-5);
    }

    @Test
    void solverMatchesBruteForce() {
        int p = 7;
        Random r = new Random(1);
        int solvable = 0;
        for (int trial = 0; trial < 2000; trial++) {
            int a = r.nextInt(p);
            int b = r.nextInt(p);
            int x1 = r.nextInt(p);
            int y1 = r.nextInt(p);
            int x2 = r.nextInt(p);
            int y2 = r.nextInt(p);
            int z1 = (a * x1 + b * y1) % p;
            int z2 = (a * x2 + b * y2) % p;
            List<int[]> consistent = new ArrayList<>();
            for (int aa = 0; aa < p; aa++) {
                for (int bb = 0; bb < p; bb++) {
                    if ((aa * x1 + bb * y1) % p == z1 && (aa * x2 + bb * y2) % p == z2) {
                        consistent.add(new int[] {aa, bb});
                    }
                }
            }
            int[] solved = ZpReference.solve(p, x1, y1, z1, x2, y2, z2);
            if (consistent.size() == 1) {
                solvable++;
                assertArrayEquals(consistent.get(0), solved);
            } else {
                assertNull(solved, "more than one task fits, the solver must refuse");
            }
        }
        assertEquals(true, solvable > 1500, "most random systems over Z_7 are solvable: " + solvable);
    }

    @Test
    void solverAccuracyIsThePromptsBayesAccuracy() {
        int p = 5;
        Random r = new Random(2);
        for (int trial = 0; trial < 3000; trial++) {
            int k = r.nextInt(4);
            int a = r.nextInt(p);
            int b = r.nextInt(p);
            int[] xs = new int[k];
            int[] ys = new int[k];
            for (int i = 0; i < k; i++) {
                // Small coordinates often, so that rank-deficient prompts are common.
                xs[i] = r.nextInt(3) == 0 ? 0 : r.nextInt(p);
                ys[i] = r.nextInt(3) == 0 ? 0 : (r.nextBoolean() ? xs[i] : r.nextInt(p));
            }
            int qx = r.nextInt(p);
            int qy = r.nextBoolean() && k > 0 ? (ys[0] * 2) % p : r.nextInt(p);
            if (k > 0 && r.nextBoolean()) {
                qx = (xs[0] * 3) % p;
                qy = (ys[0] * 3) % p;
            }
            int[] counts = new int[p];
            int consistent = 0;
            for (int aa = 0; aa < p; aa++) {
                for (int bb = 0; bb < p; bb++) {
                    boolean ok = true;
                    for (int i = 0; i < k; i++) {
                        ok &= (aa * xs[i] + bb * ys[i]) % p == (a * xs[i] + b * ys[i]) % p;
                    }
                    if (ok) {
                        consistent++;
                        counts[(aa * qx + bb * qy) % p]++;
                    }
                }
            }
            int max = 0;
            for (int c : counts) {
                max = Math.max(max, c);
            }
            assertEquals((double) max / consistent, ZpReference.solverAccuracy(p, xs, ys, k, qx, qy), 1e-12,
                    "trial " + trial);
        }
    }

    @Test
    void inverseIsAnInverse() {
        for (int v = 1; v < 29; v++) {
            assertEquals(1, v * ZpReference.inverse(v, 29) % 29);
        }
    }
}
