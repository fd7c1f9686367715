package dev.incontext.experiments;

import com.fasterxml.jackson.databind.JsonNode;
import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.eval.EvalSuite;
import dev.incontext.eval.Evaluation;
import dev.incontext.eval.Evaluator;
import dev.incontext.report.LineChart;
import dev.incontext.sweep.Cell;
import dev.incontext.sweep.CellResult;
import dev.incontext.sweep.SweepOutcome;
import dev.incontext.sweep.SweepPlan;
import dev.incontext.sweep.SweepSpec;
import dev.incontext.train.TrainedModel;
import dev.incontext.util.AtomicFiles;
import dev.incontext.util.BuildInfo;
import dev.incontext.util.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;

/**
 * Garg et al. (papers.md §1): a GPT-2 trained on noiseless linear regression in context tracks least squares, its
 * error near 0 from k = d on, below averaging and 3-NN; and the curriculum on dimensions and points speeds training.
 * A grid through the sweep runner (resumable per cell): for every seed the recipe's cell and, unless
 * {@code compare=false}, a curriculum comparison: two cells, with and without the curriculum, at the comparison's
 * dimension ({@link #CPU_COMPARE_DIMS} on the CPU default, where the plateau without a curriculum is long enough to
 * measure; the recipe's own size with {@code --preset paper} or a config file). Each cell is evaluated on its training
 * distribution with least squares, averaging and 3-NN, with Δ(TF, least squares) per k from the captured predictions.
 * The claims and their criteria are fixed here, before any run ({@link #claims}).
 */
public final class GargRegression implements Experiment {
    /** The seeds unless {@code seeds=...} is given. */
    static final List<String> DEFAULT_SEEDS = List.of("0");
    /** Error (normalised by d) the transformer must stay under at every k &ge; 2d: "near 0", where least squares is 0. */
    static final double NEAR_ZERO = 0.01;
    /**
     * Δ(TF, least squares) per k at which the transformer counts as running least squares below k = d, where least
     * squares' own error is (d − k)/d &ge; 1/d: a twentieth of the error at d = 5 (... and 0.05 in absolute terms).
     */
    static final double LIKE_LEAST_SQUARES = 0.05;
    /**
     * The training excess loss (loss over least squares' expected loss, 1 = as good as OLS) below which a run has left
     * the plateau, on the full-size task: the zero predictor sits at (d n)/Σ max(d − i, 0), 3.7 at d = 5, n = 11.
     */
    static final double LEFT_PLATEAU = 1.5;
    /** Records in the running median that must stay under the mark for a run to have left the plateau. */
    static final int PLATEAU_WINDOW = 5;
    /** The curriculum counts as faster (or slower) only when its steps differ by at least this fraction. */
    static final double FASTER_BY = 0.10;
    /**
     * Dimension of the CPU default's curriculum comparison. At d = 5 the plateau is short with or without the
     * curriculum (left at steps 1300-2200 on 3 seeds, no consistent order); at d = 10, seed 0 left it at step 2400
     * with the curriculum and not in 6000 steps without (docs/experiments.md). Prompts have 2d + 1 points, and the
     * curriculum's dims and points end at d and 2d + 1.
     */
    static final int CPU_COMPARE_DIMS = 10;
    /** Steps of each CPU comparison cell: about 9 minutes on one thread at d = 10. */
    static final long CPU_COMPARE_STEPS = 6000;

    @Override
    public String id() {
        return "garg-regression";
    }

    @Override
    public String description() {
        return "Garg et al.: a transformer tracks least squares on 5-dimensional linear regression in context, below "
                + "averaging and 3-NN, and the curriculum speeds training (compared at d = " + CPU_COMPARE_DIMS
                + " on the CPU; seeds=0,1,2 adds seeds; compare=false drops the comparison, compare_dims=N and "
                + "compare_steps=N set its size; about 20 minutes a seed on 2 cores)";
    }

