package dev.incontext.experiments;

import dev.incontext.util.AtomicFiles;
import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.eval.Evaluation;
import dev.incontext.eval.Evaluator;
import dev.incontext.eval.Setting;
import dev.incontext.eval.baselines.LeastSquares;
import dev.incontext.model.LsaClosedForm;
import dev.incontext.model.LsaModel;
import dev.incontext.model.Predictor;
import dev.incontext.report.Reports;
import dev.incontext.train.TrainedModel;
import dev.incontext.train.Trainer;
import dev.incontext.util.Devices;
import dev.incontext.util.Tensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Zhang, Frei &amp; Bartlett (papers.md §2, §9.5–9.6): one linear self-attention layer trained on d-dimensional linear
 * regression at training length N, with large batches and a small decaying step standing in for gradient flow on
 * the population loss. Reports the learned predictor's distance to the closed-form minimum Γ⁻¹, its test error per
 * test length M against Theorem 4.2, and its error under covariate shifts (x scaled by c; random diagonal covariances
 * c diag(Exp(1)) shared by the prompts of a batch) against the closed forms.
 */
public final class ZhangLsa implements Experiment {
    /** Test lengths up to this multiple of N (the LSA has no positions, so any M is valid). */
    private static final int LENGTH_FACTOR = 5;

    @Override
    public String id() {
        return "zhang-lsa";
    }

    @Override
    public String description() {
        return "Zhang et al.'s linear self-attention: distance to the closed-form minimum, Theorem 4.2's test error "
                + "per length, covariate shifts (minutes on the CPU; --preset paper: larger batch and budget)";
    }

    /** The measured numbers, for tests and callers. */
    public record Result(double relativeDistance, double offBlockNorm, Evaluation standard, List<Evaluation> shifts,
            int d, int n) {}

    @Override
    public ExperimentReport run(ExperimentContext ctx) throws IOException {
        String base = ctx.configFile() != null ? ctx.configFile() : ctx.paperPreset() ? "zhang_lsa_paper" : "zhang_lsa";
        RunConfig c = ConfigLoader.load(RunConfig.class, base, ctx.overrides());
        if (c.model().family() != RunConfig.ModelFamily.LSA || c.task().name() != RunConfig.TaskKind.LINEAR_REGRESSION
                || c.task().xDistribution() != RunConfig.XDistribution.ISOTROPIC) {
            throw new IllegalArgumentException("zhang-lsa trains model.family=lsa on isotropic linear_regression; the "
                    + "config has " + c.model().family() + " on " + c.task().name() + " with " + c.task().xDistribution());
        }
        Path dir = Path.of(c.outDir());
        try (PointerScope scope = new PointerScope()) {
            ctx.log().accept(String.format(Locale.ROOT, "zhang-lsa: d = %d, N = %d, batch %d, %d steps, lr %.1e (%s)",
                    c.task().nDims(), c.evalPoints() - 1, c.training().batchSize(), c.training().steps(),
                    c.training().learningRate(), c.training().schedule()));
            TrainedModel model = new Trainer(ctx.training()).train(c, null, true);
            Result r = measure(model, c, ctx);
            List<Path> files = new ArrayList<>();
            for (Evaluation e : concat(r.standard(), r.shifts())) {
                Path sub = dir.resolve("eval").resolve(e.setting());
                Files.createDirectories(sub);
                Reports.csv(e, sub.resolve("eval.csv"));
                Reports.plot(e, "zhang-lsa, d = " + r.d() + ", N = " + r.n() + " (" + e.setting() + ")",
                        e.metric().trivial(), sub.resolve("eval.png"));
                files.add(sub.resolve("eval.csv"));
                files.add(sub.resolve("eval.png"));
            }
            Path summary = dir.resolve("summary.md");
            boolean met = r.relativeDistance() <= DISTANCE_GOAL;
            AtomicFiles.write(summary, summary(r, c));
            return new ExperimentReport(summary, files, met, String.format(Locale.ROOT,
                    "distance to the closed-form minimum %.2f%% (goal <= 5%%: %s)", 100 * r.relativeDistance(),
                    met ? "met" : "NOT met"));
        }
    }

    private static List<Evaluation> concat(Evaluation first, List<Evaluation> rest) {
        List<Evaluation> all = new ArrayList<>(List.of(first));
        all.addAll(rest);
        return all;
    }

