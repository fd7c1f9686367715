package dev.incontext.eval;

import dev.incontext.config.RunConfig.EvalConfig;
import dev.incontext.config.RunConfig.TaskConfig;
import dev.incontext.eval.baselines.Accelerated;
import dev.incontext.eval.baselines.BaselineContext;
import dev.incontext.eval.baselines.BaselineSpec;
import dev.incontext.eval.baselines.Baselines;
import dev.incontext.model.Predictor;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.ops.Rng;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.util.Tensors;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;

/**
 * Evaluation throughput of a task's full baseline set: for each baseline the time to predict every position of a
 * batch of prompts (the result copied to the host, as the evaluator does), best of {@code repeats} after one warm-up,
 * as prompts x positions per second and as a share of the set's total.
 */
public final class EvalThroughput {
    private EvalThroughput() {}

    /**
     * One baseline's time. For an {@link Accelerated} baseline measured with its reference: the reference's time
     * ({@code referenceSeconds}) and how far apart their predictions are, max |fast - reference| / max |reference|
     * over the batch ({@code maxRelDiff}); both NaN otherwise.
     */
    public record Row(String baseline, String spec, double seconds, double positionsPerSecond, double share,
            double referenceSeconds, double maxRelDiff) {}

    /** {@link #measure(TaskConfig, EvalConfig, int, int, int, TensorOptions, boolean)} without references. */
    public static List<Row> measure(TaskConfig task, EvalConfig eval, int prompts, int points, int repeats,
            TensorOptions options) {
        return measure(task, eval, prompts, points, repeats, options, false);
    }

    /**
     * Times every baseline of the task's evaluation set on one batch; with {@code references}, an {@link Accelerated}
     * baseline's reference implementation too, on the same batch, after it.
     */
    public static List<Row> measure(TaskConfig task, EvalConfig eval, int prompts, int points, int repeats,
            TensorOptions options, boolean references) {
        TaskSampler sampler = new TaskSampler(task, 7, options);
        BaselineContext ctx = new BaselineContext(task, sampler, 7);
        List<BaselineSpec> specs = Baselines.forEval(task, eval);
        List<Predictor> predictors = new ArrayList<>();
        for (BaselineSpec s : specs) {
            predictors.add(s.create(ctx));
        }
        double[] best = new double[predictors.size()];
        double[] refBest = new double[predictors.size()];
        double[] diff = new double[predictors.size()];
        java.util.Arrays.fill(refBest, Double.NaN);
        java.util.Arrays.fill(diff, Double.NaN);
        try (PointerScope scope = new PointerScope()) {
            PromptBatch batch = sampler.sample(prompts, points, task.nDims(), sampler.generator(Rng.derive(7,
                    Rng.Stream.EVAL, 0)));
            for (int i = 0; i < predictors.size(); i++) {
                double[][] pred = new double[1][];
                best[i] = time(predictors.get(i), batch, repeats, pred);
                if (references && predictors.get(i) instanceof Accelerated a) {
                    double[][] ref = new double[1][];
                    refBest[i] = time(a.reference(), batch, repeats, ref);
                    double worst = 0;
                    double scale = 0;
                    for (int k = 0; k < ref[0].length; k++) {
                        worst = Math.max(worst, Math.abs(pred[0][k] - ref[0][k]));
                        scale = Math.max(scale, Math.abs(ref[0][k]));
                    }
                    diff[i] = worst / scale;
                }
            }
        }
        double total = 0;
        for (double b : best) {
            total += b;
        }
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < predictors.size(); i++) {
            rows.add(new Row(predictors.get(i).name(), specs.get(i).toString(), best[i],
                    (double) prompts * points / best[i], best[i] / total, refBest[i], diff[i]));
        }
        return rows;
    }

    /** Best of {@code repeats} timed runs after one warm-up; the last run's predictions go to {@code out[0]}. */
    private static double time(Predictor p, PromptBatch batch, int repeats, double[][] out) {
        double best = Double.POSITIVE_INFINITY;
        for (int r = 0; r <= repeats; r++) {
            long t0 = System.nanoTime();
            try (PointerScope inner = new PointerScope()) {
                out[0] = Tensors.toDoubleArray(p.predict(batch));
            }
            double s = (System.nanoTime() - t0) / 1e9;
            if (r > 0) {
                best = Math.min(best, s);
            }
        }
        return best;
    }
}
