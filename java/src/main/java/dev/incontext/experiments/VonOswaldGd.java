package dev.incontext.experiments;

import dev.incontext.util.AtomicFiles;
import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.config.RunConfig.XDistribution;
import dev.incontext.eval.Setting;
import dev.incontext.eval.baselines.GradientDescent;
import dev.incontext.model.InContextModel;
import dev.incontext.model.LinearAttentionStack;
import dev.incontext.model.LsaModel;
import dev.incontext.model.Models;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.ops.Rng;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.train.Checkpoints;
import dev.incontext.train.TrainedModel;
import dev.incontext.train.Trainer;
import dev.incontext.train.TrainingListener;
import dev.incontext.util.Devices;
import dev.incontext.util.Tensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * von Oswald et al. (papers.md §5, §9.7): the hand-constructed linear self-attention weights that are exactly one
 * step of gradient descent (and K steps with K layers), checked against GD on random prompts; and a one-layer LSA
 * trained on the same regression, compared with the construction at the optimal step as training goes: the mean
 * squared difference of their predictions, the cosine of their sensitivities ∂ŷ/∂x_q, and both errors, at every
 * checkpoint.
 */
public final class VonOswaldGd implements Experiment {
    @Override
    public String id() {
        return "von-oswald-gd";
    }

    @Override
    public String description() {
        return "von Oswald et al.'s GD construction checked against gradient descent, and a trained one-layer LSA "
                + "compared with it during training (about a minute on the CPU)";
    }

    /** One checkpoint's comparison. */
    /** gdErrorSe: the standard error of gdError over the prompts (the independent unit). */
    public record Point(long step, double predictionDifference, double sensitivityCosine, double modelError,
            double gdError, double gdErrorSe) {}

