package dev.incontext.model;

import dev.incontext.ops.Rng;
import dev.incontext.util.Tensors;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * One linear self-attention layer (Zhang, Frei &amp; Bartlett 2023): f(E) = E + W^PV E (E^T W^KQ E) / rho on the
 * embedding E = [(x_1; y_1) ... (x_k; y_k) (x_q; 0)], read at the bottom-right entry, with rho = k. For the
 * query after k examples that is
 * <pre>  y_hat_k = v^T (sum_{i<k} e_i e_i^T + e_q e_q^T) W^KQ e_q / k,   v = last row of W^PV,</pre>
 * computed for every k at once with an exclusive prefix sum of the outer products. Initialisation follows the
 * paper's Assumption 3.3: W^PV = sigma [[0, 0], [0, 1]], W^KQ = sigma [[Theta Theta^T, 0], [0, 0]] with
 * ||Theta Theta^T||_F = 1 and sigma from model.lsa_init_sigma (0.1 by default). Trained on the last position only
 * (one query per prompt).
 */
public final class LsaModel extends InContextModel {
    private final Module root = new Module("lsa");
    private final Tensor wpv;
    private final Tensor wkq;

    public LsaModel(int nDims, double sigma, Generator gen, TensorOptions o) {
        long e = nDims + 1L;
        Tensor pv = torch.zeros(new long[] {e, e}, o);
        pv.select(0, nDims).select(0, nDims).fill_(new Scalar(sigma));
        Tensor theta = torch.randn(new long[] {nDims, nDims}, new GeneratorOptional(gen), o);
        Tensor tt = torch.matmul(theta, theta.t());
        tt = tt.div(tt.norm());
        Tensor kq = torch.zeros(new long[] {e, e}, o);
        kq.narrow(0, 0, nDims).narrow(1, 0, nDims).copy_(tt.mul(new Scalar(sigma)));
        wpv = new Tensor(root.register_parameter("w_pv", pv, true));  // own handle: see Gpt2Model.param
        wkq = new Tensor(root.register_parameter("w_kq", kq, true));
    }

    /**
     * von Oswald et al.'s construction (papers.md §5, §9.7) in this parametrisation: W^KQ = [[η I, 0], [0, 0]],
     * W^PV = [[0, 0], [0, 1]], so ŷ_k = η x_qᵀ (1/k) Σ_{i&lt;k} y_i x_i: exactly one gradient-descent step from w = 0
     * with step η on (1/2k) Σ (y_i − wᵀx_i)² (the query's own y-slot is 0, so its outer product adds nothing).
     */
    public static LsaModel gradientDescentStep(int nDims, double eta, TensorOptions o) {
        LsaModel m = new LsaModel(nDims, 1.0, Rng.cpu(0), o);
        try (NoGradGuard g = new NoGradGuard()) {
            m.wpv.zero_();
            m.wpv.select(0, nDims).select(0, nDims).fill_(new Scalar(1.0));
            m.wkq.zero_();
            m.wkq.narrow(0, 0, nDims).narrow(1, 0, nDims).copy_(torch.eye(nDims, o).mul(new Scalar(eta)));
        }
        return m;
    }

    /** W^PV (d+1, d+1), the live parameter. */
    public Tensor wpv() {
        return wpv;
    }

    /** W^KQ (d+1, d+1), the live parameter. */
    public Tensor wkq() {
        return wkq;
    }

    /**
     * The matrix A of the learned predictor ŷ ≈ (1/k) Σ y_i x_iᵀ A x_q: W^PV[d, d] times the top-left block of W^KQ
     * (exact when the other blocks that reach the prediction, W^PV[d, :d] and W^KQ[d, :d], are zero, as at the
     * paper's minimum). Compared with Γ⁻¹ of {@link LsaClosedForm}.
     */
    public Tensor effectiveMatrix() {
        long d = wkq.size(0) - 1;
        return wkq.narrow(0, 0, d).narrow(1, 0, d).mul(wpv.select(0, d).select(0, d)).detach();
    }

    @Override
    public Module module() {
        return root;
    }

    @Override
    public String name() {
        return "Linear self-attention";
    }

    @Override
    public boolean lossOnAllPositions() {
        return false;
    }

