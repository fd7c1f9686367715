package dev.incontext.eval.baselines;

import dev.incontext.model.Predictor;
import dev.incontext.tasks.PromptBatch;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.IntStream;
import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.DMatrix;
import ml.dmlc.xgboost4j.java.XGBoost;
import ml.dmlc.xgboost4j.java.XGBoostError;
import org.bytedeco.pytorch.Tensor;

/**
 * Gradient-boosted trees (Garg et al.'s XGBoostModel, {@code xgb.XGBRegressor()} with the defaults of the XGBoost
 * they pinned, 1.6.1): XGBoost4J 3.4 with those defaults set explicitly wherever they differ from 3.4's, one booster
 * per (prompt, prefix), predicting at the query; 0 at k = 0. The parameters ({@link #PARAMS}): objective
 * reg:squarederror, 100 boosting rounds (XGBRegressor's n_estimators), eta 0.3, max_depth 6, lambda 1,
 * min_child_weight 1, and the two 1.6 defaults that 2.0 changed: tree_method exact (1.6's "auto" chose the exact
 * greedy algorithm for in-memory data on one machine below 4M rows; 2.0 made hist the default) and base_score 0.5
 * (2.0 estimates it from the labels instead). eta, max_depth, lambda and min_child_weight have the same defaults in
 * both versions and are set only so that a later release cannot move them; every other parameter (gamma 0, alpha 0,
 * subsample and colsample_* 1, max_delta_step 0) is left at its default, unchanged since 1.6. Each booster uses one
 * thread and the prompts are spread over the cores (a parallel stream); the seed is fixed, so results reproduce (with
 * these parameters XGBoost draws nothing anyway).
 *
 * <p>Host work through XGBoost's native library (bundled in the xgboost4j jar; linux x86-64 needs glibc and
 * libgomp): the batch is copied to the host once and converted to float32, as XGBoost does. Cost: B (n - 1) boosters
 * of 100 rounds on at most n - 1 rows, 1.5 to 9 ms each at k &lt;= 100, d &lt;= 20 on a 2-core machine (exact and hist
 * measured within noise of each other there); the query path costs the same.
 */
public record XGBoostBaseline(long seed) implements Predictor {
    /** XGBRegressor's n_estimators default. */
    public static final int ROUNDS = 100;

    /** XGBoost 1.6.1's XGBRegressor() parameters, as far as they decide the fit (see the class comment). */
    public static final Map<String, Object> PARAMS = Map.of("objective", "reg:squarederror", "tree_method", "exact",
            "base_score", 0.5, "eta", 0.3, "max_depth", 6, "lambda", 1.0, "min_child_weight", 1.0);

    @Override
    public Tensor predict(PromptBatch batch, Tensor queries) {
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
