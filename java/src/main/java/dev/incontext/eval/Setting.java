package dev.incontext.eval;

import static dev.incontext.ops.Rng.opt;

import dev.incontext.config.RunConfig.TaskConfig;
import dev.incontext.config.RunConfig.TaskKind;
import dev.incontext.config.RunConfig.XDistribution;
import dev.incontext.tasks.InputDistribution;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.tasks.TaskFamily;
import dev.incontext.tasks.TaskSampler;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * One evaluation setting: where prompts come from, where each position's query comes from, and what the error is
 * divided by (papers.md §1.6, §2.4–2.5). Every setting states its normaliser as E[y_q²] under its own distribution, so
 * the zero predictor scores 1 in every regression setting and the trivial line is drawn where it really lies; a test
 * checks this by Monte Carlo for every setting. (Accuracy is not normalised; its trivial line is chance, see
 * {@link Metric}.)
 *
 * <p>Cost beyond the training-distribution evaluation is stated per setting. Settings with separate queries use the
 * predictors' query path ({@link dev.incontext.model.Predictor#predict(PromptBatch, Tensor)}): one extra query stream
 * for a transformer (about 1.6x a forward pass), nothing extra for the prefix ops.
 */
public sealed interface Setting {
    /** A short identifier for file names and tables, e.g. {@code scale_x_2}. */
    String id();

    /** One line for reports: what is shifted and how. */
    String description();

    /** The task distribution the prompts are drawn from, given the one the model was trained on. */
    TaskConfig task(TaskConfig trained);

    /** Why this setting cannot evaluate a model trained on {@code trained}, or empty when it can. */
    default Optional<String> unsupported(TaskConfig trained, int trainedPoints, int modelPositions) {
        return Optional.empty();
    }

    /** Points per prompt: the training length by default. */
    default int points(int trainedPoints, int modelPositions) {
        return trainedPoints;
    }

    /** Draws the prompts (B, n). */
    default PromptBatch prompts(TaskSampler sampler, long batch, int points, Generator gen) {
        return sampler.sample(batch, points, sampler.nDims(), gen);
    }

    /** The query of each position (B, n, d), or null when the query is the prompt's own x_k. */
    default Tensor queries(PromptBatch prompts, TaskSampler sampler, Generator gen) {
        return null;
    }

    /** Positions k at which the setting is defined (all by default; the orthogonal query needs k &lt; d). */
    default int scoredPositions(int points, int nDims) {
        return points;
    }

    /**
     * True when the prompts of one evaluation batch share a random draw (Zhang's covariance), so they are not
     * independent: the batch, not the prompt, is then the unit the bootstrap resamples ({@link Evaluator}).
     */
    default boolean groupedByBatch() {
        return false;
    }

    /**
     * E[y_q²] of the targets under this setting: the squared error is divided by it. {@code base} is the task
     * family's own normalisation under the training distribution (d for linear regression, s for sparse, ...).
     */
    default double normaliser(TaskConfig trained) {
        TaskConfig t = task(trained);
        if (linear(t)) {
            double cov = t.xDistribution() == XDistribution.RANDOM_DIAGONAL ? t.covScale() : 1.0;
            return linearSecondMoment(t, t.xScale() * t.xScale() * cov);
        }
        return TaskFamily.of(t).normalisation(t.nDims());
    }

    /**
     * E y² of a linear family when each input coordinate has variance {@code xVariance}: (d or s) * y_scale² *
     * xVariance, plus the noise variance; d after renormalisation (which rescales signal and noise to E y² = d).
     */
    private static double linearSecondMoment(TaskConfig t, double xVariance) {
        if (t.name() == TaskKind.NOISY_LINEAR_REGRESSION && t.renormalizeYs()) {
            return t.nDims();
        }
        double active = t.name() == TaskKind.SPARSE_LINEAR_REGRESSION ? t.sparsity() : t.nDims();
        double noise = t.name() == TaskKind.NOISY_LINEAR_REGRESSION ? t.noiseStd() * t.noiseStd() : 0.0;
        return active * t.yScale() * t.yScale() * xVariance + noise;
    }

    private static boolean linear(TaskConfig t) {
        return TaskFamily.of(t).linear();
    }

    private static Optional<String> linearOnly(TaskConfig trained, String what) {
        return linear(trained) ? Optional.empty()
                : Optional.of(what + " is defined for the linear regression families (its normaliser and closed forms "
                        + "assume y = x.w); the model was trained on " + trained.name().name().toLowerCase(Locale.ROOT));
    }

    /** The training distribution. No extra cost. */
    record Standard() implements Setting {
        public String id() {
            return "standard";
        }