    @Override
    public Tensor forward(Tensor xs, Tensor ys) {
        return forwardAtQueries(xs, ys, xs);
    }

    /**
     * The last position only (the training loss reads nothing else): the context's second-moment matrix C of the
     * first n-1 columns applied to W e_q as Zᵀ(Z W e_q), never formed, instead of the all-prefix sums {@link #forward}
     * forms; about n e times less memory. Equal to the last column of {@link #forward} up to rounding.
     */
    @Override
    public Tensor forwardForLoss(Tensor xs, Tensor ys) {
        long b = xs.size(0);
        long n = xs.size(1);
        long d = xs.size(2);
        if (n < 2) {
            return torch.zeros(new long[] {b, 1}, xs.options());
        }
        Tensor cols = torch.cat(new TensorVector(xs.narrow(1, 0, n - 1),
                ys.narrow(1, 0, n - 1).unsqueeze(2)), 2);                                            // (B, k, d+1)
        Tensor query = torch.cat(new TensorVector(xs.select(1, n - 1),
                torch.zeros(new long[] {b, 1}, xs.options())), 1);                                     // (B, e)
        Tensor u = torch.matmul(query, wkq.t());                                                       // W e_q
        // C u = Zᵀ(Z u) with Z the context columns: O(k e) a prompt instead of O(k e²) for C, and no per-prompt
        // BLAS call (libtorch's batched product calls the BLAS once a prompt, and MKL opens a parallel region for
        // each: 2000 regions a step at batch 1024, 7 steps/s against 100; benchmarks/results/workloads-cpu.md).
        Tensor zu = cols.mul(u.unsqueeze(1)).sum(new long[] {2}, false, new ScalarTypeOptional());     // (B, k)
        Tensor cu = cols.mul(zu.unsqueeze(2)).sum(new long[] {1}, false, new ScalarTypeOptional());    // (B, e)
        Tensor qu = query.mul(query.mul(u).sum(new long[] {1}, true, new ScalarTypeOptional()));
        Tensor v = wpv.select(0, d);
        return torch.matmul(cu.add(qu), v.unsqueeze(1)).div(new Scalar(n - 1));                        // (B, 1)
    }

    /** The query column (x_q; 0) is the only place x_k enters position k's prediction: no extra cost. */
    @Override
    public Tensor forwardAtQueries(Tensor xs, Tensor ys, Tensor queryXs) {
        long b = xs.size(0);
        long n = xs.size(1);
        long d = xs.size(2);
        if (queryXs.dim() != 3 || queryXs.size(0) != b || queryXs.size(1) != n || queryXs.size(2) != d) {
            throw new IllegalArgumentException("queries must have the shape of xs " + Tensors.shape(xs)
                    + "; got " + Tensors.shape(queryXs));
        }
        Tensor cols = torch.cat(new TensorVector(xs, ys.unsqueeze(2)), 2);      // (B, n, d+1)
        Tensor queries = torch.cat(new TensorVector(queryXs,
                torch.zeros(new long[] {b, n, 1}, xs.options())), 2);                                     // (B, n, d+1)
        Tensor outer = cols.unsqueeze(3).mul(cols.unsqueeze(2));                                          // (B, n, e, e)
        Tensor inclusive = torch.cumsum(outer, 1);
        Tensor context = inclusive.sub(outer);                                                            // sum_{i<k}
        Tensor u = torch.matmul(queries, wkq.t());                                                        // W e_q
        // C_k u_k elementwise: torch.matmul would call the BLAS once per (prompt, position), see forwardForLoss.
        Tensor cu = context.mul(u.unsqueeze(2)).sum(new long[] {3}, false, new ScalarTypeOptional());     // C_k u_k
        Tensor qu = queries.mul(queries.mul(u).sum(new long[] {2}, true, new ScalarTypeOptional()));
        Tensor v = wpv.select(0, d);
        Tensor raw = torch.matmul(cu.add(qu), v.unsqueeze(1)).squeeze(2);                                 // (B, n)
        Tensor k = torch.arange(new Scalar(0), new Scalar(n), xs.options()).clamp_min(new Scalar(1));
        Tensor notFirst = torch.arange(new Scalar(0), new Scalar(n), xs.options()).gt(new Scalar(0)).to(xs.scalar_type());
        return raw.div(k).mul(notFirst);
    }
}