    /** Distance to Γ⁻¹ and the evaluations of the trained model, the closed form and least squares. */
    public static Result measure(TrainedModel model, RunConfig c, ExperimentContext ctx) {
        int d = c.task().nDims();
        int n = c.evalPoints() - 1;
        LsaModel lsa = (LsaModel) model.model();
        LsaClosedForm exact = LsaClosedForm.isotropic(d, n);
        double[][] gi = exact.gammaInverse();
        double[] flat = new double[d * d];
        for (int i = 0; i < d; i++) {
            System.arraycopy(gi[i], 0, flat, i * d, d);
        }
        Tensor target = torch.tensor(flat, new TensorOptions(torch.ScalarType.Double)).view(d, d);
        Tensor learned = lsa.effectiveMatrix().to(torch.ScalarType.Double).cpu();
        double distance = Tensors.toDoubleArray(torch.linalg_norm(learned.sub(target)))[0]
                / Tensors.toDoubleArray(torch.linalg_norm(target))[0];
        // The blocks the minimum has at zero but that reach the prediction: W^PV[d, :d] and W^KQ[d, :d].
        Tensor pvRow = lsa.wpv().select(0, d).narrow(0, 0, d).detach();
        Tensor kqRow = lsa.wkq().select(0, d).narrow(0, 0, d).detach();
        double off = Math.hypot(Tensors.toDoubleArray(torch.linalg_norm(pvRow))[0],
                Tensors.toDoubleArray(torch.linalg_norm(kqRow))[0]);
        List<Predictor> predictors = List.of(model.model(), exact, new LeastSquares(0));
        int points = LENGTH_FACTOR * n + 1;
        Evaluator.Request req = new Evaluator.Request(c.eval().numPrompts(), c.eval().batchSize(), c.seed(),
                Devices.float32(c.device()), false);
        Evaluator.Listener progress = (s, done, total) -> {
            if (done == total) {
                ctx.log().accept("evaluated " + s);
            }
        };
        Evaluation standard = Evaluator.evaluate(predictors, c.task(), points, Integer.MAX_VALUE,
                new Setting.Standard(), req, progress).evaluation();
        List<Evaluation> shifts = new ArrayList<>();
        for (Setting s : List.of(new Setting.ScaleX(0.5), new Setting.ScaleX(2), new Setting.RandomCovariance(1),
                new Setting.RandomCovariance(4), new Setting.RandomCovariance(9))) {
            shifts.add(Evaluator.evaluate(predictors, c.task(), points, Integer.MAX_VALUE, s, req, progress)
                    .evaluation());
        }
        return new Result(distance, off, standard, shifts, d, n);
    }

    /** E[λ(λ/g − 1)²]/E[λ] for λ ~ c Exp(1): the M → ∞ error of the Λ = I minimum under c diag(Exp(1)) inputs. */
    static double randomCovarianceLimit(int d, int n, double c) {
        double g = 1 + (d + 1.0) / n;
        return 6 * c * c / (g * g) - 4 * c / g + 1;
    }

    /** The distance to Γ⁻¹ within which the trained LSA counts as converged (Thm 4.1), fixed before the run. */
    static final double DISTANCE_GOAL = 0.05;

    /** The test lengths at which Thm 4.2 is judged: N/4, N/2, N, 2N and 5N. */
    static final java.util.function.IntFunction<int[]> THM_4_2_LENGTHS = n -> new int[] {n / 4, n / 2, n, 2 * n, 5 * n};

    /** Of the Thm 4.2 lengths, how many bands may miss the closed form before the family disagrees. */
    static final int MISSES_ALLOWED = 1;

