package dev.incontext.eval.baselines;

import dev.incontext.tasks.PromptBatch;
import dev.incontext.util.Tensors;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Shared tensor plumbing of the prefix baselines: float64 copies of a batch on its device, the query tensor, the
 * normalised moments of every prefix (k = 0 .. n-1) at once, and the conversion of a result back to the batch's dtype.
 */
final class PrefixMoments {
    private PrefixMoments() {}

    /** xs as float64 on its device (no copy when it already is). */
    static Tensor f64(Tensor t) {
        return t.to(torch.ScalarType.Double);
    }

    /**
     * The query of every position as float64 (B, n, d): {@code queries}, checked to have the batch's shape, or the
     * prompt's own x's when null.
     */
    static Tensor queries(PromptBatch batch, Tensor queries) {
        if (queries == null) {
            return f64(batch.xs());
        }
        if (queries.dim() != 3 || queries.size(0) != batch.batchSize() || queries.size(1) != batch.points()
                || queries.size(2) != batch.dims()) {
            throw new IllegalArgumentException("queries: expected shape [" + batch.batchSize() + ", " + batch.points()
                    + ", " + batch.dims() + "] like the prompt's xs; got " + Tensors.shape(queries));
        }
        return f64(queries.to(batch.xs().device(), torch.ScalarType.Double));
    }

    /** {@code t} (B, n, ...) summed over the points before each position: entry k = sum_{j<k} t[:, j], 0 at k = 0. */
    static Tensor exclusiveCumsum(Tensor t) {
        Tensor inclusive = t.cumsum(1);
        long n = t.size(1);
        long[] zshape = t.sizes().vec().get();
        zshape[1] = 1;
        Tensor zero = torch.zeros(zshape, t.options());
        if (n == 1) {
            return zero;
        }
        return torch.cat(new TensorVector(zero, inclusive.narrow(1, 0, n - 1)), 1);
    }

    /** k = 0 .. n-1 as float64 (n) on the device of {@code like}, with 0 replaced by 1 (for dividing). */
    static Tensor countsAtLeastOne(long n, Tensor like) {
        return torch.arange(new Scalar(0), new Scalar(n), like.options().dtype(
                new ScalarTypeOptional(torch.ScalarType.Double))).clamp_min(new Scalar(1));
    }

    /** (1/k) sum_{j<k} y_j x_j for every prefix: (B, n, d) float64, zero at k = 0. */
    static Tensor xty(Tensor x64, Tensor y64) {
        Tensor s = exclusiveCumsum(x64.mul(y64.unsqueeze(2)));
        return s.div(countsAtLeastOne(x64.size(1), x64).view(1, -1, 1));
    }

    /** (1/k) sum_{j<k} x_j x_j^T for every prefix: (B, n, d, d) float64, zero at k = 0. Memory B n d^2. */
    static Tensor gram(Tensor x64) {
        Tensor outer = x64.unsqueeze(3).mul(x64.unsqueeze(2));
        return exclusiveCumsum(outer).div(countsAtLeastOne(x64.size(1), x64).view(1, -1, 1, 1));
    }

    /** The result in the batch's dtype (its device already), refusing non-finite values with {@code why}. */
    static Tensor finish(Tensor pred, PromptBatch batch, String baseline) {
        if (!Tensors.allFinite(pred)) {
            throw new IllegalStateException(baseline + ": produced non-finite predictions (check the prompt for NaN "
                    + "or infinite values, and the baseline's settings)");
        }
        return pred.to(batch.ys().scalar_type());
    }
}
