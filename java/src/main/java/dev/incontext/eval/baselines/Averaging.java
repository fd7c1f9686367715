package dev.incontext.eval.baselines;

import dev.incontext.model.Predictor;
import dev.incontext.tasks.PromptBatch;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Averaging (Garg et al.): w_k = (1/k) sum_{i<k} y_i x_i, prediction x_k . w_k; 0 at k = 0. One exclusive prefix
 * sum over the batch on the device.
 */
public record Averaging() implements Predictor {
    @Override
    public Tensor predict(PromptBatch batch) {
        Tensor xs = batch.xs();
        Tensor yx = xs.mul(batch.ys().unsqueeze(2));                    // (B, n, d)
        Tensor before = torch.cumsum(yx, 1).sub(yx);                     // sum over i < k
        long n = xs.size(1);
        Tensor k = torch.arange(new Scalar(0), new Scalar(n), xs.options()).clamp_min(new Scalar(1)).unsqueeze(1);
        return xs.mul(before.div(k)).sum(new long[] {2}, false, new org.bytedeco.pytorch.ScalarTypeOptional());
    }

    @Override
    public String name() {
        return "Averaging";
    }
}
