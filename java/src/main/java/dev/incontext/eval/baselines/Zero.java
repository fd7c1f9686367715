package dev.incontext.eval.baselines;

import dev.incontext.model.Predictor;
import dev.incontext.tasks.PromptBatch;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** The zero predictor: the trivial reference line of every regression metric (it scores 1 by construction). */
public record Zero() implements Predictor {
    @Override
    public Tensor predict(PromptBatch batch, Tensor queries) {
        return torch.zeros_like(batch.ys());
    }

    @Override
    public String name() {
        return "Zero";
    }
}