    /** One cell's evaluation and training facts. */
    public record CellFindings(String seed, int dims, boolean curriculum, boolean recipe, boolean comparison,
            Evaluation evaluation, Map<String, String> specs, double[] toLeastSquares, long plateauExit, long steps,
            double trainSeconds) {
        Evaluation.Curve transformer() {
            return evaluation.curves().get(0);
        }

        Evaluation.Curve baseline(String spec) {
            return evaluation.curve(Grids.predictorWith(specs, spec, "garg-regression"));
        }

        String label() {
            return "seed " + seed + ", d = " + dims + (curriculum ? ", curriculum" : ", no curriculum");
        }
    }

    @Override
    public ExperimentReport run(ExperimentContext ctx) throws IOException {
        List<String> overrides = new ArrayList<>();
        List<String> seeds = new ArrayList<>();
        boolean compare = true;
        Integer compareDims = null;
        Long compareSteps = null;
        for (String o : ctx.overrides()) {
            if (o.startsWith("seeds=")) {
                for (String v : Grids.values(o.substring(6))) {
                    if (!v.matches("\\d+")) {
                        throw new IllegalArgumentException("seeds: every seed must be a non-negative integer; got '"
                                + v + "'");
                    }
                    seeds.add(v);
                }
            } else if (o.startsWith("compare_dims=")) {
                compareDims = (int) Grids.count(o, 1000, "the dimension of the curriculum comparison");
            } else if (o.startsWith("compare_steps=")) {
                compareSteps = Grids.count(o, 100_000_000, "the steps of each comparison cell");
            } else if (o.startsWith("compare=")) {
                compare = Grids.flag(o, "no cells with the other curriculum setting");
            } else if (o.startsWith("seed=")) {
                throw new IllegalArgumentException("garg-regression takes seeds=0,1,2 (one cell per seed), not seed=");
            } else {
                overrides.add(o);
            }
        }
        if (seeds.isEmpty()) {
            seeds.addAll(DEFAULT_SEEDS);
        }
        String base = ctx.configFile() != null ? ctx.configFile() : ctx.paperPreset() ? "garg_regression_paper"
                : "garg_regression";
        RunConfig c = ConfigLoader.load(RunConfig.class, base, overrides);
        if (c.task().name() != RunConfig.TaskKind.LINEAR_REGRESSION) {
            throw new IllegalArgumentException("garg-regression trains on noiseless linear_regression (least squares is "
                    + "then exact from k = d on); the config has " + c.task().name());
        }
        boolean recipe = c.curriculum().enabled();
        int d = c.task().nDims();
        // The comparison's size: the CPU default's own, else the recipe's, unless compare_dims / compare_steps say.
        boolean cpuDefault = ctx.configFile() == null && !ctx.paperPreset();
        int dc = compareDims != null ? compareDims : cpuDefault ? CPU_COMPARE_DIMS : d;
        long sc = compareSteps != null ? compareSteps : cpuDefault && dc != d ? CPU_COMPARE_STEPS : c.training().steps();
        if (dc == d && sc != c.training().steps()) {
            throw new IllegalArgumentException("compare_steps: the curriculum comparison is at the recipe's own "
                    + "dimension (d = " + d + "), where it shares the recipe's cell and its " + c.training().steps()
                    + " steps; set compare_dims to another dimension, or training.steps");
        }
        Map<String, String> compared = comparisonValues(c, dc, sc);
        Map<String, String> recipeValues = comparisonValues(c, d, c.training().steps());
        List<String> dimsAxis = compare && dc != d ? List.of(String.valueOf(d), String.valueOf(dc))
                : List.of(String.valueOf(d));
        List<String> curricula = compare ? List.of(String.valueOf(recipe), String.valueOf(!recipe))
                : List.of(String.valueOf(recipe));
        Path dir = Path.of(c.outDir());
        SweepSpec spec = new SweepSpec(base, overrides, List.of(new SweepSpec.Axis("seed", seeds),
                new SweepSpec.Axis("task.n_dims", dimsAxis), new SweepSpec.Axis("curriculum.enabled", curricula)),
                SweepSpec.Mode.CROSS, 0, dir.resolve("cells").toString(), false, "final_loss");
        // Per seed: the recipe's cell (its dimension, its curriculum setting) and, when comparing, both settings at
        // the comparison's dimension (one of which is the recipe's cell when the sizes agree).
        boolean comparing = compare;
        SweepPlan plan = Grids.select(SweepPlan.of(spec), cell -> isRecipe(cell, d, recipe)
                || comparing && Integer.parseInt(cell.value("task.n_dims")) == dc);
        for (String key : recipeValues.keySet()) {
            plan = Grids.withCellValue(plan, key, cell -> Integer.parseInt(cell.value("task.n_dims")) == d
                    ? recipeValues.get(key) : compared.get(key));
        }
        // Every cell's config as the sweep will build it, checked before any cell trains (a comparison size the
        // curriculum cannot reach would otherwise fail only its own cells, after the others trained).
        for (Cell cell : plan.cells()) {
            try {
                plan.cellConfig(cell);
            } catch (RuntimeException e) {
                String which = isRecipe(cell, d, recipe) ? "" : " of the curriculum comparison at d = " + dc;
                throw new IllegalArgumentException("garg-regression: cell " + cell.name() + which
                        + " is not a valid run: " + e.getMessage(), e);
            }
        }
        ctx.log().accept("garg-regression: " + plan.cells().size() + " cells (seeds " + seeds + ": the recipe at d = " + d
                + (compare ? ", the curriculum comparison at d = " + dc + " with and without, " + sc + " steps each"
                        : "") + "), master " + ctx.master());
        SweepOutcome outcome = Grids.train(plan, ctx.master(), ctx.log());
        List<CellFindings> findings = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        for (Cell cell : plan.cells()) {
            CellResult r = Grids.finished(plan, outcome, cell);
            try (PointerScope scope = new PointerScope()) {
                TrainedModel model = Grids.load(plan, outcome, cell, ctx);
                RunConfig cc = model.config();
                SuiteEvaluation.Outcome o = SuiteEvaluation.run(model, cc, EvalSuite.Named.STANDARD.suite(cc.task()),
                        SuiteEvaluation.Options.of(cc).withCapture(true), Evaluator.Listener.NONE);
                Evaluation e = o.result().evaluations().get(0);
                Map<String, String> specs = o.predictorSettings().get(e.setting());
                Path cellDir = Path.of(cc.outDir());
                files.addAll(SuiteFiles.writeEvaluation(e, cc, cellDir));
                CellFindings f = new CellFindings(cell.value("seed"), cc.task().nDims(), cc.curriculum().enabled(),
                        isRecipe(cell, d, recipe), compare && cc.task().nDims() == dc, e, specs,
                        toLeastSquares(o.captured().get(e.setting()), e, specs), plateauExit(cc,
                                HeModular.records(cellDir.resolve("metrics.jsonl"))), cc.training().steps(),
                        r.metrics().getOrDefault("train_seconds", Double.NaN));
                findings.add(f);
                ctx.log().accept(String.format(Locale.ROOT, "evaluated %s: error at k = 2d %.4f", f.label(),
                        f.transformer().mean()[Math.min(2 * cc.task().nDims(), e.points() - 1)]));
            }
        }
        Files.createDirectories(dir);
        files.add(writeCsv(dir.resolve("errors.csv"), findings));
        files.add(writePlot(dir.resolve("errors.svg"), c, findings));
        List<Claim> claims = claims(findings, d);
        Path summary = dir.resolve("summary.md");
        AtomicFiles.write(summary, summary(c, findings, claims));
        boolean agree = claims.stream().allMatch(cl -> cl.verdict() == Claim.Verdict.AGREE);
        return new ExperimentReport(summary, files, agree, claims.stream().map(cl -> cl.verdict().name()
                .toLowerCase(Locale.ROOT)).toList() + " for " + claims.size() + " claims; see the summary");
    }

