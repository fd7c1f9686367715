package dev.incontext.eval.baselines;

import dev.incontext.model.Predictor;
import dev.incontext.ops.Ops;
import dev.incontext.tasks.PromptBatch;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.IntStream;
import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.DMatrix;
import ml.dmlc.xgboost4j.java.XGBoost;
import ml.dmlc.xgboost4j.java.XGBoostError;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Gradient-boosted trees (Garg et al.'s XGBoostModel, {@code xgb.XGBRegressor()} with the defaults of the XGBoost
 * they pinned, 1.6.1): one booster per (prompt, prefix), predicting at the query; 0 at k = 0. The parameters
 * ({@link #PARAMS}): objective reg:squarederror, 100 boosting rounds (XGBRegressor's n_estimators), eta 0.3, max_depth
 * 6, lambda 1, min_child_weight 1, and the two 1.6 defaults that 2.0 changed: tree_method exact (1.6's "auto" chose
 * the exact greedy algorithm for in-memory data on one machine below 4M rows; 2.0 made hist the default) and
 * base_score 0.5 (2.0 estimates it from the labels instead). eta, max_depth, lambda and min_child_weight have the same
 * defaults in both versions and are set only so that a later release cannot move them; every other parameter (gamma
 * 0, alpha 0, subsample and colsample_* 1, max_delta_step 0) is left at its default, unchanged since 1.6.
 *
 * <p>Two implementations of those boosters. {@link #predict} runs the project's {@code prefix_boosted_trees} op: the
 * exact greedy algorithm of XGBoost's own ColMaker, with XGBoost's float32/float64 arithmetic, on every prefix of
 * every prompt at once (the CPU cores share the (prompt, prefix) pairs; a CUDA batch is copied to the host and
 * back). Its split search skips in float64 the candidates that cannot beat the best so far and scores the others as
 * XGBoost does, so it grows XGBoost's trees. {@link #reference()} is XGBoost4J 3.4 itself with these parameters
 * (one DMatrix and one single-threaded booster per prefix, prompts spread over the cores): the definition the op is
 * tested against (XGBoostBaselineTest) and timed against ({@code bench-eval --reference}). XGBoost's native library
 * spends its time in its generic split evaluator (two weights and two gains per candidate), 1.5 to 9 ms per booster
 * at k &lt;= 100, d &lt;= 20 on a 2-core machine.
 */
public record XGBoostBaseline(long seed) implements Accelerated {
    /** XGBRegressor's n_estimators default. */
    public static final int ROUNDS = 100;
    static final int MAX_DEPTH = 6;
    static final double ETA = 0.3;
    static final double LAMBDA = 1.0;
    static final double MIN_CHILD_WEIGHT = 1.0;
    static final double BASE_SCORE = 0.5;

    /** XGBoost 1.6.1's XGBRegressor() parameters, as far as they decide the fit (see the class comment). */
    public static final Map<String, Object> PARAMS = Map.of("objective", "reg:squarederror", "tree_method", "exact",
            "base_score", BASE_SCORE, "eta", ETA, "max_depth", MAX_DEPTH, "lambda", LAMBDA, "min_child_weight",
            MIN_CHILD_WEIGHT);

    @Override
    public Tensor predict(PromptBatch batch, Tensor queries) {
        Tensor q = queries == null ? null
                : PrefixMoments.queries(batch, queries).to(torch.ScalarType.Float).cpu();
        Tensor pred = Ops.prefixBoostedTrees(batch.xs().cpu().to(torch.ScalarType.Float),
                batch.ys().cpu().to(torch.ScalarType.Float), q, ROUNDS, MAX_DEPTH, ETA, LAMBDA,
                MIN_CHILD_WEIGHT, BASE_SCORE);
        return PrefixMoments.finish(pred.to(batch.ys().device(), pred.scalar_type()), batch, "xgboost");
    }

    /** XGBoost4J itself: one booster of {@link #PARAMS} per prefix. */
    @Override
    public Predictor reference() {
        return Predictor.of("XGBoost, XGBoost4J", (batch, queries) -> predictWithXGBoost(batch, queries, seed));
    }

    static Tensor predictWithXGBoost(PromptBatch batch, Tensor queries, long seed) {
        HostBatch h = HostBatch.of(batch, queries);
        int b = h.b();
        int n = h.n();
        int d = h.d();
        double[] xs = h.xs();
        double[] ys = h.ys();
        double[] qs = h.qs();
        checkNativeLibrary();
        double[] out = new double[b * n];
        IntStream.range(0, b).parallel().forEach(p -> {
            for (int k = 1; k < n; k++) {
                float[] x = new float[k * d];
                float[] y = new float[k];
                for (int i = 0; i < k * d; i++) {
                    x[i] = (float) xs[p * n * d + i];
                }
                for (int i = 0; i < k; i++) {
                    y[i] = (float) ys[p * n + i];
                }
                float[] q = new float[d];
                for (int c = 0; c < d; c++) {
                    q[c] = (float) qs[(p * n + k) * d + c];
                }
                out[p * n + k] = fitAndPredict(x, y, k, d, q, seed);
            }
        });
        return h.result(out, batch, "xgboost: a booster produced a non-finite prediction (check the prompt for NaN "
                + "or infinite values)");
    }

    /** One booster on k rows (row-major x, k by d) with labels y, evaluated at one query. */
    static double fitAndPredict(float[] x, float[] y, int k, int d, float[] query, long seed) {
        Booster booster = null;
        try {
            booster = fit(x, y, k, d, seed);
            return booster.inplace_predict(query, 1, d, Float.NaN)[0][0];
        } catch (XGBoostError e) {
            throw new IllegalStateException("xgboost: prediction failed on a prefix of " + k + " points: "
                    + e.getMessage(), e);
        } finally {
            if (booster != null) {
                booster.dispose();
            }
        }
    }

    /** The booster of {@link #PARAMS} on k rows (row-major x, k by d) with labels y; the caller disposes it. */
    static Booster fit(float[] x, float[] y, int k, int d, long seed) {
        DMatrix train = null;
        try {
            train = new DMatrix(x, k, d, Float.NaN);
            train.setLabel(y);
            Map<String, Object> params = new HashMap<>(PARAMS);
            params.put("nthread", 1);
            params.put("seed", seed);
            params.put("verbosity", 0);
            return XGBoost.train(train, params, ROUNDS, new HashMap<>(), null, null);
        } catch (XGBoostError e) {
            throw new IllegalStateException("xgboost: training failed on a prefix of " + k + " points: "
                    + e.getMessage(), e);
        } finally {
            if (train != null) {
                train.dispose();
            }
        }
    }

    /** Loads XGBoost's native library once, turning a failure into one readable message. */
    static void checkNativeLibrary() {
        try {
            new DMatrix(new float[] {0f}, 1, 1, Float.NaN).dispose();
        } catch (UnsatisfiedLinkError | ExceptionInInitializerError | NoClassDefFoundError | XGBoostError e) {
            throw new IllegalStateException("xgboost: the XGBoost4J native library could not be loaded on this "
                    + "machine (" + e + "); it needs linux/macos/windows x86-64 or arm64 with glibc and libgomp", e);
        }
    }

    @Override
    public String name() {
        return "XGBoost";
    }
}
