package dev.incontext.eval.baselines;

import dev.incontext.config.RunConfig.TaskConfig;
import dev.incontext.config.RunConfig.XDistribution;
import dev.incontext.model.Predictor;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.util.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Full-batch gradient descent on each prefix's squared loss (1/(2k)) ||y - X w||^2, from w = 0, for {@code steps}
 * steps: w <- w - eta (G w - c) with G = X^T X / k, c = X^T y / k; the prediction is queries[b, k] . w (0 at k = 0).
 *
 * <p>Step size: {@code eta} when given (> 0); otherwise, per prefix, the optimal step for ONE step from 0 with i.i.d.
 * input coordinates of variance s and kurtosis m₄/s² (papers.md §9.7): eta* = k / (s (k + m₄/s² + d − 2)), with d the
 * batch's active dimensions: k / (s (k + d + 1)) for Gaussian inputs (normalised risk (d + 1)/(k + d + 1), the Zhang
 * et al. LSA optimum) and k / (s (k + d − 0.2)) for uniform ones. The Gaussian-based distributions (skewed, half
 * subspace, orthants, random diagonal) use the Gaussian value with s the mean per-coordinate variance (x_scale², times
 * cov_scale for random_diagonal); it is exactly optimal only for isotropic and uniform inputs. With several steps the
 * same eta is reused, which is not the multi-step optimum.
 *
 * <p>Cost, on the batch's device in float64: one step needs only the prefix sums of y x (B n d); more steps need the
 * prefix Gram matrices (B n d^2 memory) and one batched matrix-vector product per step. The query path costs the
 * same.
 */
public record GradientDescent(int steps, double eta, double inputVariance, double kurtosis) implements Predictor {
    /** Gaussian inputs (kurtosis 3). */
    public GradientDescent(int steps, double eta, double inputVariance) {
        this(steps, eta, inputVariance, 3.0);
    }

    public GradientDescent {
        if (!(kurtosis >= 1) || Double.isInfinite(kurtosis)) {
            throw new IllegalArgumentException("gd: input kurtosis must be a finite number >= 1; got " + kurtosis);
        }
        if (steps < 1) {
            throw new IllegalArgumentException("gd: STEPS must be >= 1; got " + steps);
        }
        if (!Double.isNaN(eta) && (!(eta > 0) || Double.isInfinite(eta))) {
            throw new IllegalArgumentException("gd: ETA must be a finite number > 0; got " + eta);
        }
        if (!(inputVariance > 0) || Double.isInfinite(inputVariance)) {
            throw new IllegalArgumentException("gd: input variance must be a finite number > 0; got " + inputVariance);
        }
    }

    /** {@code steps} steps with the one-step optimal eta* for isotropic Gaussian inputs of variance 1. */
    public static GradientDescent optimal(int steps) {
        return new GradientDescent(steps, Double.NaN, 1.0);
    }

    /** The per-coordinate input variance of a task's input distribution (see the class comment). */
    public static double inputVariance(TaskConfig task) {
        double s = task.xScale() * task.xScale();
        return task.xDistribution() == XDistribution.RANDOM_DIAGONAL ? s * task.covScale() : s;
    }

    /** m₄/s² of one input coordinate: 1.8 for uniform inputs, 3 for the Gaussian-based ones. */
    public static double inputKurtosis(TaskConfig task) {
        return task.xDistribution() == XDistribution.UNIFORM ? 1.8 : 3.0;
    }

    @Override
    public Tensor predict(PromptBatch batch, Tensor queries) {
        Tensor x = PrefixMoments.f64(batch.xs());
        Tensor y = PrefixMoments.f64(batch.ys());
        Tensor q = PrefixMoments.queries(batch, queries);
        long n = x.size(1);
        Tensor etas;   // (1, n, 1)
        if (Double.isNaN(eta)) {
            Tensor k = torch.arange(new Scalar(0), new Scalar(n), x.options());
            int d = batch.activeDims();
            etas = k.div(k.add(new Scalar(kurtosis + d - 2)).mul(new Scalar(inputVariance))).view(1, n, 1);
        } else {
            etas = torch.full(new long[] {1, n, 1}, new Scalar(eta), x.options());
        }
        Tensor c = PrefixMoments.xty(x, y);
        Tensor w = c.mul(etas);                                  // the first step from 0
        if (steps > 1) {
            Tensor g = PrefixMoments.gram(x);                     // (B, n, d, d)
            for (int s = 1; s < steps; s++) {
                try (PointerScope scope = new PointerScope()) {   // frees each step's temporaries
                    Tensor grad = torch.matmul(g, w.unsqueeze(3)).squeeze(3).sub(c);
                    w.sub_(grad.mul(etas));
                }
            }
        }
        Tensor pred = q.mul(w).sum(new long[] {2}, false, null);
        if (!Tensors.allFinite(pred)) {
            throw new IllegalStateException(name() + ": gradient descent diverged (non-finite predictions): the step "
                    + "size is too large for some prefix; pass a smaller one with gd:STEPS:ETA");
        }
        return PrefixMoments.finish(pred, batch, name());
    }

    @Override
    public String name() {
        String s = "GD (" + steps + (steps == 1 ? " step" : " steps");
        return s + (Double.isNaN(eta) ? ")" : ", eta=" + eta + ")");
    }
}