    private static boolean isRecipe(Cell cell, int d, boolean recipe) {
        return Integer.parseInt(cell.value("task.n_dims")) == d
                && Boolean.parseBoolean(cell.value("curriculum.enabled")) == recipe;
    }

    /**
     * The settings a cell at dimension {@code dims} trains with beside {@code task.n_dims}: prompts of 2d + 1 points,
     * the curriculum ending at the full size, {@code steps} steps; at the recipe's own dimension, the recipe's values.
     */
    static Map<String, String> comparisonValues(RunConfig c, int dims, long steps) {
        boolean own = dims == c.task().nDims();
        Map<String, String> out = new LinkedHashMap<>();
        out.put("training.steps", Long.toString(steps));
        out.put("model.n_positions", Integer.toString(own ? c.model().nPositions() : 2 * dims + 1));
        out.put("curriculum.dims.end", Integer.toString(own ? c.curriculum().dims().end() : dims));
        out.put("curriculum.points.end", Integer.toString(own ? c.curriculum().points().end() : 2 * dims + 1));
        return out;
    }

    /** Δ(TF, least squares) per k: the mean over prompts of the squared difference of predictions, over the normaliser. */
    static double[] toLeastSquares(Evaluator.Captured cap, Evaluation e, Map<String, String> specs) {
        String ls = Grids.predictorWith(specs, "least_squares", "garg-regression");
        double[] out = cap.squaredDifferenceByPosition(e.curves().get(0).predictor(), ls);
        for (int k = 0; k < out.length; k++) {
            out[k] /= e.normaliser();
        }
        return out;
    }