        public String description() {
            return "the training distribution";
        }

        public TaskConfig task(TaskConfig trained) {
            return trained;
        }
    }

    /**
     * Garg's skewed covariance (eigenvalues 1/(i+1), trace d) or half subspace (x in a d/2-dimensional subspace,
     * covariance 2P, trace d); the same fixed rotation for every prompt. Trace d keeps E y² = d. No extra cost.
     */
    record Covariance(XDistribution kind) implements Setting {
        public Covariance {
            if (kind != XDistribution.SKEWED && kind != XDistribution.HALF_SUBSPACE) {
                throw new IllegalArgumentException("Covariance takes skewed or half_subspace; got " + kind);
            }
        }

        public String id() {
            return kind.name().toLowerCase(Locale.ROOT);
        }

        public String description() {
            return kind == XDistribution.SKEWED ? "skewed covariance: eigenvalues 1/(i+1), rescaled to trace d"
                    : "half subspace: x in a random d/2-dimensional subspace, covariance 2P";
        }

        public TaskConfig task(TaskConfig t) {
            return t.with(Map.of("x_distribution", kind));
        }

        public Optional<String> unsupported(TaskConfig trained, int points, int positions) {
            return linearOnly(trained, id());
        }
    }

    /**
     * Garg's random quadrants: prompt points |z| * s with one random sign pattern s per prompt, and a fresh Gaussian
     * query at every position (papers.md §9.6: an LSA-like predictor scores (4/π²)(d−1), least squares 0 for k ≥ d).
     * Cost: one query draw and the query path.
     */
    record OrthantsGaussianQuery() implements Setting {
        public String id() {
            return "orthants";
        }

        public String description() {
            return "prompt x's in one random orthant per prompt, fresh Gaussian query";
        }

        public TaskConfig task(TaskConfig t) {
            return t.with(Map.of("x_distribution", XDistribution.ORTHANTS));
        }

        public Optional<String> unsupported(TaskConfig trained, int points, int positions) {
            return linearOnly(trained, id());
        }

        public Tensor queries(PromptBatch p, TaskSampler s, Generator gen) {
            Tensor z = torch.randn(new long[] {p.batchSize(), p.points(), p.dims()}, opt(gen), p.xs().options());
            return z.mul(new Scalar(s.config().xScale()));
        }
    }

    /**
     * Garg's orthogonal query: the query at position k is x_k with its projection on span(x_0..x_{k-1}) removed,
     * rescaled to |x_k|; defined for k &lt; d (scored there only). One batched QR of the prompt: the k-th column of
     * Q (of X^T = QR) times sign(R_kk) is exactly that direction. Cost: one (d x n) QR per prompt, and the query path.
     */
    record OrthogonalQuery() implements Setting {
        public String id() {
            return "orthogonal_query";
        }

        public String description() {
            return "query orthogonal to the earlier prompt points, same norm as x_k (k < d only)";
        }

        public TaskConfig task(TaskConfig t) {
            return t;
        }

        public Optional<String> unsupported(TaskConfig trained, int points, int positions) {
            return linearOnly(trained, id());
        }

        public int scoredPositions(int points, int nDims) {
            return Math.min(points, nDims);
        }

        public Tensor queries(PromptBatch p, TaskSampler s, Generator gen) {
            long n = p.points();
            long d = p.dims();
            long m = Math.min(n, d);
            Tensor xs = p.xs().narrow(1, 0, m);
            var qr = torch.linalg_qr(xs.transpose(1, 2).to(torch.ScalarType.Double));   // Q (B, d, m), R (B, m, m)
            Tensor sign = torch.diagonal(qr.get1(), 0, 1, 2).sign();                       // (B, m)
            sign = sign.add(sign.eq(new Scalar(0)).to(sign.scalar_type()));                // R_kk = 0: x_k in the span
            Tensor dirs = qr.get0().mul(sign.unsqueeze(1)).transpose(1, 2);                // (B, m, d)
            Tensor norms = torch.linalg_vector_norm(xs.to(torch.ScalarType.Double), new Scalar(2),
                    new long[] {2}, true, new ScalarTypeOptional());
            Tensor q = p.xs().clone();
            q.narrow(1, 0, m).copy_(dirs.mul(norms).to(p.xs().scalar_type()));
            return q;
        }
    }

    /**
     * Garg's overlapping query: the query at position k is one of x_0..x_{k-1}, chosen uniformly (x_0 itself at
     * k = 0, where there is nothing earlier). Least squares scores 0 for every k ≥ 1. Cost: the query path.
     */
    record OverlappingQuery() implements Setting {
        public String id() {
            return "overlapping_query";
        }

