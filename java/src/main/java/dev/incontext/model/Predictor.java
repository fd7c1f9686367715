package dev.incontext.model;

import dev.incontext.tasks.PromptBatch;
import java.util.function.BiFunction;
import org.bytedeco.pytorch.Tensor;

/**
 * Anything that predicts in context: prompt batch in, a prediction at every position out. Entry k of the result
 * (B, n) predicts the label of a query from the first k examples (x_0, y_0) .. (x_{k-1}, y_{k-1}): by default the
 * query is the prompt's own x_k; {@link #predict(PromptBatch, Tensor)} takes separate queries (B, n, d), one per
 * position, for the evaluation settings whose query differs from the prompt points. Transformers and every baseline
 * implement it, so the evaluator treats them alike.
 */
public interface Predictor {
    /**
     * Predictions (B, n): entry k predicts at {@code queries[b, k]} from the first k examples of {@code batch}.
     * {@code queries} null means the prompt's own x's. Implementations say in their Javadoc what the query path costs
     * beyond the ordinary prediction.
     */
    Tensor predict(PromptBatch batch, Tensor queries);

    /** Predictions (B, n) for every position of every prompt, at the prompt's own x's. */
    default Tensor predict(PromptBatch batch) {
        return predict(batch, null);
    }

    /** A short name for tables and plots, e.g. "Transformer", "Least squares", "3-NN". */
    String name();

    /** A predictor named {@code name} that predicts with {@code predict} (batch, queries or null). */
    static Predictor of(String name, BiFunction<PromptBatch, Tensor, Tensor> predict) {
        return new Predictor() {
            @Override
            public Tensor predict(PromptBatch batch, Tensor queries) {
                return predict.apply(batch, queries);
            }

            @Override
            public String name() {
                return name;
            }
        };
    }
}