    /**
     * The logged step at the full task size (the curriculum's end values) from which on the running median of
     * {@link #PLATEAU_WINDOW} records' excess loss stays at most {@link #LEFT_PLATEAU} to the end of training (a dip
     * that the plateau follows again is not an exit); -1 when the run never leaves it for good.
     */
    static long plateauExit(RunConfig c, List<JsonNode> records) {
        List<Long> steps = new ArrayList<>();
        List<Double> excess = new ArrayList<>();
        for (JsonNode r : records) {
            if (r.has("excess_loss") && r.path("n_dims").asInt() == c.curriculum().dims().end()
                    && r.path("n_points").asInt() == c.curriculum().points().end()) {
                steps.add(r.path("step").asLong());
                excess.add(Json.number(r.get("excess_loss")));   // NaN where training diverged (written as null)
            }
        }
        // Running medians, each at its window's first step; a window with a NaN has a NaN median (above any mark).
        int windows = Math.max(0, excess.size() - PLATEAU_WINDOW + 1);
        long[] at = new long[windows];
        double[] median = new double[windows];
        for (int i = 0; i < windows; i++) {
            double[] w = new double[PLATEAU_WINDOW];
            for (int j = 0; j < PLATEAU_WINDOW; j++) {
                w[j] = excess.get(i + j);
            }
            Arrays.sort(w);   // NaNs sort last: one among them makes the window's largest value NaN
            at[i] = steps.get(i);
            median[i] = Double.isNaN(w[PLATEAU_WINDOW - 1]) ? Double.NaN : w[PLATEAU_WINDOW / 2];
        }
        return PlateauScaling.stayingAtOrBelow(at, median, LEFT_PLATEAU);
    }

