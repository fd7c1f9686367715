package dev.incontext.eval.baselines;

import dev.incontext.model.Predictor;
import dev.incontext.ops.Ops;
import dev.incontext.tasks.PromptBatch;
import org.bytedeco.pytorch.Tensor;

/**
 * Least squares fitted to the first k examples, predicting at x_k: the minimum-norm solution for lambda = 0 (exact
 * when k &lt; d), ridge for lambda &gt; 0. All prefixes of all prompts in one call of the prefix_lstsq op.
 */
public record LeastSquares(double lambda) implements Predictor {
    @Override
    public Tensor predict(PromptBatch batch) {
        return Ops.prefixLstsq(batch.xs(), batch.ys(), lambda);
    }

    @Override
    public String name() {
        return lambda == 0 ? "Least squares" : "Ridge (lambda=" + lambda + ")";
    }
}
