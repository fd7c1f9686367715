package dev.incontext.eval.baselines;

import dev.incontext.model.Predictor;

/**
 * A baseline computed by a fast implementation whose predictions are defined by a plainer one: the plain one is kept,
 * so that tests check the fast one against it and {@code incontext bench-eval --reference} times both in one run.
 */
public interface Accelerated extends Predictor {
    /** The implementation that defines this baseline's predictions (slower; same inputs, same randomness). */
    Predictor reference();
}