    /** Garg et al.'s claims judged on the cells by criteria fixed before the run. */
    static List<Claim> claims(List<CellFindings> cells, int d) {
        List<CellFindings> recipe = cells.stream().filter(CellFindings::recipe).toList();
        List<Claim> out = new ArrayList<>();
        // 1. Near 0 from k = 2d on, judged on the 90% band of every recipe cell.
        StringBuilder m1 = new StringBuilder();
        boolean allBelow = true;
        boolean someAbove = false;
        for (CellFindings f : recipe) {
            Evaluation.Curve tf = f.transformer();
            int worst = 2 * d;
            for (int k = 2 * d; k < tf.mean().length; k++) {
                if (tf.high()[k] > tf.high()[worst]) {
                    worst = k;
                }
                allBelow &= tf.high()[k] <= NEAR_ZERO;
                someAbove |= tf.low()[k] > NEAR_ZERO;
            }
            m1.append(String.format(Locale.ROOT, "%sseed %s: worst k = %d, %.4f [%.4f, %.4f]", m1.isEmpty() ? "" : "; ",
                    f.seed(), worst, tf.mean()[worst], tf.low()[worst], tf.high()[worst]));
        }
        boolean enoughPoints = !recipe.isEmpty() && recipe.get(0).transformer().mean().length > 2 * d;
        out.add(new Claim("the transformer's error is near 0 from k = 2d on, where least squares is exact",
                String.format(Locale.ROOT, "on every seed, the 90%% band's upper end <= %.2f at every k >= 2d = %d "
                        + "(disagree: a band's lower end above it)", NEAR_ZERO, 2 * d),
                enoughPoints ? m1.toString() : "the prompts are shorter than 2d + 1 points",
                !enoughPoints ? Claim.Verdict.INCONCLUSIVE : allBelow ? Claim.Verdict.AGREE : someAbove
                        ? Claim.Verdict.DISAGREE : Claim.Verdict.INCONCLUSIVE));
        // 2. Below averaging and 3-NN at every k >= 1 (at k = 0 every predictor predicts 0).
        StringBuilder m2 = new StringBuilder();
        boolean allBeat = true;
        boolean someWorse = false;
        for (CellFindings f : recipe) {
            Evaluation.Curve tf = f.transformer();
            double closest = Double.POSITIVE_INFINITY;
            String where = "";
            for (String rival : List.of("averaging", "knn:3")) {
                Evaluation.Curve r = f.baseline(rival);
                for (int k = 1; k < tf.mean().length; k++) {
                    allBeat &= tf.high()[k] < r.low()[k];
                    someWorse |= tf.low()[k] > r.high()[k];
                    double ratio = r.mean()[k] / tf.mean()[k];
                    if (ratio < closest) {
                        closest = ratio;
                        where = String.format(Locale.ROOT, "k = %d, %s %.4f vs %.4f", k, r.predictor(), r.mean()[k],
                                tf.mean()[k]);
                    }
                }
            }
            m2.append(String.format(Locale.ROOT, "%sseed %s: closest at %s", m2.isEmpty() ? "" : "; ", f.seed(),
                    where));
        }
        out.add(new Claim("the transformer beats averaging and 3-NN at every number of examples",
                "on every seed and every k >= 1, the transformer's 90% band entirely below both baselines' bands "
                        + "(disagree: above one of them somewhere)", m2.toString(), allBeat ? Claim.Verdict.AGREE
                        : someWorse ? Claim.Verdict.DISAGREE : Claim.Verdict.INCONCLUSIVE));
        // 3. Below d, where least squares' error is (d - k)/d, the transformer predicts like least squares.
        StringBuilder m3 = new StringBuilder();
        boolean allLike = true;
        for (CellFindings f : recipe) {
            int worst = 1;
            for (int k = 1; k < Math.min(d, f.toLeastSquares().length); k++) {
                if (f.toLeastSquares()[k] > f.toLeastSquares()[worst]) {
                    worst = k;
                }
                allLike &= f.toLeastSquares()[k] <= LIKE_LEAST_SQUARES;
            }
            m3.append(String.format(Locale.ROOT, "%sseed %s: max Δ %.4f at k = %d (least squares' error there %.3f)",
                    m3.isEmpty() ? "" : "; ", f.seed(), f.toLeastSquares()[worst], worst,
                    f.baseline("least_squares").mean()[worst]));
        }
        out.add(new Claim("below k = d the transformer predicts like least squares (the Bayes predictor there)",
                String.format(Locale.ROOT, "on every seed, Δ(TF, least squares) = mean (ŷ_TF − ŷ_LS)² / d <= %.2f at "
                        + "every 1 <= k < d", LIKE_LEAST_SQUARES), m3.toString(),
                allLike ? Claim.Verdict.AGREE : Claim.Verdict.DISAGREE));
        // 4. The curriculum speeds training: steps to leave the plateau, per seed with both settings at the
        // comparison's size.
        StringBuilder m4 = new StringBuilder();
        int faster = 0;
        int slower = 0;
        int pairs = 0;
        String size = "";
        for (CellFindings with : cells) {
            if (!with.comparison() || !with.curriculum()) {
                continue;
            }
            CellFindings without = cells.stream().filter(f -> f.comparison() && !f.curriculum()
                    && f.seed().equals(with.seed())).findFirst().orElse(null);
            if (without == null) {
                continue;
            }
            pairs++;
            size = String.format(Locale.ROOT, " at d = %d (%d steps a run)", with.dims(), with.steps());
            m4.append(String.format(Locale.ROOT, "%sseed %s: %s with, %s without", m4.isEmpty() ? "" : "; ",
                    with.seed(), exit(with), exit(without)));
            if (with.plateauExit() >= 0 && (without.plateauExit() < 0
                    || with.plateauExit() <= (1 - FASTER_BY) * without.plateauExit())) {
                faster++;
            } else if (without.plateauExit() >= 0 && (with.plateauExit() < 0
                    || without.plateauExit() <= (1 - FASTER_BY) * with.plateauExit())) {
                slower++;
            }
        }
        out.add(new Claim("the curriculum speeds training", String.format(Locale.ROOT, "on every seed%s, the run with "
                + "the curriculum leaves the plateau for good (running median excess loss of %d records <= %.1f on the "
                + "full-size task) in at least %.0f%% fewer steps than without, or without never does (disagree: in "
                + "%.0f%% more on every seed)", size, PLATEAU_WINDOW, LEFT_PLATEAU, 100 * FASTER_BY, 100 * FASTER_BY),
                pairs == 0 ? "no seed ran both settings (compare=false)" : m4.toString(),
                pairs == 0 ? Claim.Verdict.INCONCLUSIVE : faster == pairs ? Claim.Verdict.AGREE : slower == pairs
                        ? Claim.Verdict.DISAGREE : Claim.Verdict.INCONCLUSIVE));
        return out;
    }

