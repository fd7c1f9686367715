package dev.incontext.model;

import dev.incontext.tasks.PromptBatch;
import org.bytedeco.pytorch.Tensor;

/**
 * Anything that predicts in context: prompt batch in, a prediction at every position out. Entry k of the result
 * (B, n) predicts y_k from x_0..x_k and y_0..y_{k-1}. Transformers and every baseline implement it, so the
 * evaluator treats them alike.
 */
public interface Predictor {
    /** Predictions (B, n) for every position of every prompt. */
    Tensor predict(PromptBatch batch);

    /** A short name for tables and plots, e.g. "Transformer", "Least squares", "3-NN". */
    String name();
}