    /** The optimal one-step GD step size for the config's input distribution (papers.md §9.7). */
    public static double optimalStep(RunConfig.TaskConfig t, int n) {
        if (t.xDistribution() != XDistribution.ISOTROPIC && t.xDistribution() != XDistribution.UNIFORM) {
            throw new IllegalArgumentException("the optimal step is derived for isotropic Gaussian and uniform inputs; "
                    + "got " + t.xDistribution());
        }
        double s = GradientDescent.inputVariance(t);
        return 1 / (s * (1 + (GradientDescent.inputKurtosis(t) + t.nDims() - 2) / n));
    }
    @Override
    public ExperimentReport run(ExperimentContext ctx) throws IOException {
        String base = ctx.configFile() != null ? ctx.configFile() : ctx.paperPreset() ? "von_oswald_gd_paper"
                : "von_oswald_gd";
        RunConfig c = ConfigLoader.load(RunConfig.class, base, ctx.overrides());
        if (c.model().family() != RunConfig.ModelFamily.LSA) {
            throw new IllegalArgumentException("von-oswald-gd trains model.family=lsa; got " + c.model().family());
        }
        if (c.training().saveEvery() == 0) {
            throw new IllegalArgumentException("von-oswald-gd compares at every checkpoint: set training.save_every > 0");
        }
        int d = c.task().nDims();
        int n = c.evalPoints() - 1;
        double eta = optimalStep(c.task(), n);
        TensorOptions o = Devices.float32(c.device());
        Path dir = Path.of(c.outDir());
        List<Point> points = new ArrayList<>();
        double[] exactness = new double[3];
        try (PointerScope scope = new PointerScope()) {
            // 1. The construction against explicit GD, 1 and 3 steps, float64.
            TensorOptions f64 = new TensorOptions(torch.ScalarType.Double);
            TaskSampler s64 = new TaskSampler(c.task(), c.seed(), f64);
            PromptBatch check = s64.sample(256, n + 1, d, s64.generator(Rng.derive(c.seed(), Rng.Stream.EVAL, 99)));
            exactness[0] = Tensors.maxAbsDiff(LsaModel.gradientDescentStep(d, eta, f64).predict(check),
                    gdSteps(check, 1, eta));
            exactness[1] = Tensors.maxAbsDiff(LinearAttentionStack.gradientDescent(d, 3, eta, f64).predict(check),
                    gdSteps(check, 3, eta));
            exactness[2] = Tensors.maxAbsDiff(LinearAttentionStack.gradientDescent(d, 1, eta, f64).predict(check),
                    gdSteps(check, 1, eta));
            ctx.log().accept(String.format(Locale.ROOT, "construction vs GD: max |difference| %.1e (1 step), %.1e "
                    + "(3 layers, 3 steps); eta* = %.4f", exactness[0], exactness[1], eta));
            // 2. Train, comparing at every checkpoint on fixed prompts.
            TaskSampler sampler = new TaskSampler(c.task(), c.seed(), o);
            // Created in this method's scope, which stays open through training: they live until the end.
            PromptBatch prompts = sampler.sample(c.eval().numPrompts(), n + 1, d,
                    sampler.generator(Rng.derive(c.seed(), Rng.Stream.EVAL, 7)));
            Tensor queries = sampler.inputs().sample(c.eval().numPrompts(), n + 1, d,
                    sampler.generator(Rng.derive(c.seed(), Rng.Stream.EVAL, 8)), o);
            Tensor targets = sampler.label(prompts, queries, null);
            LsaModel gd = LsaModel.gradientDescentStep(d, eta, o);
            double normaliser = new Setting.Standard().normaliser(c.task());
            LsaModel probe = (LsaModel) Models.create(c, o);
            int chunk = c.eval().batchSize();
            // The construction does not change during training: its predictions and sensitivities once.
            Tensor[] g = predictionAndSensitivity(gd, prompts, queries, n, chunk);
            TrainingListener compare = new TrainingListener() {
                @Override
                public void onCheckpoint(Path ckpt, long step) {
                    try (PointerScope inner = new PointerScope()) {
                        Checkpoints.loadModel(ckpt, probe.module());
                        points.add(compare(step, probe, g, prompts, queries, targets, n, normaliser, chunk));
                    }
                    ctx.training().onCheckpoint(ckpt, step);
                }

                @Override
                public void onStep(long done, long total) {
                    ctx.training().onStep(done, total);
                }

                @Override
                public void onLog(TrainingLog log) {
                    ctx.training().onLog(log);
                }
            };
            points.add(compare(0, (LsaModel) Models.create(c, o), g, prompts, queries, targets, n, normaliser, chunk));
            TrainedModel trained = new Trainer(compare).train(c, null, true);
            if (!(trained.model() instanceof LsaModel)) {
                throw new IllegalStateException("expected an LSA model");
            }
        }
        Files.createDirectories(dir);
        StringBuilder csv = new StringBuilder("step,prediction_difference,sensitivity_cosine,model_error,gd_error,"
                + "gd_error_se\n");
        for (Point p : points) {
            csv.append(String.format(Locale.ROOT, "%d,%.6g,%.6g,%.6g,%.6g,%.6g%n", p.step(), p.predictionDifference(),
                    p.sensitivityCosine(), p.modelError(), p.gdError(), p.gdErrorSe()));
        }
        Path table = dir.resolve("comparison.csv");
        AtomicFiles.write(table, csv);
        Point last = points.get(points.size() - 1);
        Path summary = dir.resolve("summary.md");
        AtomicFiles.write(summary, summary(c, eta, exactness, points));
        boolean met = Math.max(exactness[0], exactness[2]) <= EXACT && exactness[1] <= EXACT;
        return new ExperimentReport(summary, List.of(table), met, String.format(Locale.ROOT,
                "construction equals GD to %.1e; trained LSA vs GD at step %d: prediction difference %.2e, "
                        + "sensitivity cosine %.4f", Math.max(exactness[0], exactness[1]), last.step(),
                last.predictionDifference(), last.sensitivityCosine()));
    }

    /** K steps of GD from 0 with step eta on every prefix, at the prompt's own x_k: the gd:K:ETA baseline. */
    static Tensor gdSteps(PromptBatch b, int steps, double eta) {
        return new GradientDescent(steps, eta, 1.0).predict(b);
    }

