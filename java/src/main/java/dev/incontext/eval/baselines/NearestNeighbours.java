package dev.incontext.eval.baselines;

import dev.incontext.model.Predictor;
import dev.incontext.ops.Ops;
import dev.incontext.tasks.PromptBatch;
import org.bytedeco.pytorch.Tensor;

/**
 * k-nearest neighbours among the earlier examples (Garg et al.): the mean (uniform) or 1/distance-weighted mean of
 * the y's of the min(k, i) closest x_j, j &lt; i; 0 at i = 0 (the prefix_knn op, batched on the device).
 */
public record NearestNeighbours(int k, boolean distanceWeighted) implements Predictor {
    public NearestNeighbours {
        if (k < 1) {
            throw new IllegalArgumentException("k must be >= 1; got " + k);
        }
    }

    @Override
    public Tensor predict(PromptBatch batch, Tensor queries) {
        return Ops.prefixKnn(batch.xs(), batch.ys(), k, distanceWeighted, queries);
    }

    @Override
    public String name() {
        return k + "-NN" + (distanceWeighted ? " (distance)" : "");
    }
}
