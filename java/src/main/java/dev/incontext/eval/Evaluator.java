package dev.incontext.eval;

import dev.incontext.config.RunConfig.TaskConfig;
import dev.incontext.model.Predictor;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.ops.Rng;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.util.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;

/**
 * {@code Evaluator.evaluate(predictors, setting, ...) -> Evaluation}: every predictor sees the same prompts and
 * queries (drawn from the EVAL random stream of the seed, batch by batch, so any subset of predictors evaluated later
 * sees exactly the same prompts) and is scored at every position the setting defines.
 */
public final class Evaluator {
    private Evaluator() {}

    /** How many prompts, in batches of what size, from which seed, on which device. */
    public record Request(int prompts, int batchSize, long seed, TensorOptions options, boolean capture) {
        public Request {
            if (prompts < 1 || batchSize < 1) {
                throw new IllegalArgumentException("prompts and batch size must be >= 1; got " + prompts + ", " + batchSize);
            }
        }
    }

    /** Told after every batch: for progress bars. */
    public interface Listener {
        void batchDone(String setting, int promptsDone, int promptsTotal);

        Listener NONE = (s, d, t) -> { };
    }

    /**
     * The prompts and every predictor's predictions, on the host, when {@link Request#capture} is set (for
     * {@code --export}): xs (B, n, d), targets (B, n) (the labels scored: the prompt's own y's, or the queries'
     * labels), queries (B, n, d) or null when the query is x_k, predictions (B, n) per predictor name.
     */
    public record Captured(long prompts, long points, long dims, double[] xs, double[] ys, double[] targets,
            double[] queries, Map<String, double[]> predictions) {
        private double[] predictionsOf(String predictor) {
            double[] v = predictions.get(predictor);
            if (v == null) {
                throw new IllegalStateException("no captured predictions of " + predictor + "; captured: "
                        + predictions.keySet());
            }
            return v;
        }

        /** (ŷ_a − ŷ_b)² averaged over the prompts, one value per position k (unnormalised). */
        public double[] squaredDifferenceByPosition(String a, String b) {
            double[] pa = predictionsOf(a);
            double[] pb = predictionsOf(b);
            int n = (int) points;
            double[] out = new double[n];
            for (int p = 0; p < prompts; p++) {
                for (int k = 0; k < n; k++) {
                    double diff = pa[p * n + k] - pb[p * n + k];
                    out[k] += diff * diff;
                }
            }
            for (int k = 0; k < n; k++) {
                out[k] /= prompts;
            }
            return out;
        }

        /** (ŷ_a − ŷ_b)² averaged over the positions k >= {@code from}, one value per prompt (unnormalised). */
        public double[] squaredDifferenceByPrompt(String a, String b, int from) {
            double[] pa = predictionsOf(a);
            double[] pb = predictionsOf(b);
            if (from < 0 || from >= points) {
                throw new IllegalArgumentException("positions from k = " + from + " on: the prompts have " + points
                        + " point(s)");
            }
            int n = (int) points;
            double[] out = new double[(int) prompts];
            for (int p = 0; p < out.length; p++) {
                double s = 0;
                for (int k = from; k < n; k++) {
                    double diff = pa[p * n + k] - pb[p * n + k];
                    s += diff * diff;
                }
                out[p] = s / (n - from);
            }
            return out;
        }
    }

    /** An evaluation and, when asked for, what it saw. */
    public record Result(Evaluation evaluation, Captured captured) {}

    /** The training distribution of {@code sampler}: {@code points} points per prompt, every position scored. */
    public static Evaluation evaluate(List<? extends Predictor> predictors, TaskSampler sampler, int prompts,
            int batchSize, int points, long seed) {
        Request r = new Request(prompts, batchSize, seed, null, false);
        return run(predictors, sampler, new Setting.Standard(), sampler.config(), points, r, Listener.NONE).evaluation();
    }

    /**
     * One setting for a model trained on {@code trained} with prompts of {@code trainedPoints} points and positions
     * for {@code modelPositions} points. Throws {@link IllegalArgumentException} naming why when the setting does not
     * apply to that model.
     */
    public static Result evaluate(List<? extends Predictor> predictors, TaskConfig trained, int trainedPoints,
            int modelPositions, Setting setting, Request request, Listener listener) {
        setting.unsupported(trained, trainedPoints, modelPositions).ifPresent(why -> {
            throw new IllegalArgumentException("setting " + setting.id() + " does not apply: " + why);
        });
        TaskSampler sampler = new TaskSampler(setting.task(trained), request.seed(), request.options());
        return run(predictors, sampler, setting, trained, setting.points(trainedPoints, modelPositions), request, listener);
    }

