package dev.incontext.ops;

import static dev.incontext.util.Tensors.options;
import static dev.incontext.util.Tensors.scalarMul;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The ops written as compositions of ordinary libtorch ops, differentiable through libtorch's own autograd:
 * the independent references that {@code ops-check} and the tests compare the native ops against.
 */
public final class LibtorchReference {
    private LibtorchReference() {}

    /** softmax(q k^T / sqrt(D) + causal mask) v with matmul, masked_fill and softmax. */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, boolean causal) {
        long t = q.size(2);
        Tensor s = scalarMul(torch.matmul(q, k.transpose(-2, -1)), 1.0 / Math.sqrt(q.size(3)));
        if (causal) {
            Tensor mask = torch.triu(torch.ones(new long[] {t, t}, options(torch.ScalarType.Bool)), 1);
            s = s.masked_fill(mask, new Scalar(Double.NEGATIVE_INFINITY));
        }
        return torch.matmul(torch.softmax(s, -1), v);
    }

    /**
     * Per-prefix solves: prediction k = x_k . pinv(X_{<k}) y_{<k} (lambda = 0) or the ridge solution
     * (X^T X + lambda I)^{-1} X^T y through linalg_solve; 0 at k = 0.
     */
    public static Tensor prefixLstsq(Tensor x, Tensor y, double lambda) {
        long n = x.size(1);
        long d = x.size(2);
        TensorVector preds = new TensorVector();
        preds.push_back(torch.zeros(new long[] {x.size(0)}, options(x.scalar_type())));
        for (long k = 1; k < n; k++) {
            Tensor a = x.narrow(1, 0, k);
            Tensor r = y.narrow(1, 0, k).unsqueeze(-1);
            Tensor w;
            if (lambda == 0) {
                w = torch.matmul(torch.linalg_pinv(a), r);
            } else {
                Tensor at = a.transpose(1, 2);
                Tensor g = torch.matmul(at, a).add(scalarMul(torch.eye(d, options(x.scalar_type())), lambda));
                w = torch.linalg_solve(g, torch.matmul(at, r));
            }
            preds.push_back(torch.matmul(x.select(1, k).unsqueeze(1), w).reshape(-1));
        }
        return torch.stack(preds, 1);
    }

    /** Per-prefix averaging: prediction k = x_k . (1/k) sum_{i<k} y_i x_i; 0 at k = 0. */
    public static Tensor prefixAveraging(Tensor x, Tensor y) {
        TensorVector preds = new TensorVector();
        preds.push_back(torch.zeros(new long[] {x.size(0)}, options(x.scalar_type())));
        for (long k = 1; k < x.size(1); k++) {
            Tensor w = x.narrow(1, 0, k).mul(y.narrow(1, 0, k).unsqueeze(-1)).mean(new long[] {1}, false,
                    new ScalarTypeOptional());
            preds.push_back(x.select(1, k).mul(w).sum(new long[] {1}, false, new ScalarTypeOptional()));
        }
        return torch.stack(preds, 1);
    }

    /** Per-prefix uniform k-NN: prediction i = mean y of the min(i, k) points of x_{<i} nearest to x_i; 0 at i = 0. */
    public static Tensor prefixKnn(Tensor x, Tensor y, long k) {
        TensorVector preds = new TensorVector();
        preds.push_back(torch.zeros(new long[] {x.size(0)}, options(x.scalar_type())));
        for (long i = 1; i < x.size(1); i++) {
            Tensor dist = x.narrow(1, 0, i).sub(x.narrow(1, i, 1)).square().sum(new long[] {2}, false,
                    new ScalarTypeOptional());                         // (B, i)
            long m = Math.min(i, k);
            Tensor idx = torch.topk(dist, m, 1, false, true).get1();
            preds.push_back(torch.gather(y.narrow(1, 0, i), 1, idx).mean(new long[] {1}, false,
                    new ScalarTypeOptional()));
        }
        return torch.stack(preds, 1);
    }
}
