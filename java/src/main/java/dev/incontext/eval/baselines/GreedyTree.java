package dev.incontext.eval.baselines;

import dev.incontext.model.Predictor;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.util.Tensors;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.bytedeco.pytorch.Tensor;

/**
 * Greedy regression trees (Garg et al.'s DecisionTreeModel; sklearn DecisionTreeRegressor semantics), one fitted on
 * every prefix of every prompt: CART with squared-error (variance-reduction) splits, the best split over all features
 * and all thresholds at midpoints between consecutive distinct values, at least 1 sample per leaf, a node split
 * while it has at least 2 samples, its variance exceeds machine epsilon and the depth limit allows; a leaf predicts
 * its mean. Ties are broken deterministically: the lowest feature index, then the lowest threshold. Values closer
 * than {@value #FEATURE_THRESHOLD} are not separated (as sklearn). Prediction at k = 0 is 0.
 *
 * <p>Host work in Java: the batch is copied to the host once ({@link Tensors#toDoubleArray}), prompts are fitted in
 * parallel (a parallel stream), and the result returns to the batch's device and dtype. Each prompt's points are
 * sorted once per feature; a node's split scans those orders and partitions them, so a tree on k points costs about
 * d k per level (d k depth in all) and a prompt sum_k d k depth; the query path costs the same.
 *
 * @param maxDepth the depth limit, or {@link #UNLIMITED}
 */
public record GreedyTree(int maxDepth) implements Predictor {
    public static final int UNLIMITED = Integer.MAX_VALUE;
    static final double FEATURE_THRESHOLD = 1e-7;
    private static final double EPSILON = Math.ulp(1.0);

    public GreedyTree {
        if (maxDepth < 1) {
            throw new IllegalArgumentException("tree: DEPTH must be >= 1; got " + maxDepth);
        }
    }

    @Override
    public Tensor predict(PromptBatch batch, Tensor queries) {
        HostBatch h = HostBatch.of(batch, queries);
        int b = h.b();
        int n = h.n();
        int d = h.d();
        double[] xs = h.xs();
        double[] ys = h.ys();
        double[] qs = h.qs();
        double[] out = new double[b * n];
        IntStream.range(0, b).parallel().forEach(p -> {
            double[][] x = new double[n][];
            double[] y = Arrays.copyOfRange(ys, p * n, (p + 1) * n);
            for (int i = 0; i < n; i++) {
                x[i] = Arrays.copyOfRange(xs, (p * n + i) * d, (p * n + i + 1) * d);
            }
            int[][] order = presort(x, n);
            for (int k = 1; k < n; k++) {
                Node tree = grow(x, y, prefix(order, k), 0, maxDepth);
                out[p * n + k] = tree.predict(qs, (p * n + k) * d);
            }
        });
        return h.result(out, batch, name() + ": produced a non-finite prediction (check the prompt for NaN or "
                + "infinite values)");
    }

    @Override
    public String name() {
        return maxDepth == UNLIMITED ? "Greedy tree" : "Greedy tree (depth " + maxDepth + ")";
    }

    /** A fitted tree: a leaf when {@code feature < 0}. */
    static final class Node {
        int feature = -1;
        double threshold;
        double value;
        Node left;
        Node right;

        double predict(double[] x, int offset) {
            Node node = this;
            while (node.feature >= 0) {
                node = x[offset + node.feature] <= node.threshold ? node.left : node.right;
            }
            return node.value;
        }

        int depth() {
            return feature < 0 ? 0 : 1 + Math.max(left.depth(), right.depth());
        }
    }

    /** Fits a tree to the first {@code k} rows of x (each of length d) and y. */
    static Node fit(double[][] x, double[] y, int k, int maxDepth) {
        return grow(x, y, presort(x, k), 0, maxDepth);
    }

    /** For each feature f, the indices 0..k-1 sorted by x[i][f], ties by index. */
    static int[][] presort(double[][] x, int k) {
        int d = x[0].length;
        int[][] order = new int[d][];
        for (int f = 0; f < d; f++) {
            final int ff = f;
            order[f] = IntStream.range(0, k).boxed().sorted((u, v) -> {
                int c = Double.compare(x[u][ff], x[v][ff]);
                return c != 0 ? c : Integer.compare(u, v);
            }).mapToInt(Integer::intValue).toArray();
        }
        return order;
    }

    /** The sorted orders restricted to the first k points (order kept). */
    private static int[][] prefix(int[][] order, int k) {
        int[][] out = new int[order.length][k];
        for (int f = 0; f < order.length; f++) {
            int c = 0;
            for (int i : order[f]) {
                if (i < k) {
                    out[f][c++] = i;
                }
            }
        }
        return out;
    }

    /**
     * Grows a node over the points in {@code sorted} (for each feature, the node's point indices sorted by that
     * feature): each split partitions the sorted lists stably, so nothing is sorted twice.
     */
    private static Node grow(double[][] x, double[] y, int[][] sorted, int depth, int maxDepth) {
        Node node = new Node();
        int[] idx = sorted[0];
        int m = idx.length;
        double sum = 0;
        for (int i : idx) {
            sum += y[i];
        }
        node.value = sum / m;
        double sse = 0;
        for (int i : idx) {
            double r = y[i] - node.value;
            sse += r * r;
        }
        if (m < 2 || depth >= maxDepth || sse / m <= EPSILON) {
            return node;
        }
        int d = sorted.length;
        double bestProxy = Double.NEGATIVE_INFINITY;
        int bestFeature = -1;
        double bestThreshold = 0;
        for (int f = 0; f < d; f++) {
            int[] order = sorted[f];
            if (x[order[m - 1]][f] <= x[order[0]][f] + FEATURE_THRESHOLD) {
                continue;   // constant feature
            }
            double left = 0;
            for (int i = 0; i < m - 1; i++) {
                left += y[order[i]];
                double a = x[order[i]][f];
                double c = x[order[i + 1]][f];
                if (c <= a + FEATURE_THRESHOLD) {
                    continue;
                }
                int nl = i + 1;
                int nr = m - nl;
                double right = sum - left;
                // Maximising sum_l^2 / n_l + sum_r^2 / n_r minimises the children's summed squared error.
                double proxy = left * left / nl + right * right / nr;
                if (proxy > bestProxy) {
                    bestProxy = proxy;
                    bestFeature = f;
                    double mid = a / 2 + c / 2;
                    bestThreshold = mid >= c || Double.isInfinite(mid) ? a : mid;
                }
            }
        }
        if (bestFeature < 0) {
            return node;
        }
        int nl = 0;
        for (int i : idx) {
            if (x[i][bestFeature] <= bestThreshold) {
                nl++;
            }
        }
        int[][] ls = new int[d][nl];
        int[][] rs = new int[d][m - nl];
        for (int f = 0; f < d; f++) {
            int a = 0;
            int c = 0;
            for (int i : sorted[f]) {
                if (x[i][bestFeature] <= bestThreshold) {
                    ls[f][a++] = i;
                } else {
                    rs[f][c++] = i;
                }
            }
        }
        node.feature = bestFeature;
        node.threshold = bestThreshold;
        node.left = grow(x, y, ls, depth + 1, maxDepth);
        node.right = grow(x, y, rs, depth + 1, maxDepth);
        return node;
    }
}
