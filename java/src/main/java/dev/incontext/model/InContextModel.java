package dev.incontext.model;

import dev.incontext.tasks.PromptBatch;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * A trainable in-context learner: a libtorch {@link Module} holding the parameters, and a differentiable forward
 * pass from a prompt to predictions at every position.
 */
public abstract class InContextModel implements Predictor, TrainableModel {
    /** The parameters (for optimisers and checkpoints). */
    @Override
    public abstract Module module();

    /** Differentiable predictions (B, n). */
    public abstract Tensor forward(Tensor xs, Tensor ys);

    /**
     * The predictions the training loss reads: all positions (B, n) by default; a model trained on the last position
     * only may return just that column (B, 1), skipping the work of the others.
     */
    public Tensor forwardForLoss(Tensor xs, Tensor ys) {
        return forward(xs, ys);
    }

    /** Whether the training loss averages over all positions (GPT-2) or uses the last one only (LSA). */
    public boolean lossOnAllPositions() {
        return true;
    }

    /**
     * Differentiable predictions (B, n) at separate queries: entry k predicts at {@code queries[b, k]} from the first
     * k examples of the prompt. Must equal {@link #forward(Tensor, Tensor)} when the queries are the prompt's x's.
     */
    public abstract Tensor forwardAtQueries(Tensor xs, Tensor ys, Tensor queries);

    /** Inference without autograd; safe to call from many threads at once (no state is mutated). */
    @Override
    public Tensor predict(PromptBatch batch, Tensor queries) {
        try (NoGradGuard guard = new NoGradGuard()) {
            return queries == null ? forward(batch.xs(), batch.ys()) : forwardAtQueries(batch.xs(), batch.ys(), queries);
        }
    }
}
