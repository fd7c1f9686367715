package dev.incontext.eval.baselines;

import dev.incontext.model.Predictor;
import dev.incontext.tasks.PromptBatch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The lasso (Garg et al.'s LassoModel): for every prefix k of every prompt, w_k minimises
 * (1/(2k)) ||y - X w||^2 + alpha ||w||_1 over the first k examples, without intercept, and the prediction is
 * queries[b, k] . w_k (0 at k = 0).
 *
 * <p>Solver: all B n problems at once on the batch's device in float64, as ½ w^T G w - c^T w + alpha ||w||_1 with
 * G = X^T X / k and c = X^T y / k from prefix sums. First the exact lasso path (LARS with the lasso modification,
 * batched: one masked d x d solve per event, a few dozen events), then a check of the optimality (KKT) conditions.
 * Problems the path leaves unsolved (degenerate data, or more than 20 d + 20 events) continue with FISTA (step 1/L,
 * L = largest eigenvalue of G, adaptive momentum restart) from the path's weights; every {@value #POLISH_EVERY}
 * iterations each problem's current support and signs are polished by solving G_SS w_S = c_S - alpha sign(w_S)
 * exactly. A problem is done once its weights satisfy the KKT conditions to the stated tolerance: with g = c - G w,
 * |g_j - alpha sign(w_j)| where w_j != 0 and max(|g_j| - alpha, 0) where w_j = 0, all at most
 * {@value #TOLERANCE} * max(||c||_inf, alpha). Finished problems leave the working set. A problem still open after
 * {@code maxIterations} makes {@link #predict} throw, naming alpha, how many problems and the worst violation (the
 * reference turns sklearn's ConvergenceWarning into an error too): never a silently unconverged fit.
 *
 * <p>Cost: B n d^2 float64 memory for the Gram matrices and one batched d x d solve per path event (0.2 to 0.4 s
 * for 64 prompts x 41 points x d = 20 on two busy CPU cores, whatever alpha), plus, rarely, FISTA iterations (a
 * batched matrix-vector product each) for the problems left open. {@code maxIterations} caps both the path's events
 * and FISTA's iterations. Same cost for the query path (only the final dot product changes).
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
        return weights(xs, ys, true);
    }

    /** {@link #weights(Tensor, Tensor)}; without {@code path}, FISTA alone from w = 0 (tests its fallback role). */
    Tensor weights(Tensor xs, Tensor ys, boolean path) {
        Tensor x = PrefixMoments.f64(xs);
        Tensor y = PrefixMoments.f64(ys);
        long b = x.size(0);
        long n = x.size(1);
        long d = x.size(2);
        long p = b * n;
        Tensor g = PrefixMoments.gram(x).reshape(p, d, d);
        Tensor c = PrefixMoments.xty(x, y).reshape(p, d);
        Tensor tol = c.abs().amax(new long[] {1}, false).clamp_min(new Scalar(alpha)).mul(new Scalar(TOLERANCE));
        Tensor w = path ? homotopy(g, c, Math.min(maxIterations, 20 * (int) d + 20)) : torch.zeros_like(c);
        Tensor open = torch.nonzero(violation(g, c, w).gt(tol)).squeeze(1);
        if (open.size(0) > 0) {
            Tensor rest = proximalGradient(g.index_select(0, open), c.index_select(0, open),
                    tol.index_select(0, open), w.index_select(0, open), p);
            w.index_copy_(0, open, rest);
        }
        return w.view(b, n, d);
    }

    /**
     * The lasso path (LARS with the lasso modification) from lambda = ||c||_inf, where w = 0, down to alpha, for all
     * problems at once: along a segment the active set A and signs theta are fixed and w_A = G_AA^-1 (c_A - lambda
     * theta_A) moves linearly; a segment ends where an inactive |g_j| reaches lambda (j joins), an active w_j reaches 0
     * (j leaves) or lambda reaches alpha (done). About one batched d x d solve per event, and the number of events is
     * typically below 2 min(k, d). Returns the final weights, solved exactly on the final active set; problems that
     * need more than {@code maxSteps} events (or hit a singular active set) are left to the caller's KKT check.
     */
    private Tensor homotopy(Tensor g, Tensor c, int maxSteps) {
        long p = c.size(0);
        long d = c.size(1);
        Tensor eye = torch.eye(d, g.options()).unsqueeze(0);
        Tensor lam = c.abs().amax(new long[] {1}, false);                     // (P)
        Tensor done = lam.le(new Scalar(alpha));
        Tensor first = torch.one_hot(c.abs().argmax(new LongOptional(1), false), d)
                .to(torch.ScalarType.Double).mul(done.logical_not().unsqueeze(1).to(torch.ScalarType.Double));
        Tensor active = first.clone();                                         // (P, d) 0/1
        Tensor theta = c.sign().mul(first);
        Tensor w = torch.zeros_like(c);
        Tensor grad = c.clone();                                               // c - G w
        Tensor dropped = torch.zeros_like(c);
        double inf = Double.POSITIVE_INFINITY;
        for (int step = 0; step < maxSteps; step++) {
            // The path's state is updated in place, so each step's temporaries are freed with its scope.
            try (PointerScope scope = new PointerScope()) {
                if (done.all().item_bool()) {
                    break;
                }
                Tensor v = solveOn(g, eye, active, theta);                      // G_AA^-1 theta_A, zero off A
                Tensor u = torch.bmm(g, v.unsqueeze(2)).squeeze(2);            // G v
                Tensor tiny = lam.mul(new Scalar(1e-12)).unsqueeze(1);
                Tensor lamCol = lam.unsqueeze(1);
                Tensor free = active.add(dropped).eq(new Scalar(0));
                // An inactive j joins when |g_j - delta u_j| reaches lambda - delta, from above or below.
                Tensor dPlus = lamCol.sub(grad).div(u.mul(new Scalar(-1)).add(new Scalar(1)));
                Tensor dMinus = lamCol.add(grad).div(u.add(new Scalar(1)));
                Tensor okPlus = free.logical_and(u.lt(new Scalar(1 - 1e-12))).logical_and(dPlus.gt(tiny));
                Tensor okMinus = free.logical_and(u.gt(new Scalar(-1 + 1e-12))).logical_and(dMinus.gt(tiny));
                Tensor join = torch.minimum(torch.where(okPlus, dPlus, new Scalar(inf)),
                        torch.where(okMinus, dMinus, new Scalar(inf)));
                // An active j leaves when w_j + delta v_j reaches 0.
                Tensor dDrop = w.neg().div(torch.where(v.eq(new Scalar(0)), new Scalar(1.0), v));
                Tensor okDrop = active.gt(new Scalar(0)).logical_and(v.ne(new Scalar(0))).logical_and(dDrop.gt(tiny));
                Tensor leave = torch.where(okDrop, dDrop, new Scalar(inf));
                var joinMin = join.min(1, false);
                var leaveMin = leave.min(1, false);
                Tensor dStop = lam.sub(new Scalar(alpha));
                Tensor isStop = dStop.le(torch.minimum(joinMin.get0(), leaveMin.get0())).logical_or(done);
                Tensor isLeave = isStop.logical_not().logical_and(leaveMin.get0().lt(joinMin.get0()));
                Tensor isJoin = isStop.logical_not().logical_and(isLeave.logical_not());
                Tensor delta = torch.minimum(dStop, torch.minimum(joinMin.get0(), leaveMin.get0()))
                        .masked_fill(done, new Scalar(0.0)).unsqueeze(1);
                Tensor leaveHot = torch.one_hot(leaveMin.get1(), d).to(torch.ScalarType.Double)
                        .mul(isLeave.unsqueeze(1).to(torch.ScalarType.Double));
                Tensor joinHot = torch.one_hot(joinMin.get1(), d).to(torch.ScalarType.Double)
                        .mul(isJoin.unsqueeze(1).to(torch.ScalarType.Double));
                Tensor keep = leaveHot.mul(new Scalar(-1)).add(new Scalar(1));
                w.add_(v.mul(delta)).mul_(keep);
                grad.sub_(u.mul(delta));
                lam.sub_(delta.squeeze(1));
                active.mul_(keep).add_(joinHot);
                theta.mul_(keep).add_(grad.sign().mul(joinHot));
                dropped.copy_(leaveHot);
                done.logical_or_(isStop);
            }
        }
        // The final weights solved exactly on the final active set and signs (no drift from the incremental steps).
        Tensor exact = solveOn(g, eye, active, c.sub(theta.mul(new Scalar(alpha))));
        return torch.where(done.unsqueeze(1), exact, w);
    }

    /** Solves G_AA z_A = rhs_A for every problem (z = 0 off A); rows whose system is singular give zeros. */
    private static Tensor solveOn(Tensor g, Tensor eye, Tensor active, Tensor rhs) {
        Tensor m = g.mul(active.unsqueeze(2).mul(active.unsqueeze(1)))
                .add(eye.mul(active.mul(new Scalar(-1)).add(new Scalar(1)).unsqueeze(2)));
        T_TensorTensor_T solved = torch.linalg_solve_ex(m, rhs.mul(active).unsqueeze(2), true, false);
        Tensor z = solved.get0().squeeze(2).mul(active);
        Tensor ok = solved.get1().eq(new Scalar(0)).logical_and(torch.isfinite(z).all(1)).unsqueeze(1);
        return torch.where(ok, z, new Scalar(0.0));
    }

    /**
     * The fallback for the problems the path leaves open: FISTA from their current weights with periodic exact
     * polishing (see the class comment), until every KKT violation is within {@code tol} or the iterations run out.
     */
    private Tensor proximalGradient(Tensor g, Tensor c, Tensor tol, Tensor w0, long total) {
        Tensor result = w0.clone();
        Tensor open = torch.arange(new Scalar(0), new Scalar(c.size(0)), c.options().dtype(
                new ScalarTypeOptional(torch.ScalarType.Long)));
        Tensor lip = torch.linalg_eigvalsh(g).amax(new long[] {1}, false).clamp_min(new Scalar(1e-300));
        Tensor step = lip.reciprocal().unsqueeze(1);                 // (P, 1)
        Tensor thresh = step.mul(new Scalar(alpha));                 // (P, 1)
        Tensor w = w0.clone();
        Tensor z = w0.clone();
        Tensor t = torch.ones(new long[] {c.size(0), 1}, c.options());
        Tensor finished = torch.zeros(new long[] {c.size(0)}, c.options()).gt(new Scalar(0));
        double worst = violation(g, c, w0).div(tol).max().item_double();
        for (int it = 1; it <= maxIterations; it++) {
            boolean check = it % POLISH_EVERY == 0 || it == maxIterations;
            long closed = 0;
            // The iterates are updated in place, so each iteration's temporaries are freed with its scope.
            try (PointerScope scope = new PointerScope()) {
                Tensor grad = torch.bmm(g, z.unsqueeze(2)).squeeze(2).sub(c);
                Tensor u = z.sub(grad.mul(step));
                Tensor wNew = u.sign().mul(u.abs().sub(thresh).clamp_min(new Scalar(0)));
                Tensor tNew = t.mul(t).mul(new Scalar(4)).add(new Scalar(1)).sqrt().add(new Scalar(1))
                        .div(new Scalar(2));
                // Restart the momentum where it points uphill (O'Donoghue & Candes' gradient scheme).
                Tensor restart = z.sub(wNew).mul(wNew.sub(w)).sum(new long[] {1}, true, null).gt(new Scalar(0));
                tNew = torch.where(restart, new Scalar(1.0), tNew);
                Tensor beta = torch.where(restart, new Scalar(0.0), t.sub(new Scalar(1)).div(tNew));
                z.copy_(wNew.add(wNew.sub(w).mul(beta)));
                w.copy_(wNew);
                t.copy_(tNew);
                if (check) {
                    Tensor polished = polish(g, c, w);
                    Tensor vIter = violation(g, c, w);
                    Tensor vPol = violation(g, c, polished);
                    Tensor best = torch.where(vPol.le(vIter).unsqueeze(1), polished, w);
                    Tensor vBest = torch.minimum(vIter, vPol);
                    Tensor doneNow = vBest.le(tol);
                    Tensor doneIdx = torch.nonzero(doneNow).squeeze(1);
                    closed = doneIdx.size(0);
                    if (closed > 0) {
                        result.index_copy_(0, open.index_select(0, doneIdx), best.index_select(0, doneIdx));
                    }
                    if (closed < doneNow.size(0)) {
                        worst = vBest.masked_fill(doneNow, new Scalar(0.0)).div(tol).max().item_double();
                    }
                    finished.copy_(doneNow);
                }
            }
            if (closed == open.size(0)) {
                return result;
            }
            if (closed > 0) {    // drop the finished problems from the working set
                Tensor keep = torch.nonzero(finished.logical_not()).squeeze(1);
                open = open.index_select(0, keep);
                g = g.index_select(0, keep);
                c = c.index_select(0, keep);
                tol = tol.index_select(0, keep);
                step = step.index_select(0, keep);
                thresh = thresh.index_select(0, keep);
                w = w.index_select(0, keep);
                z = z.index_select(0, keep);
                t = t.index_select(0, keep);
                finished = finished.index_select(0, keep);
            }
        }
        throw new IllegalStateException("lasso (alpha=" + alpha + "): " + open.size(0) + " of " + total
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
