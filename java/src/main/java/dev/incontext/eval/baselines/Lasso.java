package dev.incontext.eval.baselines;

import dev.incontext.model.Predictor;
import dev.incontext.tasks.PromptBatch;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The lasso (Garg et al.'s LassoModel): for every prefix k of every prompt, w_k minimises
 * (1/(2k)) ||y - X w||^2 + alpha ||w||_1 over the first k examples, without intercept, and the prediction is
 * queries[b, k] . w_k (0 at k = 0).
 *
 * <p>Solver: all B n problems at once on the batch's device in float64, as ½ w^T G w - c^T w + alpha ||w||_1 with
 * G = X^T X / k and c = X^T y / k from prefix sums. FISTA (step 1/L, L = largest eigenvalue of G, with adaptive
 * momentum restart); every {@value #POLISH_EVERY} iterations each problem's current support and signs are polished
 * by solving G_SS w_S = c_S - alpha sign(w_S) exactly, and a problem is done once either its iterate or its polished
 * solution satisfies the optimality (KKT) conditions to the stated tolerance: with g = c - G w,
 * |g_j - alpha sign(w_j)| where w_j != 0 and max(|g_j| - alpha, 0) where w_j = 0, all at most
 * {@value #TOLERANCE} * max(||c||_inf, alpha). Finished problems leave the working set. A problem still open after
 * {@code maxIterations} makes {@link #predict} throw, naming alpha, how many problems and the worst violation (the
 * reference turns sklearn's ConvergenceWarning into an error too): never a silently unconverged fit.
 *
 * <p>Cost: B n d^2 float64 memory for the Gram matrices, one batched eigenvalue problem, then per iteration one
 * batched (d x d) matrix-vector product over the open problems; typically a few hundred iterations. Same cost for the
 * query path (only the final dot product changes).
 */
public record Lasso(double alpha, int maxIterations) implements Predictor {
    /** Relative KKT tolerance (see the class comment). */
    public static final double TOLERANCE = 1e-6;
    static final int POLISH_EVERY = 20;
    public static final int DEFAULT_MAX_ITERATIONS = 100_000;

    public Lasso {
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("lasso: alpha must be a finite number > 0; got " + alpha);
        }
        if (maxIterations < 1) {
            throw new IllegalArgumentException("lasso: maxIterations must be >= 1; got " + maxIterations);
        }
    }

    public Lasso(double alpha) {
        this(alpha, DEFAULT_MAX_ITERATIONS);
    }

    @Override
    public Tensor predict(PromptBatch batch, Tensor queries) {
        Tensor q = PrefixMoments.queries(batch, queries);
        Tensor w = weights(batch.xs(), batch.ys());
        return PrefixMoments.finish(q.mul(w).sum(new long[] {2}, false, null), batch, name());
    }

    @Override
    public String name() {
        return "Lasso (alpha=" + alpha + ")";
    }

    /**
     * The fitted weights (B, n, d) float64 on the device of xs: entry [b, k] minimises the objective over the first k
     * points of prompt b (zero at k = 0). Throws IllegalStateException if any problem fails to converge.
     */
    public Tensor weights(Tensor xs, Tensor ys) {
        Tensor x = PrefixMoments.f64(xs);
        Tensor y = PrefixMoments.f64(ys);
        long b = x.size(0);
        long n = x.size(1);
        long d = x.size(2);
        long p = b * n;
        Tensor gAll = PrefixMoments.gram(x).reshape(p, d, d);
        Tensor cAll = PrefixMoments.xty(x, y).reshape(p, d);
        Tensor result = torch.zeros(new long[] {p, d}, cAll.options());
        Tensor scale = cAll.abs().amax(new long[] {1}, false).clamp_min(new Scalar(alpha));
        Tensor tolAll = scale.mul(new Scalar(TOLERANCE));
        // w = 0 is the solution wherever ||c||_inf <= alpha (every k = 0 among them).
        Tensor open = torch.nonzero(violation(gAll, cAll, result).gt(tolAll)).squeeze(1);
        if (open.size(0) == 0) {
            return result.view(b, n, d);
        }
        Tensor g = gAll.index_select(0, open);
        Tensor c = cAll.index_select(0, open);
        Tensor tol = tolAll.index_select(0, open);
        Tensor lip = torch.linalg_eigvalsh(g).amax(new long[] {1}, false).clamp_min(new Scalar(1e-300));
        Tensor step = lip.reciprocal().unsqueeze(1);                 // (P, 1)
        Tensor thresh = step.mul(new Scalar(alpha));                 // (P, 1)
        Tensor w = torch.zeros_like(c);
        Tensor z = torch.zeros_like(c);
        Tensor t = torch.ones(new long[] {c.size(0), 1}, c.options());
        double worst = Double.NaN;
        for (int it = 1; it <= maxIterations; it++) {
            Tensor grad = torch.bmm(g, z.unsqueeze(2)).squeeze(2).sub(c);
            Tensor u = z.sub(grad.mul(step));
            Tensor wNew = u.sign().mul(u.abs().sub(thresh).clamp_min(new Scalar(0)));
            Tensor tNew = t.mul(t).mul(new Scalar(4)).add(new Scalar(1)).sqrt().add(new Scalar(1)).div(new Scalar(2));
            // Restart the momentum where it points uphill (O'Donoghue & Candes' gradient scheme).
            Tensor restart = z.sub(wNew).mul(wNew.sub(w)).sum(new long[] {1}, true, null).gt(new Scalar(0));
            tNew = torch.where(restart, new Scalar(1.0), tNew);
            Tensor beta = torch.where(restart, new Scalar(0.0), t.sub(new Scalar(1)).div(tNew));
            z = wNew.add(wNew.sub(w).mul(beta));
            w = wNew;
            t = tNew;
            if (it % POLISH_EVERY != 0 && it != maxIterations) {
                continue;
            }
            Tensor polished = polish(g, c, w);
            Tensor vIter = violation(g, c, w);
            Tensor vPol = violation(g, c, polished);
            Tensor usePol = vPol.le(vIter);
            Tensor best = torch.where(usePol.unsqueeze(1), polished, w);
            Tensor vBest = torch.minimum(vIter, vPol);
            Tensor done = vBest.le(tol);
            Tensor doneIdx = torch.nonzero(done).squeeze(1);
            if (doneIdx.size(0) > 0) {
                result.index_copy_(0, open.index_select(0, doneIdx), best.index_select(0, doneIdx));
            }
            Tensor keep = torch.nonzero(done.logical_not()).squeeze(1);
            if (keep.size(0) == 0) {
                return result.view(b, n, d);
            }
            worst = vBest.index_select(0, keep).div(tol.index_select(0, keep)).max().item_double();
            if (keep.size(0) < done.size(0)) {
                open = open.index_select(0, keep);
                g = g.index_select(0, keep);
                c = c.index_select(0, keep);
                tol = tol.index_select(0, keep);
                step = step.index_select(0, keep);
                thresh = thresh.index_select(0, keep);
                w = w.index_select(0, keep);
                z = z.index_select(0, keep);
                t = t.index_select(0, keep);
            }
        }
        throw new IllegalStateException("lasso (alpha=" + alpha + "): " + open.size(0) + " of " + p
                + " prefix problems did not converge within " + maxIterations + " iterations; worst KKT violation "
                + worst + " times the tolerance (" + TOLERANCE + " * max(||X^T y / k||_inf, alpha))");
    }

    /** Max KKT violation (P) of weights w (P, d) for the problems (G, c). */
    Tensor violation(Tensor g, Tensor c, Tensor w) {
        Tensor grad = c.sub(torch.bmm(g, w.unsqueeze(2)).squeeze(2));          // X^T (y - X w) / k
        Tensor nonzero = w.ne(new Scalar(0));
        Tensor onSupport = grad.sub(w.sign().mul(new Scalar(alpha))).abs();
        Tensor offSupport = grad.abs().sub(new Scalar(alpha)).clamp_min(new Scalar(0));
        return torch.where(nonzero, onSupport, offSupport).amax(new long[] {1}, false);
    }

    /**
     * Solves each problem exactly on the support and signs of w: G_SS v_S = c_S - alpha sign(w_S), v = 0 off S.
     * Problems whose reduced system is singular keep w.
     */
    private Tensor polish(Tensor g, Tensor c, Tensor w) {
        Tensor s = w.ne(new Scalar(0)).to(torch.ScalarType.Double);          // (P, d)
        Tensor outer = s.unsqueeze(2).mul(s.unsqueeze(1));
        Tensor eye = torch.eye(g.size(1), g.options()).unsqueeze(0);
        Tensor m = g.mul(outer).add(eye.mul(s.mul(new Scalar(-1)).add(new Scalar(1)).unsqueeze(2)));
        Tensor rhs = c.sub(w.sign().mul(new Scalar(alpha))).mul(s);
        T_TensorTensor_T solved = torch.linalg_solve_ex(m, rhs.unsqueeze(2), true, false);
        Tensor v = solved.get0().squeeze(2).mul(s);
        Tensor ok = solved.get1().eq(new Scalar(0)).logical_and(torch.isfinite(v).all(1)).unsqueeze(1);
        return torch.where(ok, v, w);
    }
}
