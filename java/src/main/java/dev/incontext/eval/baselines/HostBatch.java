package dev.incontext.eval.baselines;

import dev.incontext.tasks.PromptBatch;
import dev.incontext.util.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * A prompt batch copied to the host once, for the baselines that fit each prompt in Java (greedy trees, XGBoost):
 * b prompts of n points in d dimensions, row-major; qs are the query points (the x's themselves when there are no
 * separate queries).
 */
record HostBatch(int b, int n, int d, double[] xs, double[] ys, double[] qs) {
    static HostBatch of(PromptBatch batch, Tensor queries) {
        double[] xs = Tensors.toDoubleArray(batch.xs());
        return new HostBatch(Math.toIntExact(batch.batchSize()), Math.toIntExact(batch.points()),
                Math.toIntExact(batch.dims()), xs, Tensors.toDoubleArray(batch.ys()),
                queries == null ? xs : Tensors.toDoubleArray(PrefixMoments.queries(batch, queries)));
    }

    /**
     * The (b, n) predictions {@code out} on the batch's device and dtype.
     *
     * @throws IllegalStateException with {@code nonFinite} when a prediction is NaN or infinite
     */
    Tensor result(double[] out, PromptBatch batch, String nonFinite) {
        for (double v : out) {
            if (!Double.isFinite(v)) {
                throw new IllegalStateException(nonFinite);
            }
        }
        Tensor t = torch.tensor(out, new TensorOptions(torch.ScalarType.Double)).view(b, n);
        return t.to(batch.ys().device(), batch.ys().scalar_type());
    }
}
