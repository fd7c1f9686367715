package dev.incontext.eval.baselines;

import dev.incontext.model.Predictor;
import dev.incontext.ops.Ops;
import dev.incontext.tasks.PromptBatch;
import org.bytedeco.pytorch.Tensor;

/** Averaging (Garg et al.): w_k = (1/k) sum_{i<k} y_i x_i, prediction x_k . w_k; 0 at k = 0 (the prefix_averaging op). */
public record Averaging() implements Predictor {
    @Override
    public Tensor predict(PromptBatch batch, Tensor queries) {
        return Ops.prefixAveraging(batch.xs(), batch.ys(), queries);
    }

    @Override
    public String name() {
        return "Averaging";
    }
}