    /** {@code g}: the construction's predictions and sensitivities on the same prompts. */
    private static Point compare(long step, InContextModel model, Tensor[] g, PromptBatch prompts, Tensor queries,
            Tensor targets, int n, double normaliser, int chunk) {
        Tensor[] a = predictionAndSensitivity(model, prompts, queries, n, chunk);
        Tensor y = targets.select(1, n);
        double diff = mean(a[0].sub(g[0]).pow(new Scalar(2))) / normaliser;
        double cos = mean(torch.cosine_similarity(a[1], g[1], 1, 1e-12));
        Tensor gdErrors = g[0].sub(y).pow(new Scalar(2)).to(torch.ScalarType.Double).div(new Scalar(normaliser));
        double se = Tensors.toDoubleArray(gdErrors.std())[0] / Math.sqrt(gdErrors.numel());
        return new Point(step, diff, cos, mean(a[0].sub(y).pow(new Scalar(2))) / normaliser, mean(gdErrors), se);
    }

    /**
     * The prediction at position n and its gradient with respect to that position's query, per prompt, computed
     * {@code chunk} prompts at a time (eval.batch_size): each prompt's values depend on that prompt alone. The whole
     * evaluation set at once (65536 prompts) made intermediates far above glibc's mmap threshold, mapped and unmapped
     * on every pass: the experiment took 263 s end to end, 169 s of it system time, against 34 s chunked (2-core
     * EPYC, 2026-12-05; identical comparison.csv).
     */
    static Tensor[] predictionAndSensitivity(InContextModel m, PromptBatch b, Tensor queries, int n,
            int chunk) {
        TensorVector preds = new TensorVector();
        TensorVector grads = new TensorVector();
        for (long start = 0; start < b.batchSize(); start += chunk) {
            try (PointerScope scope = new PointerScope()) {   // the vectors keep what they hold
                long count = Math.min(chunk, b.batchSize() - start);
                PromptBatch part = b.rows(start, count);
                Tensor q = queries.narrow(0, start, count).detach().clone().requires_grad_(true);
                Tensor pred = m.forwardAtQueries(part.xs(), part.ys(), q).select(1, n);
                pred.sum().backward();
                grads.push_back(q.grad().select(1, n).clone());
                preds.push_back(pred.detach());
                m.module().zero_grad(true);
            }
        }
        return new Tensor[] {torch.cat(preds, 0), torch.cat(grads, 0)};
    }

    private static double mean(Tensor t) {
        return Tensors.toDoubleArray(t.to(torch.ScalarType.Double).mean())[0];
    }

    /** Round-off in float64: the construction counts as GD when it is within this of explicit GD (fixed before runs). */
    static final double EXACT = 1e-9;
    /**
     * The closed-form check's interval: 99% normal (z = 2.576). At 95% over 4096 prompts the check rejected the exact
     * closed form in 5.7% of repeated draws (the squared errors' kurtosis is about 28), so one seed in twenty read
     * "disagree" by chance; the default evaluation also moved to 65536 prompts, which narrows the interval fourfold.
     * At 99% over 65536 prompts the same numpy check rejected it in 1 of 400 draws.
     */
    static final double INTERVAL_Z = 2.576;
    /** A trained layer counts as one GD step when its prediction difference (÷ E[y²]) is at most this ... */
    static final double SAME_PREDICTIONS = 1e-3;
    /** ... and its sensitivities' mean cosine to GD's at least this. */
    static final double ALIGNED = 0.99;

    /** The error of one optimal GD step at position N (papers.md §9.7): uniform (d−0.2)/(N+d−0.2), Gaussian (d+1)/(N+d+1). */
    static double optimalStepError(RunConfig c) {
        int d = c.task().nDims();
        int n = c.evalPoints() - 1;
        return c.task().xDistribution() == XDistribution.UNIFORM ? (d - 0.2) / (n + d - 0.2) : (d + 1.0) / (n + d + 1);
    }

