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
 * Gradient-boosted trees (Garg et al.'s XGBoostModel, {@code xgb.XGBRegressor()} with its defaults): XGBoost4J with
 * the library's default parameters (objective reg:squarederror, 100 boosting rounds as XGBRegressor's n_estimators,
 * max_depth 6, eta 0.3, the default tree method and base score), one booster per (prompt, prefix), predicting at
 * the query; 0 at k = 0. Each booster uses one thread and the prompts are spread over the cores (a parallel stream);
 * the seed is fixed, so results reproduce (with default sampling parameters XGBoost draws nothing anyway).
 *
 * <p>Host work through XGBoost's native library (bundled in the xgboost4j jar; linux x86-64 needs glibc and
 * libgomp): the batch is copied to the host once and converted to float32, as XGBoost does. Cost: B (n - 1) boosters
 * of 100 rounds on at most n - 1 rows, roughly milliseconds each; the query path costs the same.
 */
public record XGBoostBaseline(long seed) implements Predictor {
    /** XGBRegressor's n_estimators default. */
    public static final int ROUNDS = 100;

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
        DMatrix train = null;
        Booster booster = null;
        try {
            train = new DMatrix(x, k, d, Float.NaN);
            train.setLabel(y);
            Map<String, Object> params = new HashMap<>();
            params.put("objective", "reg:squarederror");
            params.put("nthread", 1);
            params.put("seed", seed);
            params.put("verbosity", 0);
            booster = XGBoost.train(train, params, ROUNDS, new HashMap<>(), null, null);
            return booster.inplace_predict(query, 1, d, Float.NaN)[0][0];
        } catch (XGBoostError e) {
            throw new IllegalStateException("xgboost: training or prediction failed on a prefix of " + k
                    + " points: " + e.getMessage(), e);
        } finally {
            if (booster != null) {
                booster.dispose();
            }
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