    private static String exit(CellFindings f) {
        return f.plateauExit() < 0 ? "never (in " + f.steps() + " steps)" : "step " + f.plateauExit();
    }

    private static Path writeCsv(Path file, List<CellFindings> cells) throws IOException {
        StringBuilder s = new StringBuilder("seed,n_dims,curriculum,k,transformer,transformer_low,transformer_high,"
                + "least_squares,averaging,knn3,delta_least_squares\n");
        for (CellFindings f : cells) {
            Evaluation.Curve tf = f.transformer();
            for (int k = 0; k < tf.mean().length; k++) {
                s.append(String.format(Locale.ROOT, "%s,%d,%b,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g%n", f.seed(),
                        f.dims(), f.curriculum(), k, tf.mean()[k], tf.low()[k], tf.high()[k],
                        f.baseline("least_squares").mean()[k], f.baseline("averaging").mean()[k],
                        f.baseline("knn:3").mean()[k], f.toLeastSquares()[k]));
            }
        }
        AtomicFiles.write(file, s);
        return file;
    }

    /** The recipe's cells (one dimension, so one set of baseline curves) against the baselines. */
    private static Path writePlot(Path file, RunConfig c, List<CellFindings> all) throws IOException {
        List<CellFindings> cells = all.stream().filter(CellFindings::recipe).toList();
        List<LineChart.Series> series = new ArrayList<>();
        for (CellFindings f : cells) {
            Evaluation.Curve tf = f.transformer();
            series.add(new LineChart.Series("transformer, " + f.label(), tf.mean(), tf.low(), tf.high()));
        }
        CellFindings first = cells.get(0);
        for (String b : List.of("least_squares", "averaging", "knn:3")) {
            Evaluation.Curve r = first.baseline(b);
            series.add(new LineChart.Series(r.predictor(), r.mean(), r.low(), r.high()));
        }
        new LineChart("garg-regression: linear regression, d = " + c.task().nDims(), "in-context examples k",
                "squared error / d", series, 1.0, "zero predictor", true, "90% bootstrap band").writeSvg(file);
        return file;
    }

