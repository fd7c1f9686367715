package dev.incontext.eval;

import dev.incontext.config.RunConfig.EvalConfig;
import dev.incontext.config.RunConfig.TaskConfig;
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

    public record Row(String baseline, String spec, double seconds, double positionsPerSecond, double share) {}

    public static List<Row> measure(TaskConfig task, EvalConfig eval, int prompts, int points, int repeats,
            TensorOptions options) {
        TaskSampler sampler = new TaskSampler(task, 7, options);
        BaselineContext ctx = new BaselineContext(task, sampler, 7);
        List<BaselineSpec> specs = Baselines.forEval(task, eval);
        List<Predictor> predictors = new ArrayList<>();
        for (BaselineSpec s : specs) {
            predictors.add(s.create(ctx));
        }
        double[] best = new double[predictors.size()];
        try (PointerScope scope = new PointerScope()) {
            PromptBatch batch = sampler.sample(prompts, points, task.nDims(), sampler.generator(Rng.derive(7,
                    Rng.Stream.EVAL, 0)));
            for (int i = 0; i < predictors.size(); i++) {
                best[i] = Double.POSITIVE_INFINITY;
                for (int r = 0; r <= repeats; r++) {
                    long t0 = System.nanoTime();
                    try (PointerScope inner = new PointerScope()) {
                        Tensor pred = predictors.get(i).predict(batch);
                        Tensors.toDoubleArray(pred);
                    }
                    double s = (System.nanoTime() - t0) / 1e9;
                    if (r > 0) {
                        best[i] = Math.min(best[i], s);
                    }
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
                    (double) prompts * points / best[i], best[i] / total));
        }
        return rows;
    }
}