        public String description() {
            return "query equal to an earlier prompt point chosen uniformly";
        }

        public TaskConfig task(TaskConfig t) {
            return t;
        }

        public Optional<String> unsupported(TaskConfig trained, int points, int positions) {
            return linearOnly(trained, id());
        }

        public Tensor queries(PromptBatch p, TaskSampler s, Generator gen) {
            long b = p.batchSize();
            long n = p.points();
            TensorOptions o = p.xs().options();
            Tensor u = torch.rand(new long[] {b, n}, opt(gen), o.dtype(new ScalarTypeOptional(
                    torch.ScalarType.Double)));
            Tensor k = torch.arange(new Scalar(0), new Scalar(n), u.options()).clamp_min(new Scalar(1));
            Tensor idx = u.mul(k).floor().to(torch.ScalarType.Long);                        // uniform in [0, k)
            return torch.gather(p.xs(), 1, idx.unsqueeze(2).expand(b, n, p.dims()));
        }
    }

    /**
     * x scaled by c (Garg's scale-x: t = U(cI)U^T = cI). E y² = c² d, so the normalised error of least squares is
     * unchanged and the zero predictor still scores 1. No extra cost.
     */
    record ScaleX(double c) implements Setting {
        public ScaleX {
            if (!(c > 0) || Double.isInfinite(c)) {
                throw new IllegalArgumentException("scale must be > 0; got " + c);
            }
        }

        public String id() {
            return "scale_x_" + number(c);
        }

        public String description() {
            return "x scaled by " + number(c);
        }

        public TaskConfig task(TaskConfig t) {
            return t.with(Map.of("x_scale", t.xScale() * c));
        }

        public Optional<String> unsupported(TaskConfig trained, int points, int positions) {
            return linearOnly(trained, id());
        }
        // The normaliser is the interface's: the scaled task's second moment, cov_scale included.
    }

    /** y scaled by c (Garg's scale-y: the task's scale). E y² = c² d. No extra cost. */
    record ScaleY(double c) implements Setting {
        public ScaleY {
            if (!(c > 0) || Double.isInfinite(c)) {
                throw new IllegalArgumentException("scale must be > 0; got " + c);
            }
        }

        public String id() {
            return "scale_y_" + number(c);
        }

        public String description() {
            return "y scaled by " + number(c);
        }

        public TaskConfig task(TaskConfig t) {
            return t.with(Map.of("y_scale", t.yScale() * c));
        }

        public Optional<String> unsupported(TaskConfig trained, int points, int positions) {
            return linearOnly(trained, id());
        }
    }

    /**
     * Garg's noisyLR: y = x.w + N(0, σ²), renormalised to E y² = d with one batch-wide std, scored against the noisy
     * target. No extra cost.
     */
    record NoisyLabels(double noiseStd) implements Setting {
        public String id() {
            return "noisy_" + number(noiseStd);
        }

        public String description() {
            return "labels with N(0, " + number(noiseStd) + "^2) noise, renormalised to E y^2 = d, scored against "
                    + "the noisy label";
        }

        public TaskConfig task(TaskConfig t) {
            return t.with(Map.of("name", TaskKind.NOISY_LINEAR_REGRESSION, "noise_std", noiseStd,
                    "renormalize_ys", true));
        }

        public Optional<String> unsupported(TaskConfig trained, int points, int positions) {
            return trained.name() == TaskKind.LINEAR_REGRESSION || trained.name() == TaskKind.NOISY_LINEAR_REGRESSION
                    ? Optional.empty() : Optional.of(id() + " needs a dense linear regression model");
        }
        // The normaliser is the interface's: renormalised labels have E y² = d whatever the inputs' scale.
    }

    /**
     * Zhang et al.'s random covariance: x = x_scale z sqrt(λ) with z ~ N(0, I) and λ = c κ Exp(1) per coordinate, κ
     * the trained cov_scale for a model trained on random_diagonal inputs (1 otherwise), one λ shared by all the
     * prompts of a batch (their "64 covariances x 64 prompts": one covariance per batch of eval.batch_size prompts, so
     * eval.num_prompts / eval.batch_size draws; the bootstrap resamples batches, {@link #groupedByBatch}). Per
     * coordinate E x² = x_scale² c κ and E x⁴ = 6 (x_scale² c κ)², whatever the training distribution; E y² = x_scale²
     * c κ d (s for sparse). Cost: none beyond sampling.
     */
    record RandomCovariance(double c) implements Setting {
        public RandomCovariance {
            if (!(c > 0) || Double.isInfinite(c)) {
                throw new IllegalArgumentException("scale must be > 0; got " + c);
            }
        }