    static String summary(RunConfig c, List<CellFindings> cells, List<Claim> claims) {
        int d = c.task().nDims();
        StringBuilder s = new StringBuilder("# garg-regression: the transformer on the least-squares curve\n\n");
        s.append(String.format(Locale.ROOT, "Noiseless linear regression, d = %d, %d points per prompt; GPT-2 %d layers, "
                + "%d heads, width %d; %d steps of batch %d, %s lr %.1e (%s, %d warm-up steps); curriculum dims %d→%d, "
                + "points %d→%d, every %d steps when on. Errors: squared error over d on %d prompts, 90%% bootstrap "
                + "bands over prompts.", d, c.evalPoints(), c.model().layers(), c.model().heads(),
                c.model().width(), c.training().steps(), c.training().batchSize(),
                c.training().optimizer().name().toLowerCase(Locale.ROOT), c.training().learningRate(),
                c.training().schedule().name().toLowerCase(Locale.ROOT), c.training().warmupSteps(),
                c.curriculum().dims().start(), c.curriculum().dims().end(), c.curriculum().points().start(),
                c.curriculum().points().end(), c.curriculum().dims().interval(), c.eval().numPrompts()));
        cells.stream().filter(f -> f.comparison() && f.dims() != d).findFirst().ifPresent(f -> s.append(String.format(
                Locale.ROOT, " The curriculum comparison runs the same model at d = %d, %d points per prompt, %d steps, "
                        + "with and without the curriculum (dims %d→%d, points %d→%d, every %d steps): the plateau "
                        + "without one is longer at larger d.", f.dims(), f.transformer().mean().length, f.steps(),
                c.curriculum().dims().start(), f.dims(), c.curriculum().points().start(), f.transformer().mean().length,
                c.curriculum().dims().interval())));
        s.append(String.format(Locale.ROOT, "%n%nMeasured on %s, %s, commit %s.%n%n", BuildInfo.cpu(),
                LocalDate.now(ZoneOffset.UTC), BuildInfo.commit()));
        s.append("| seed | d | curriculum | train s | TF at k = d | TF at k = 2d | least squares at 2d | averaging at 2d "
                + "| 3-NN at 2d | max Δ(TF, LS) k < d | leaves plateau |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (CellFindings f : cells) {
            Evaluation.Curve tf = f.transformer();
            int fd = f.dims();
            int kk = Math.min(2 * fd, tf.mean().length - 1);
            double maxDelta = 0;
            for (int k = 1; k < Math.min(fd, f.toLeastSquares().length); k++) {
                maxDelta = Math.max(maxDelta, f.toLeastSquares()[k]);
            }
            s.append(String.format(Locale.ROOT, "| %s | %d | %s%s | %.0f | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %s |%n",
                    f.seed(), fd, f.curriculum() ? "on" : "off", f.recipe() ? " (recipe)" : "", f.trainSeconds(),
                    tf.mean()[Math.min(fd, tf.mean().length - 1)], tf.mean()[kk],
                    f.baseline("least_squares").mean()[kk], f.baseline("averaging").mean()[kk],
                    f.baseline("knn:3").mean()[kk], maxDelta, exit(f)));
        }
        s.append("\n").append(Claim.table(claims));
        s.append("\nCurves per k: errors.csv (every cell) and errors.svg (the recipe's cells) here, eval.csv / eval.png "
                + "in each cell's directory.\n");
        return s.toString();
    }
}
