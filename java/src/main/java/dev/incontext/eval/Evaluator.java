package dev.incontext.eval;

import dev.incontext.model.Predictor;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.tasks.Rng;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.util.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * {@code Evaluator.evaluate(predictors, ...) -> Evaluation}: every predictor sees the same prompts (drawn from the
 * EVAL random stream of the seed), and is scored at every position.
 */
public final class Evaluator {
    private Evaluator() {}

    public static Evaluation evaluate(List<? extends Predictor> predictors, TaskSampler sampler, int prompts,
            int batchSize, int points, long seed) {
        int d = sampler.nDims();
        boolean classification = sampler.family().classification();
        double norm = sampler.family().normalisation(d);
        double[][][] perPrompt = new double[predictors.size()][prompts][];
        int done = 0;
        for (long b = 0; done < prompts; b++) {
            int size = Math.min(batchSize, prompts - done);
            try (PointerScope scope = new PointerScope()) {
                PromptBatch batch = sampler.sample(size, points, d, sampler.generator(Rng.derive(seed, Rng.Stream.EVAL, b)));
                for (int p = 0; p < predictors.size(); p++) {
                    Tensor pred = predictors.get(p).predict(batch);
                    Tensor score = classification
                            ? pred.sign().eq(batch.ys()).to(torch.ScalarType.Double)
                            : pred.sub(batch.ys()).pow(new Scalar(2)).to(torch.ScalarType.Double).div(new Scalar(norm));
                    double[] flat = Tensors.toDoubleArray(score);   // copies to the host first (CUDA)
                    for (int i = 0; i < size; i++) {
                        perPrompt[p][done + i] = Arrays.copyOfRange(flat, i * points, (i + 1) * points);
                    }
                }
            }
            done += size;
        }
        List<Evaluation.Curve> curves = new ArrayList<>();
        for (int p = 0; p < predictors.size(); p++) {
            curves.add(summarise(predictors.get(p).name(), perPrompt[p], points, seed + p));
        }
        return new Evaluation(classification ? "accuracy" : "normalised squared error", prompts, curves);
    }

    static Evaluation.Curve summarise(String name, double[][] rows, int points, long seed) {
        int n = rows.length;
        double[] mean = new double[points];
        double[] low = new double[points];
        double[] high = new double[points];
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] boot = new double[1000];
        for (int k = 0; k < points; k++) {
            double s = 0;
            for (double[] r : rows) {
                s += r[k];
            }
            mean[k] = s / n;
            for (int t = 0; t < boot.length; t++) {
                double bs = 0;
                for (int i = 0; i < n; i++) {
                    bs += rows[rnd.nextInt(n)][k];
                }
                boot[t] = bs / n;
            }
            Arrays.sort(boot);
            low[k] = boot[(int) (0.05 * boot.length)];
            high[k] = boot[(int) (0.95 * boot.length) - 1];
        }
        return new Evaluation.Curve(name, mean, low, high);
    }
}
