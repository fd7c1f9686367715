package dev.incontext.eval.baselines;

import dev.incontext.config.RunConfig;
import dev.incontext.model.Predictor;
import dev.incontext.ops.Ops;
import dev.incontext.tasks.PromptBatch;
import org.bytedeco.pytorch.Tensor;

/**
 * Least squares fitted to the first k examples, predicting at x_k: the minimum-norm solution for lambda = 0 (exact
 * when k &lt; d), ridge for lambda &gt; 0. All prefixes of all prompts in one call of the prefix_lstsq op.
 * {@code bayes} marks the Bayes-optimal ridge of {@link #bayes(dev.incontext.config.RunConfig.TaskConfig)}, only to
 * name it apart from a plain ridge.
 */
public record LeastSquares(double lambda, boolean bayes) implements Predictor {
    /** Least squares (lambda = 0) or ridge with the given lambda. */
    public LeastSquares(double lambda) {
        this(lambda, false);
    }

    @Override
    public Tensor predict(PromptBatch batch, Tensor queries) {
        return queries == null ? Ops.prefixLstsq(batch.xs(), batch.ys(), lambda)
                : Ops.prefixLstsq(batch.xs(), batch.ys(), lambda, queries);
    }

    /**
     * The Bayes-optimal predictor for Gaussian weights and noise (papers.md §9.8): ridge with lambda = sigma^2 / tau^2,
     * where y = s x.w + N(0, sigma^2) with w ~ N(0, I) gives tau = s; minimum-norm least squares when there is no
     * noise. Renormalising y multiplies signal and noise alike and leaves lambda unchanged.
     */
    public static LeastSquares bayes(RunConfig.TaskConfig task) {
        double tau = task.yScale();
        return new LeastSquares(task.noiseStd() * task.noiseStd() / (tau * tau), true);
    }

    @Override
    public String name() {
        if (bayes) {
            return "Bayes ridge (lambda=" + lambda + ")";
        }
        return lambda == 0 ? "Least squares" : "Ridge (lambda=" + lambda + ")";
    }
}