        public String id() {
            return "random_cov_" + number(c);
        }

        public String description() {
            return "random diagonal covariance " + number(c) + " * diag(Exp(1)), shared by the prompts of a batch";
        }

        /**
         * Isotropic inputs, which {@link #prompts} scales by the setting's covariance: the training distribution's own
         * draw must not be compounded with this one (a random diagonal training draw gives fourth moment 12 (E x²)²
         * instead of 6, uniform inputs 3.6, a skewed rotation unequal variances). The config carries κ as cov_scale:
         * the trained one for random_diagonal training, 1 otherwise.
         */
        public TaskConfig task(TaskConfig t) {
            double kappa = t.xDistribution() == XDistribution.RANDOM_DIAGONAL ? t.covScale() : 1.0;
            return t.with(Map.of("x_distribution", XDistribution.ISOTROPIC, "cov_scale", kappa));
        }

        public Optional<String> unsupported(TaskConfig trained, int points, int positions) {
            return linearOnly(trained, id());
        }

        public boolean groupedByBatch() {
            return true;
        }

        public PromptBatch prompts(TaskSampler s, long batch, int points, Generator gen) {
            int d = s.nDims();
            PromptBatch base = s.sample(batch, points, d, gen);
            Tensor lambda = InputDistribution.exponential(new long[] {1, 1, d}, gen,
                    base.xs().options()).mul(new Scalar(c * s.config().covScale()));           // c κ Exp(1)
            Tensor xs = base.xs().mul(lambda.sqrt());
            return new PromptBatch(xs, s.label(base, xs, gen), base.params(), base.activeDims());
        }

        public double normaliser(TaskConfig trained) {
            return linearSecondMoment(trained, trained.xScale() * trained.xScale() * c * task(trained).covScale());
        }
    }

    /**
     * Prompts longer than training: {@code factor} times the training length, capped by the model's positions (Zhang
     * et al. see the error spike past the trained length with absolute positions). Cost: longer prompts.
     */
    record LongerPrompts(double factor) implements Setting {
        public String id() {
            return "longer_prompts";
        }

        public String description() {
            return "prompts up to " + number(factor) + "x the training length (capped by model.n_positions)";
        }

        public TaskConfig task(TaskConfig t) {
            return t;
        }

        public int points(int trainedPoints, int modelPositions) {
            return Math.min(modelPositions, (int) Math.round(trainedPoints * factor));
        }

        public Optional<String> unsupported(TaskConfig trained, int trainedPoints, int positions) {
            return positions > trainedPoints ? Optional.empty()
                    : Optional.of("the model has positions for " + positions + " points, no more than it was trained on");
        }
    }

    /** A model evaluated on another task family than it was trained on (Garg: ReLU-net models on linear prompts). */
    record OtherTask(TaskKind kind) implements Setting {
        public String id() {
            return "task_" + kind.name().toLowerCase(Locale.ROOT);
        }

        public String description() {
            return "prompts from " + kind.name().toLowerCase(Locale.ROOT) + " instead of the training task";
        }

        public TaskConfig task(TaskConfig t) {
            return t.with(Map.of("name", kind));
        }

        public Optional<String> unsupported(TaskConfig trained, int points, int positions) {
            if (TaskFamily.of(trained).classification() != TaskFamily.of(task(trained)).classification()) {
                return Optional.of("a " + (TaskFamily.of(trained).classification() ? "classifier" : "regressor")
                        + " cannot be scored on " + id());
            }
            return trained.name() == kind ? Optional.of("that is the training task") : Optional.empty();
        }
    }

    /**
     * Raventós et al.'s "latent" tasks: a model trained on a finite pool (num_tasks) evaluated on fresh tasks from
     * the full prior. No extra cost.
     */
    record FreshTasks() implements Setting {
        public String id() {
            return "fresh_tasks";
        }

        public String description() {
            return "tasks drawn fresh from the prior instead of the training pool";
        }

        public TaskConfig task(TaskConfig t) {
            return t.with(Map.of("num_tasks", 0L, "num_training_examples", 0L));
        }

        public Optional<String> unsupported(TaskConfig trained, int points, int positions) {
            return trained.numTasks() > 0 || trained.numTrainingExamples() > 0 ? Optional.empty()
                    : Optional.of("the model was trained on the full task distribution, not a finite pool");
        }
    }

    /** c without trailing zeros: 2, 0.5, 0.333. */
    static String number(double c) {
        String s = String.format(Locale.ROOT, "%.3f", c);
        return s.contains(".") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
    }
}