    /**
     * The paper's claims judged by criteria fixed here before any run: the construction and its K-layer stack equal
     * explicit GD to {@link #EXACT}; the trained layer ends within {@link #SAME_PREDICTIONS} of GD's predictions with
     * sensitivities aligned to {@link #ALIGNED}; the measured error of the optimal GD step has §9.7's closed form inside
     * its {@link #INTERVAL_Z} (99%) interval over the prompts.
     */
    static List<Claim> claims(RunConfig c, double[] exactness, List<Point> points) {
        Point first = points.get(0);
        Point last = points.get(points.size() - 1);
        List<Claim> out = new ArrayList<>();
        double one = Math.max(exactness[0], exactness[2]);
        out.add(new Claim("the construction is one step of GD", String.format(Locale.ROOT, "max |difference| to "
                + "explicit GD in float64 at most %.0e", EXACT), String.format(Locale.ROOT, "%.1e (LSA model), %.1e "
                + "(explicit 1-layer stack)", exactness[0], exactness[2]), verdict(one <= EXACT)));
        out.add(new Claim("K layers are K steps of GD", String.format(Locale.ROOT, "K = 3: max |difference| at most %.0e",
                EXACT), String.format(Locale.ROOT, "%.1e", exactness[1]), verdict(exactness[1] <= EXACT)));
        out.add(new Claim("a trained 1-layer LSA implements one GD step", String.format(Locale.ROOT, "at the last "
                + "checkpoint: mean (ŷ_LSA − ŷ_GD)² / E[y²] at most %.0e and mean cosine of ∂ŷ/∂x_q at least %.2f",
                SAME_PREDICTIONS, ALIGNED), String.format(Locale.ROOT, "difference %.2e at step 0, %.2e at step %d; "
                + "cosine %.4f at step 0, %.4f at step %d", first.predictionDifference(), last.predictionDifference(),
                last.step(), first.sensitivityCosine(), last.sensitivityCosine(), last.step()),
                verdict(last.predictionDifference() <= SAME_PREDICTIONS && last.sensitivityCosine() >= ALIGNED)));
        double closed = optimalStepError(c);
        double half = INTERVAL_Z * last.gdErrorSe();
        out.add(new Claim(String.format(Locale.ROOT, "error of one optimal GD step (§9.7, %s)",
                c.task().xDistribution() == XDistribution.UNIFORM ? "uniform: (d−0.2)/(N+d−0.2)"
                        : "Gaussian: (d+1)/(N+d+1)"), String.format(Locale.ROOT, "the closed form %.4f inside GD's "
                + "99%% interval over the %d prompts", closed, c.eval().numPrompts()), String.format(Locale.ROOT,
                "GD %.4f [%.4f, %.4f], trained LSA %.4f", last.gdError(), last.gdError() - half, last.gdError() + half,
                last.modelError()), verdict(Math.abs(last.gdError() - closed) <= half)));
        return out;
    }

    private static Claim.Verdict verdict(boolean holds) {
        return holds ? Claim.Verdict.AGREE : Claim.Verdict.DISAGREE;
    }

    static String summary(RunConfig c, double eta, double[] exactness, List<Point> points) {
        StringBuilder s = new StringBuilder("# von-oswald-gd: linear self-attention and one step of gradient descent\n\n");
        s.append(String.format(Locale.ROOT, "d = %d, N = %d, x ~ %s (x_scale %.4f), w ~ N(0, I); one LSA layer, batch %d, "
                + "%d steps, %s lr %.1e. Optimal one-step GD step eta* = %.4f (papers.md §9.7). Errors are squared "
                + "errors at position N over E[y²], on %d fixed prompts with fresh queries.%n%n", c.task().nDims(),
                c.evalPoints() - 1, c.task().xDistribution().name().toLowerCase(Locale.ROOT), c.task().xScale(),
                c.training().batchSize(), c.training().steps(), c.training().optimizer().name().toLowerCase(Locale.ROOT),
                c.training().learningRate(), eta, c.eval().numPrompts()));
        s.append(Claim.table(claims(c, exactness, points)));
        s.append("\nPer checkpoint: comparison.csv (step, prediction_difference, sensitivity_cosine, model_error, "
                + "gd_error, gd_error_se).\n");
        return s.toString();
    }
}
