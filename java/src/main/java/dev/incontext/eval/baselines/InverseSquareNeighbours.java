package dev.incontext.eval.baselines;

import dev.incontext.model.Predictor;
import dev.incontext.tasks.PromptBatch;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * k-nearest neighbours among the earlier examples with Akyürek et al.'s weights |x_i - x_j|^-2: entry i is the
 * 1/distance^2-weighted mean of the y's of the min(k, i) points j &lt; i nearest (Euclidean) to the query; when any
 * of them is at distance 0 those points share all the weight equally; 0 at i = 0.
 *
 * <p>Batched on the batch's device in float64: exact pairwise distances (B, n, n) (cdist without the matrix-product
 * shortcut, so coincident points are at exactly 0), later points masked out, a stable sort (ties go to the earlier
 * point). Memory B n^2, time B n^2 (d + log n); the query path costs the same (distances from the queries instead of
 * the prompt's x's).
 */
public record InverseSquareNeighbours(int k) implements Predictor {
    public InverseSquareNeighbours {
        if (k < 1) {
            throw new IllegalArgumentException("k must be >= 1; got " + k);
        }
    }

    @Override
    public Tensor predict(PromptBatch batch, Tensor queries) {
        Tensor x = PrefixMoments.f64(batch.xs());
        Tensor y = PrefixMoments.f64(batch.ys());
        Tensor q = PrefixMoments.queries(batch, queries);
        long b = x.size(0);
        long n = x.size(1);
        Tensor dist = torch.cdist(q, x, 2.0, new LongOptional(2));                 // (B, n, n), exact
        // Query i may only see points j < i: mask j >= i (the diagonal and above) with +inf.
        Tensor later = torch.triu(torch.ones(new long[] {n, n}, x.options())).gt(new Scalar(0));
        dist = dist.masked_fill(later.unsqueeze(0), new Scalar(Double.POSITIVE_INFINITY));
        long kk = Math.min(k, n);
        // A stable sort, so that among equally distant points the earlier ones are the neighbours.
        T_TensorTensor_T sorted = torch.sort(dist, new BoolOptional(true), 2, false);
        Tensor d2 = sorted.get0().narrow(2, 0, kk).square();                                      // (B, n, kk)
        Tensor ySel = torch.gather(y.unsqueeze(1).expand(b, n, n), 2, sorted.get1().narrow(2, 0, kk));
        Tensor zero = d2.eq(new Scalar(0));
        Tensor anyZero = zero.any(2, true);
        Tensor w = torch.where(anyZero, zero.to(torch.ScalarType.Double), d2.reciprocal());   // 1/inf = 0
        Tensor den = w.sum(new long[] {2}, false, null);
        Tensor num = w.mul(ySel).sum(new long[] {2}, false, null);
        Tensor pred = torch.where(den.gt(new Scalar(0)), num.div(den.clamp_min(new Scalar(Double.MIN_NORMAL))),
                new Scalar(0.0));
        return PrefixMoments.finish(pred, batch, name());
    }

    @Override
    public String name() {
        return k + "-NN (1/distance^2)";
    }
}
