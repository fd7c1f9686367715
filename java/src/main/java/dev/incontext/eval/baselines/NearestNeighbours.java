package dev.incontext.eval.baselines;

import dev.incontext.model.Predictor;
import dev.incontext.tasks.PromptBatch;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * k-nearest neighbours among the earlier examples (Garg et al.): the mean (uniform) or 1/distance-weighted mean of
 * the y's of the min(k, i) closest x_j, j &lt; i, in Euclidean distance; 0 at i = 0. Batched on the device: one
 * distance matrix per prompt, later points masked out.
 */
public record NearestNeighbours(int k, boolean distanceWeighted) implements Predictor {
    public NearestNeighbours {
        if (k < 1) {
            throw new IllegalArgumentException("k must be >= 1; got " + k);
        }
    }

    @Override
    public Tensor predict(PromptBatch batch) {
        Tensor xs = batch.xs();
        long n = xs.size(1);
        Tensor dist = torch.cdist(xs, xs);                                              // (B, n, n)
        Tensor idx = torch.arange(new Scalar(0), new Scalar(n), xs.options());
        Tensor future = idx.unsqueeze(0).ge(idx.unsqueeze(1));                          // j >= i: not visible
        dist = dist.masked_fill(future, new Scalar(Double.POSITIVE_INFINITY));
        long kk = Math.min(k, n);
        Tensor order = torch.argsort(dist, 2, false).narrow(2, 0, kk);                 // (B, n, kk) nearest first
        Tensor nearestY = torch.gather(batch.ys().unsqueeze(1).expand(new long[] {xs.size(0), n, n}), 2, order);
        Tensor nearestD = torch.gather(dist, 2, order);
        Tensor valid = nearestD.isfinite().to(xs.scalar_type());                         // fewer than k before i
        Tensor w = distanceWeighted
                ? valid.div(nearestD.masked_fill(valid.eq(new Scalar(0)), new Scalar(1)).clamp_min(new Scalar(1e-12)))
                : valid;
        Tensor num = nearestY.mul(w).sum(new long[] {2}, false, new org.bytedeco.pytorch.ScalarTypeOptional());
        Tensor den = w.sum(new long[] {2}, false, new org.bytedeco.pytorch.ScalarTypeOptional());
        return num.div(den.clamp_min(new Scalar(1e-30))).mul(den.gt(new Scalar(0)).to(xs.scalar_type()));
    }

    @Override
    public String name() {
        return k + "-NN" + (distanceWeighted ? " (distance)" : "");
    }
}