    /**
     * The paper's claims judged against a run, by criteria fixed here before it: Thm 4.1 by the relative distance to
     * Γ⁻¹ ({@link #DISTANCE_GOAL}); Thm 4.2 as one family over the test lengths {@link #THM_4_2_LENGTHS}: its
     * closed form inside the LSA's 90% band at all but {@link #MISSES_ALLOWED} of them; each covariate shift ("not tolerated") by whether the LSA's band at the longest prompts lies wholly above
     * the unshifted error's band there, and, for x scaled by c (whose finite-M risk is derived), whether that closed
     * form lies inside the band. The random-covariance limit is M → ∞ only, so its value is printed, not judged.
     */
    static List<Claim> claims(Result r) {
        int d = r.d();
        int n = r.n();
        List<Claim> out = new ArrayList<>();
        out.add(new Claim("trained LSA converges to Γ⁻¹ = ((1+1/N)Λ + tr(Λ)/N I)⁻¹ (Thm 4.1)", String.format(
                Locale.ROOT, "relative Frobenius distance to Γ⁻¹ at most %.0f%%", 100 * DISTANCE_GOAL),
                String.format(Locale.ROOT, "%.2f%% (off-block norm %.2e)", 100 * r.relativeDistance(),
                        r.offBlockNorm()), r.relativeDistance() <= DISTANCE_GOAL ? Claim.Verdict.AGREE
                                : Claim.Verdict.DISAGREE));
        Evaluation.Curve tf = r.standard().curves().get(0);
        Evaluation.Curve cf = r.standard().curves().get(1);
        // Thm 4.2 as one claim over its test lengths: each length's own 90% band misses a true value one time in
        // ten, so five of them judged one by one would disagree somewhere about 41% of the time (if independent) even
        // when the theorem holds; the family criterion tolerates one miss (two or more: 8% if independent).
        List<String> rows = new ArrayList<>();
        int judged = 0;
        int misses = 0;
        for (int m : THM_4_2_LENGTHS.apply(n)) {
            if (m < 1 || m >= tf.mean().length) {
                continue;
            }
            double risk = LsaClosedForm.isotropicRisk(d, n, m);
            boolean inside = tf.low()[m] <= risk && risk <= tf.high()[m];
            judged++;
            misses += inside ? 0 : 1;
            rows.add(String.format(Locale.ROOT, "M = %d: %.4f in LSA %.4f [%.4f, %.4f]%s (Γ⁻¹ itself %.4f)", m, risk,
                    tf.mean()[m], tf.low()[m], tf.high()[m], inside ? "" : " **no**", cf.mean()[m]));
        }
        if (judged > 0) {
            out.add(new Claim(String.format(Locale.ROOT, "the test error at every length M is Thm 4.2's (Λ = I); "
                    + "%.3f at M = N = %d", LsaClosedForm.isotropicRisk(d, n, n), n), String.format(Locale.ROOT,
                    "the closed form lies inside the LSA's 90%% band at all but at most %d of the %d lengths "
                    + "(five 90%% bands miss twice or more 8%% of the time when the theorem holds, if independent)",
                    MISSES_ALLOWED, judged), String.join("; ", rows), misses <= MISSES_ALLOWED ? Claim.Verdict.AGREE
                            : Claim.Verdict.DISAGREE));
        }
        int last = tf.mean().length - 1;
        double g = 1 + (d + 1.0) / n;
        for (Evaluation e : r.shifts()) {
            Evaluation.Curve t = e.curves().get(0);
            boolean above = t.low()[last] > tf.high()[last];
            String shifted = String.format(Locale.ROOT, "LSA %.4f [%.4f, %.4f] at M = %d against %.4f [%.4f, %.4f] "
                    + "unshifted; %.4f at M = N", t.mean()[last], t.low()[last], t.high()[last], last, tf.mean()[last],
                    tf.low()[last], tf.high()[last], t.mean()[n]);
            if (e.setting().startsWith("scale_x_")) {
                String c = e.setting().substring("scale_x_".length());
                double sc = Double.parseDouble(c);
                double risk = LsaClosedForm.scaledInputRisk(d, n, last, sc);
                boolean inside = t.low()[last] <= risk && risk <= t.high()[last];
                out.add(new Claim(String.format(Locale.ROOT, "x scaled by %s is not tolerated: ŷ → c² x_qᵀw/g, error "
                        + "→ (c²/g − 1)² = %.4f", c, (sc * sc / g - 1) * (sc * sc / g - 1)), String.format(
                        Locale.ROOT, "at M = %d the band lies above the unshifted band, and the finite-M closed form "
                        + "%.4f lies inside it", last, risk), shifted, above && inside ? Claim.Verdict.AGREE
                                : Claim.Verdict.DISAGREE));
            } else {
                String c = e.setting().substring("random_cov_".length());
                double limit = randomCovarianceLimit(d, n, Double.parseDouble(c));
                out.add(new Claim(String.format(Locale.ROOT, "random covariance %s diag(Exp(1)) is not tolerated: the "
                        + "Λ = I minimum's error → 6c²/g² − 4c/g + 1 = %.4f as M → ∞", c, limit), String.format(
                        Locale.ROOT, "at M = %d the band (over covariance draws) lies above the unshifted band; the "
                        + "limit's value is not judged (no finite-M closed form)", last), shifted + String.format(
                        Locale.ROOT, "; %.2f × the limit", t.mean()[last] / limit), above ? Claim.Verdict.AGREE
                                : Claim.Verdict.DISAGREE));
            }
        }
        return out;
    }

    static String summary(Result r, RunConfig c) {
        StringBuilder s = new StringBuilder();
        s.append("# zhang-lsa: linear self-attention against its closed-form minimum\n\n");
        s.append(String.format(Locale.ROOT, "d = %d, training length N = %d, batch %d, %d steps, %s lr %.1e (%s), "
                + "init sigma %.3g, %d evaluation prompts per setting. Errors are normalised squared errors "
                + "(÷ E[y²] of each setting), with 90%% bootstrap bands over the independent unit (whole prompts; "
                + "covariance draws under random covariance).%n%n", r.d(), r.n(), c.training().batchSize(),
                c.training().steps(), c.training().optimizer().name().toLowerCase(Locale.ROOT),
                c.training().learningRate(), c.training().schedule().name().toLowerCase(Locale.ROOT),
                c.model().lsaInitSigma(), c.eval().numPrompts()));
        s.append(Claim.table(claims(r)));
        s.append("\nLeast squares (the paper's baseline) is in every eval.csv beside the LSA and the closed form.\n");
        return s.toString();
    }
}