    private static Result run(List<? extends Predictor> predictors, TaskSampler sampler, Setting setting,
            TaskConfig trained, int points, Request request, Listener listener) {
        int d = sampler.nDims();
        Metric metric = Metric.of(sampler.family().classification());
        double normaliser = setting.normaliser(trained);
        int scored = setting.scoredPositions(points, d);
        int prompts = request.prompts();
        if (request.capture() && (long) prompts * points * d > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("capturing " + prompts + " prompts x " + points + " points x d = " + d
                    + " exceeds what one array holds; export fewer prompts (eval.num_prompts)");
        }
        double[][][] perPrompt = new double[predictors.size()][prompts][];
        Captured cap = request.capture() ? new Captured(prompts, points, d, new double[prompts * points * d],
                new double[prompts * points], new double[prompts * points], null, new LinkedHashMap<>()) : null;
        double[] capturedQueries = null;
        int done = 0;
        for (long b = 0; done < prompts; b++) {
            int size = Math.min(request.batchSize(), prompts - done);
            try (PointerScope scope = new PointerScope()) {
                Generator gen = sampler.generator(Rng.derive(request.seed(), Rng.Stream.EVAL, b));
                PromptBatch batch = setting.prompts(sampler, size, points, gen);
                Tensor queries = setting.queries(batch, sampler, gen);
                Tensor targets = queries == null ? batch.ys() : sampler.label(batch, queries, gen);
                if (cap != null) {
                    copy(Tensors.toDoubleArray(batch.xs()), cap.xs(), (long) done * points * d);
                    copy(Tensors.toDoubleArray(batch.ys()), cap.ys(), (long) done * points);
                    copy(Tensors.toDoubleArray(targets), cap.targets(), (long) done * points);
                    if (queries != null) {
                        if (capturedQueries == null) {
                            capturedQueries = new double[prompts * points * d];
                        }
                        copy(Tensors.toDoubleArray(queries), capturedQueries, (long) done * points * d);
                    }
                }
                for (int p = 0; p < predictors.size(); p++) {
                    // Each predictor's activations are freed before the next one runs.
                    try (PointerScope inner = new PointerScope()) {
                        Predictor predictor = predictors.get(p);
                        Tensor pred = predictor.predict(batch, queries);
                        if (!Tensors.allFinite(pred)) {
                            throw new IllegalStateException("predictor " + predictor.name() + " produced non-finite "
                                    + "predictions in setting " + setting.id() + " (batch " + b + ")");
                        }
                        double[] flat = Tensors.toDoubleArray(metric.score(pred, targets, normaliser));
                        for (int i = 0; i < size; i++) {
                            perPrompt[p][done + i] = Arrays.copyOfRange(flat, i * points, i * points + scored);
                        }
                        if (cap != null) {
                            double[] all = cap.predictions().computeIfAbsent(predictor.name(), k -> new double[prompts * points]);
                            copy(Tensors.toDoubleArray(pred), all, (long) done * points);
                        }
                    }
                }
            }
            done += size;
            listener.batchDone(setting.id(), done, prompts);
        }
        // Prompts that share a batch's draw are one independent unit: resampling them one by one would treat the
        // batch's draw as replicated and narrow the band by about sqrt(batch size) when that draw dominates.
        int group = setting.groupedByBatch() ? request.batchSize() : 1;
        List<Evaluation.Curve> curves = new ArrayList<>();
        for (int p = 0; p < predictors.size(); p++) {
            curves.add(summarise(predictors.get(p).name(), perPrompt[p], scored, request.seed() + p, group));
        }
        Evaluation e = new Evaluation(setting.id(), setting.description(), metric, normaliser, prompts, curves, group);
        Captured c = cap == null ? null : new Captured(prompts, points, d, cap.xs(), cap.ys(), cap.targets(),
                capturedQueries, cap.predictions());
        return new Result(e, c);
    }

    private static void copy(double[] from, double[] to, long offset) {
        System.arraycopy(from, 0, to, (int) offset, from.length);
    }

    /**
     * Mean per position with a 90% bootstrap interval (1000 resamples) that resamples whole groups of {@code group}
     * consecutive prompts (the last group may be smaller), each resample's mean taken over the prompts it holds;
     * {@code group} 1 resamples whole prompts.
     */
    static Evaluation.Curve summarise(String name, double[][] rows, int points, long seed, int group) {
        if (group < 1) {
            throw new IllegalArgumentException("bootstrap group size must be >= 1; got " + group);
        }
        int n = rows.length;
        int groups = (n + group - 1) / group;
        double[][] sums = new double[groups][];
        int[] sizes = new int[groups];
        for (int g = 0; g < groups; g++) {
            sums[g] = new double[points];
            sizes[g] = Math.min(group, n - g * group);
            for (int i = g * group; i < g * group + sizes[g]; i++) {
                for (int k = 0; k < points; k++) {
                    sums[g][k] += rows[i][k];
                }
            }
        }
        double[] mean = new double[points];
        double[] low = new double[points];
        double[] high = new double[points];
        SplittableRandom rnd = new SplittableRandom(seed);
        int resamples = 1000;
        double[][] boot = new double[points][resamples];
        int[] pick = new int[groups];
        for (int t = 0; t < resamples; t++) {
            long count = 0;
            for (int i = 0; i < groups; i++) {
                pick[i] = rnd.nextInt(groups);
                count += sizes[pick[i]];
            }
            for (int k = 0; k < points; k++) {
                double s = 0;
                for (int i = 0; i < groups; i++) {
                    s += sums[pick[i]][k];
                }
                boot[k][t] = s / count;
            }
        }
        for (int k = 0; k < points; k++) {
            double s = 0;
            for (double[] r : rows) {
                s += r[k];
            }
            mean[k] = s / n;
            Arrays.sort(boot[k]);
            low[k] = boot[k][(int) (0.05 * resamples)];
            high[k] = boot[k][(int) (0.95 * resamples) - 1];
        }
        return new Evaluation.Curve(name, mean, low, high);
    }
}
