package dev.incontext.experiments;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.eval.EvalSuite;
import dev.incontext.eval.Evaluation;
import dev.incontext.eval.Evaluator;
import dev.incontext.eval.Setting;
import dev.incontext.report.LineChart;
import dev.incontext.sweep.SweepOutcome;
import dev.incontext.sweep.SweepPlan;
import dev.incontext.sweep.SweepSpec;
import dev.incontext.train.Checkpoints;
import dev.incontext.train.TrainedModel;
import dev.incontext.util.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;

/**
 * Raventós et al. (papers.md §6): transformers trained on linear regression whose tasks come from a finite pool of M,
 * for M over powers of two (a grid through the sweep runner, resumable per cell), each evaluated in one evaluation on
 * pool tasks ("pretrain") and on fresh tasks ("latent") against dMMSE (the posterior mean over the pool) and ridge
 * with λ = σ²/τ² (the posterior mean for the Gaussian prior). The transition: how far the model's predictions are
 * from each, Δ = mean (ŷ_TF − ŷ_baseline)² / D over prompts and positions, as M grows, and the pool size M* where the
 * fresh-task predictions move from nearer dMMSE to nearer ridge, with a bootstrap band over prompts. Beside the grid a
 * control cell trains without a pool (the Gaussian prior itself, M = ∞): only when the step budget brings it to
 * within 10% of ridge's error can the grid's regimes be told apart from under-training.
 */
public final class RaventosDiversity implements Experiment {
    /**
     * The grid of M unless {@code grid=...} is given: 4^1 .. 4^5 on the CPU (D = 4), 2^0 .. 2^20 for the paper. Five
     * pool sizes and the control are six cells, three rounds of two side by side on 2 cores (seven would be four
     * rounds, over the 45-minute budget at 20000 steps). The pool size left out is 4096, the row that separated the
     * regimes least: at D = 4 dMMSE over 4096 tasks is only 11-14% above ridge's error on fresh tasks, no more than
     * the control's own excess over ridge on the three seeds of the 12000-step recipe (7-16%); at M = 1024 dMMSE is
     * 26-39% above ridge. At 20000 steps (control 5-7% above ridge) the 4096 row is not measured
     * (benchmarks/results/experiments/raventos-diversity-cpu/README.md).
     */
    static final List<Long> CPU_GRID = List.of(4L, 16L, 64L, 256L, 1024L);
    /**
     * The step budget is sufficient when the control's error at the last position on fresh tasks is at most this
     * many times ridge's (fixed before any run): ridge is the Bayes predictor of the control's own distribution.
     */
    static final double CONTROL_TOLERANCE = 1.10;
    /** Bootstrap resamples of the prompts for the band of M*, from a fixed seed so that a rerun prints the same. */
    static final int RESAMPLES = 1000;
    static final long BOOTSTRAP_SEED = 20230529L;
    /** The band of M*: its central 90% over the resamples that switch. */
    static final double BAND = 0.90;
    /** The threshold claim agrees only when at most this share of resamples shows no switch at all. */
    static final double MAX_NO_SWITCH = 0.10;

    @Override
    public String id() {
        return "raventos-diversity";
    }

    @Override
    public String description() {
        return "Raventós et al.'s task diversity: error against dMMSE and ridge on pool and fresh tasks as the pool "
                + "size M grows, the switch M* with its bootstrap band, and a control without a pool (grid=1,4,16 "
                + "sets M; control=false drops the control; tens of minutes on the CPU)";
    }

    /**
     * One pool size M in one setting ("standard": the pool's tasks; "fresh_tasks": tasks drawn fresh from the prior):
     * the errors at the last position of the model, dMMSE and ridge, and the model's distances Δ to dMMSE and to
     * ridge. M = 0 is the control (no pool), on fresh tasks only and without dMMSE: its dMMSE columns are NaN.
     */
    public record Row(long tasks, String setting, double model, double dmmse, double ridge, double toDmmse,
            double toRidge) {
        public Row {
            if (tasks < 0) {
                throw new IllegalArgumentException("row: the pool size M must be >= 0 (0: the control); got " + tasks);
            }
            if (!"standard".equals(setting) && !"fresh_tasks".equals(setting)) {
                throw new IllegalArgumentException("row M = " + tasks + ": setting must be standard or fresh_tasks; "
                        + "got " + setting);
            }
            String where = "row M = " + tasks + ", " + setting;
            if (tasks == 0) {
                if (setting.equals("standard")) {
                    throw new IllegalArgumentException(where + ": the control (M = 0) has no pool, so its only "
                            + "setting is fresh_tasks");
                }
                if (!Double.isNaN(dmmse) || !Double.isNaN(toDmmse)) {
                    throw new IllegalArgumentException(where + ": the control has no pool and so no dMMSE; dmmse and "
                            + "toDmmse must be NaN, got " + dmmse + " and " + toDmmse);
                }
            } else {
                requireNonNegative(where, "dmmse", dmmse);
                requireNonNegative(where, "toDmmse", toDmmse);
            }
            requireNonNegative(where, "model", model);
            requireNonNegative(where, "ridge", ridge);
            requireNonNegative(where, "toRidge", toRidge);
        }

        /** Whether this is the control: no pool (task.num_tasks = 0), the Gaussian prior itself. */
        public boolean control() {
            return tasks == 0;
        }
    }

    /**
     * One pool size M on fresh tasks, per prompt: the mean over positions k >= 1 of (ŷ_TF − ŷ_dMMSE)² / D and of
     * (ŷ_TF − ŷ_ridge)² / D. Their means over the prompts are the row's Δs, so resampling prompts resamples the Δs.
     */
    record PromptDistances(long tasks, double[] toDmmse, double[] toRidge) {
        PromptDistances {
            if (tasks < 1) {
                throw new IllegalArgumentException("prompt distances: the pool size M must be >= 1; got " + tasks);
            }
            if (toDmmse.length == 0 || toDmmse.length != toRidge.length) {
                throw new IllegalArgumentException("prompt distances at M = " + tasks + ": need one distance per "
                        + "prompt to dMMSE and to ridge, as many of each and at least one; got " + toDmmse.length
                        + " and " + toRidge.length);
            }
            for (int p = 0; p < toDmmse.length; p++) {
                requireNonNegative("prompt distances at M = " + tasks + ", prompt " + p, "toDmmse", toDmmse[p]);
                requireNonNegative("prompt distances at M = " + tasks + ", prompt " + p, "toRidge", toRidge[p]);
            }
            toDmmse = toDmmse.clone();
            toRidge = toRidge.clone();
        }

        int prompts() {
            return toDmmse.length;
        }
    }

    /**
     * Where the model's fresh-task predictions move from nearer dMMSE to nearer ridge as M grows: the switch M*
     * ({@link #switchPoint}; NaN when there is none), its {@link #BAND} bootstrap band over prompts (low and high; NaN
     * when no resample switches), and the share of the resamples without a switch.
     */
    record Transition(double switchM, double low, double high, double noSwitch, int resamples, int prompts) {
        Transition {
            if (resamples < 1 || prompts < 1) {
                throw new IllegalArgumentException("transition: resamples and prompts must be >= 1; got " + resamples
                        + " and " + prompts);
            }
            if (!(noSwitch >= 0 && noSwitch <= 1)) {
                throw new IllegalArgumentException("transition: the share of resamples without a switch must be in "
                        + "[0, 1]; got " + noSwitch);
            }
            if (!Double.isNaN(switchM) && !(switchM > 0 && Double.isFinite(switchM))) {
                throw new IllegalArgumentException("transition: M* must be a positive number, or NaN for no switch; "
                        + "got " + switchM);
            }
            boolean noBand = Double.isNaN(low) && Double.isNaN(high);
            if (noBand != (noSwitch == 1) || !noBand && !(low > 0 && low <= high && Double.isFinite(high))) {
                throw new IllegalArgumentException("transition: the band must be 0 < low <= high when some resample "
                        + "switches, and NaN when none does; got [" + low + ", " + high + "] with a share of "
                        + noSwitch + " without a switch");
            }
        }

        boolean switched() {
            return !Double.isNaN(switchM);
        }

        String describe() {
            String share = String.format(Locale.ROOT, "%.1f%% of %d bootstrap resamples of the %d prompts have no "
                    + "switch", 100 * noSwitch, resamples, prompts);
            if (!switched()) {
                return "no switch: g(M) does not go from < 0 to > 0 over the grid; " + share;
            }
            return String.format(Locale.ROOT, "M* = %.3g, %.0f%% band %s; %s", switchM, 100 * BAND,
                    Double.isNaN(low) ? "none (no resample switches)"
                            : String.format(Locale.ROOT, "[%.3g, %.3g]", low, high), share);
        }
    }

    private static void requireNonNegative(String where, String name, double v) {
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(where + ": " + name + " must be a finite number >= 0; got " + v);
        }
    }

    @Override
    public ExperimentReport run(ExperimentContext ctx) throws IOException {
        List<String> overrides = new ArrayList<>();
        List<Long> grid = new ArrayList<>();
        boolean control = true;
        for (String o : ctx.overrides()) {
            if (o.startsWith("grid=")) {
                for (String v : Grids.values(o.substring(5))) {
                    long m = Long.parseLong(v);
                    if (m < 1) {
                        throw new IllegalArgumentException("grid: every pool size M must be >= 1 (the control without "
                                + "a pool is added unless control=false); got " + m);
                    }
                    grid.add(m);
                }
            } else if (o.startsWith("control=")) {
                control = Grids.flag(o, "no control cell without a pool");
            } else {
                overrides.add(o);
            }
        }
        if (grid.isEmpty()) {
            if (ctx.paperPreset()) {
                for (int i = 0; i <= 20; i++) {
                    grid.add(1L << i);
                }
            } else {
                grid.addAll(CPU_GRID);
            }
        }
        grid.sort(null);   // the claims and the switch read the pool sizes in ascending order
        String base = ctx.configFile() != null ? ctx.configFile() : ctx.paperPreset() ? "raventos_diversity_paper"
                : "raventos_diversity";
        RunConfig c = ConfigLoader.load(RunConfig.class, base, overrides);
        if (c.task().name() != RunConfig.TaskKind.NOISY_LINEAR_REGRESSION || c.task().renormalizeYs()
                || c.task().noiseStd() <= 0) {
            throw new IllegalArgumentException("raventos-diversity needs noisy_linear_regression with noise_std > 0 "
                    + "and renormalize_ys false (dMMSE's likelihood); the config has " + c.task().name());
        }
        Path dir = Path.of(c.outDir());
        List<String> axis = new ArrayList<>(grid.stream().map(String::valueOf).toList());
        if (control) {
            axis.add("0");
        }
        SweepSpec spec = new SweepSpec(base, overrides, List.of(new SweepSpec.Axis("task.num_tasks", axis),
                Grids.seedAxis(c)), SweepSpec.Mode.CROSS, 0, dir.resolve("cells").toString(), false, "final_loss");
        SweepPlan plan = SweepPlan.of(spec);
        ctx.log().accept("raventos-diversity: " + grid.size() + " pool sizes M = " + grid + (control ? " and the "
                + "control without a pool" : "") + ", master " + ctx.master());
        SweepOutcome outcome = Grids.train(plan, ctx.master(), ctx.log());
        List<Row> rows = new ArrayList<>();
        List<PromptDistances> fresh = new ArrayList<>();
        List<Snapshot> history = new ArrayList<>();
        Row controlRow = null;
        for (var cell : plan.cells()) {
            try (PointerScope scope = new PointerScope()) {
                TrainedModel model = Grids.load(plan, outcome, cell, ctx);
                RunConfig cc = model.config();
                long m = cc.task().numTasks();
                int d = cc.task().nDims();
                if (m == 0) {
                    controlRow = controlRow(model, cc);
                    continue;
                }
                SuiteEvaluation.Outcome o = SuiteEvaluation.run(model, cc, EvalSuite.Named.RAVENTOS.suite(cc.task()),
                        SuiteEvaluation.Options.of(cc).withCapture(true), Evaluator.Listener.NONE);
                for (Evaluation e : o.result().evaluations()) {
                    Evaluator.Captured cap = o.captured().get(e.setting());
                    Map<String, String> specs = o.predictorSettings().get(e.setting());
                    String tf = e.curves().get(0).predictor();
                    String dmmse = baseline(specs, "dmmse");
                    String ridge = baseline(specs, "bayes_ridge");
                    double[] toD = perPromptDistance(cap, tf, dmmse, d);
                    double[] toR = perPromptDistance(cap, tf, ridge, d);
                    rows.add(new Row(m, e.setting(), lastError(e, tf), lastError(e, dmmse), lastError(e, ridge),
                            mean(toD), mean(toR)));
                    if (e.setting().equals("fresh_tasks")) {
                        fresh.add(new PromptDistances(m, toD, toR));
                    }
                }
            }
            history.addAll(history(Path.of(plan.cellConfig(cell).outDir()), ctx));
        }
        if (controlRow != null) {
            rows.add(controlRow);
        }
        Transition transition = locate(fresh, RESAMPLES, BOOTSTRAP_SEED);
        Files.createDirectories(dir);
        StringBuilder csv = new StringBuilder("num_tasks,setting,model_error,dmmse_error,ridge_error,delta_dmmse,"
                + "delta_ridge\n");
        for (Row r : rows) {
            csv.append(String.format(Locale.ROOT, "%d,%s,%.6g,%.6g,%.6g,%.6g,%.6g%n", r.tasks(), r.setting(), r.model(),
                    r.dmmse(), r.ridge(), r.toDmmse(), r.toRidge()));
        }
        Path table = dir.resolve("diversity.csv");
        AtomicFiles.write(table, csv);
        StringBuilder hist = new StringBuilder("num_tasks,step,delta_dmmse,delta_ridge,like\n");
        for (Snapshot h : history) {
            hist.append(String.format(Locale.ROOT, "%d,%d,%.6g,%.6g,%s%n", h.row().tasks(), h.step(), h.row().toDmmse(),
                    h.row().toRidge(), like(h.row())));
        }
        Path transients = dir.resolve("transients.csv");
        AtomicFiles.write(transients, hist);
        List<Path> files = new ArrayList<>(List.of(table, transients));
        for (String setting : List.of("standard", "fresh_tasks")) {
            List<Row> s = rows.stream().filter(r -> !r.control() && r.setting().equals(setting)).toList();
            double[] toD = s.stream().mapToDouble(Row::toDmmse).toArray();
            double[] toR = s.stream().mapToDouble(Row::toRidge).toArray();
            boolean reference = setting.equals("fresh_tasks") && controlRow != null;
            LineChart chart = new LineChart("raventos-diversity: " + (setting.equals("standard") ? "pretrain (pool) "
                    + "tasks" : "latent (fresh) tasks") + ", M = " + grid, "pool size: index into M = " + grid,
                    "mean (y_TF - y_baseline)^2 / D", List.of(new LineChart.Series("to dMMSE", toD, null, null),
                            new LineChart.Series("to ridge", toR, null, null)),
                    reference ? controlRow.toRidge() : Double.NaN, reference ? "control (no pool): to ridge" : "",
                    true, "");
            Path svg = dir.resolve("transition_" + setting + ".svg");
            chart.writeSvg(svg);
            files.add(svg);
        }
        Path summary = dir.resolve("summary.md");
        AtomicFiles.write(summary, summary(c, rows, transition) + transients(rows, history));
        return new ExperimentReport(summary, files, true, "measured " + grid.size() + " pool sizes" + (control
                ? " and the control" : "") + "; see the summary for where the model moves from dMMSE to ridge");
    }

    /** A pool size's fresh-task row at an earlier kept checkpoint (eval.n_checkpoints) of its run. */
    record Snapshot(long step, Row row) {
        Snapshot {
            if (step < 1 || row.control() || !row.setting().equals("fresh_tasks")) {
                throw new IllegalArgumentException("snapshot: a step >= 1 of a pool size's fresh-task row; got step "
                        + step + ", M = " + row.tasks() + ", " + row.setting());
            }
        }
    }

    /**
     * A cell's earlier kept checkpoints (all but its newest), each evaluated on fresh tasks against dMMSE and ridge;
     * none for the control (no dMMSE) or when the run kept none.
     */
    private static List<Snapshot> history(Path runDir, ExperimentContext ctx) throws IOException {
        List<Path> checkpoints = Checkpoints.list(runDir);
        List<Snapshot> out = new ArrayList<>();
        for (Path ck : checkpoints.subList(0, Math.max(0, checkpoints.size() - 1))) {
            try (PointerScope scope = new PointerScope()) {
                TrainedModel model = TrainedModel.load(ck, ctx.log());
                RunConfig cc = model.config();
                if (cc.task().numTasks() == 0) {
                    return List.of();
                }
                SuiteEvaluation.Outcome o = SuiteEvaluation.run(model, cc, EvalSuite.of("raventos-fresh", false,
                        new Setting.FreshTasks()), SuiteEvaluation.Options.of(cc).withCapture(true),
                        Evaluator.Listener.NONE);
                Evaluation e = o.result().evaluations().get(0);
                Map<String, String> specs = o.predictorSettings().get(e.setting());
                String tf = e.curves().get(0).predictor();
                String dmmse = baseline(specs, "dmmse");
                String ridge = baseline(specs, "bayes_ridge");
                Evaluator.Captured cap = o.captured().get(e.setting());
                int d = cc.task().nDims();
                out.add(new Snapshot(Checkpoints.inspect(ck).step(), new Row(cc.task().numTasks(), e.setting(), lastError(e, tf),
                        lastError(e, dmmse), lastError(e, ridge), mean(perPromptDistance(cap, tf, dmmse, d)),
                        mean(perPromptDistance(cap, tf, ridge, d)))));
            }
        }
        return out;
    }

    /**
     * The summary's section on transients (Carroll et al. 2025: ridge-like behaviour at intermediate M can fade with
     * more training): per pool size, the earlier checkpoints at which its fresh-task predictions were ridge-like
     * ({@link #like}) while its final ones are not.
     */
    static String transients(List<Row> rows, List<Snapshot> history) {
        StringBuilder s = new StringBuilder("\n## Earlier checkpoints: transient ridge-like phases\n\n");
        if (history.isEmpty()) {
            return s.append("No earlier checkpoints were kept (eval.n_checkpoints = 0, or cells trained before they "
                    + "were kept), so transients could not be looked for.\n").toString();
        }
        int seen = 0;
        for (Row last : rows) {
            if (last.control() || !last.setting().equals("fresh_tasks")) {
                continue;
            }
            List<Long> ridgeSteps = history.stream().filter(h -> h.row().tasks() == last.tasks()
                    && like(h.row()).equals("ridge")).map(Snapshot::step).toList();
            if (!ridgeSteps.isEmpty() && !like(last).equals("ridge")) {
                seen++;
                s.append(String.format(Locale.ROOT, "- M = %d: ridge-like at step%s %s, not at the end (%s): "
                        + "transient.%n", last.tasks(), ridgeSteps.size() > 1 ? "s" : "", ridgeSteps, like(last)));
            }
        }
        long steps = history.stream().map(Snapshot::step).distinct().count();
        if (seen == 0) {
            s.append(String.format(Locale.ROOT, "No transient ridge-like phase seen at the kept checkpoints (%d "
                    + "earlier steps over %d pool sizes; transients.csv).%n", steps,
                    history.stream().map(h -> h.row().tasks()).distinct().count()));
        }
        return s.toString();
    }

    /**
     * The control's row: the model trained without a pool, on its own distribution (fresh tasks from the prior), against
     * ridge only, since without a pool there is no dMMSE.
     */
    private static Row controlRow(TrainedModel model, RunConfig cc) throws IOException {
        RunConfig ce = ConfigLoader.withOverrides(cc, List.of("eval.baselines=[bayes_ridge]"));
        SuiteEvaluation.Outcome o = SuiteEvaluation.run(model, ce, EvalSuite.Named.STANDARD.suite(ce.task()),
                SuiteEvaluation.Options.of(ce).withCapture(true), Evaluator.Listener.NONE);
        Evaluation e = o.result().evaluations().get(0);
        String tf = e.curves().get(0).predictor();
        String ridge = baseline(o.predictorSettings().get(e.setting()), "bayes_ridge");
        return new Row(0, "fresh_tasks", lastError(e, tf), Double.NaN, lastError(e, ridge), Double.NaN,
                mean(perPromptDistance(o.captured().get(e.setting()), tf, ridge, ce.task().nDims())));
    }

    /** The name of the predictor configured as {@code spec} (dmmse, bayes_ridge); an error naming what there is. */
    private static String baseline(Map<String, String> specs, String spec) {
        return Grids.predictorWith(specs, spec, "raventos-diversity");
    }

    private static double lastError(Evaluation e, String predictor) {
        double[] mean = e.curve(predictor).mean();
        return mean[mean.length - 1];
    }

    private static double mean(double[] a) {
        double s = 0;
        for (double v : a) {
            s += v;
        }
        return s / a.length;
    }

    /**
     * Per prompt, the mean over positions k >= 1 of (ŷ_a − ŷ_b)² / D: the prompt's share of Raventós et al.'s distance
     * Δ, which is the mean of these over the prompts (every prompt has the same positions).
     */
    static double[] perPromptDistance(Evaluator.Captured cap, String a, String b, int d) {
        if (cap.points() < 2) {
            throw new IllegalArgumentException("Δ is measured at positions k >= 1; the prompts have " + cap.points()
                    + " point(s)");
        }
        double[] out = cap.squaredDifferenceByPrompt(a, b, 1);
        for (int p = 0; p < out.length; p++) {
            out[p] /= d;
        }
        return out;
    }

    /**
     * The switch M* of g(M) = Δ(TF, dMMSE) − Δ(TF, ridge) over ascending pool sizes: between the last M with g < 0
     * and the first M after it with g > 0, where g, interpolated linearly in log₂ M, crosses zero. NaN when g never
     * goes from negative to positive, or goes back below zero at a larger M (the model ends nearer dMMSE).
     */
    static double switchPoint(long[] tasks, double[] g) {
        int below = -1;
        for (int i = 0; i < g.length; i++) {
            if (g[i] < 0) {
                below = i;
            }
        }
        if (below < 0) {
            return Double.NaN;
        }
        for (int j = below + 1; j < g.length; j++) {
            if (g[j] > 0) {
                double lo = Math.log(tasks[below]) / Math.log(2);
                double hi = Math.log(tasks[j]) / Math.log(2);
                return Math.pow(2, lo + (hi - lo) * g[below] / (g[below] - g[j]));
            }
        }
        return Double.NaN;
    }

    /**
     * The transition on fresh tasks: M* from the Δs of {@code perM} (ascending M), and its {@link #BAND} band from
     * {@code resamples} bootstrap resamples of the prompts, drawn with replacement from {@code seed}. Every M was
     * evaluated on the same fresh prompts (one evaluation seed, prompts drawn independently of the pool), so one
     * resample picks the same prompts for every M. A resample whose g never switches counts towards the share
     * without a switch; the band is the 5th and 95th percentiles of M* over the others.
     */
    static Transition locate(List<PromptDistances> perM, int resamples, long seed) {
        if (perM.isEmpty()) {
            throw new IllegalArgumentException("transition: no pool sizes to locate the switch among");
        }
        if (resamples < 1) {
            throw new IllegalArgumentException("transition: resamples must be >= 1; got " + resamples);
        }
        int n = perM.get(0).prompts();
        long[] tasks = new long[perM.size()];
        double[][] gap = new double[perM.size()][n];
        double[] g = new double[perM.size()];
        for (int i = 0; i < perM.size(); i++) {
            PromptDistances pd = perM.get(i);
            if (i > 0 && pd.tasks() <= tasks[i - 1]) {
                throw new IllegalArgumentException("transition: pool sizes must be strictly ascending; got M = "
                        + pd.tasks() + " after M = " + tasks[i - 1]);
            }
            if (pd.prompts() != n) {
                throw new IllegalArgumentException("transition: M = " + pd.tasks() + " has " + pd.prompts()
                        + " prompts but M = " + perM.get(0).tasks() + " has " + n + "; every M must be evaluated on "
                        + "the same fresh prompts");
            }
            tasks[i] = pd.tasks();
            for (int p = 0; p < n; p++) {
                gap[i][p] = pd.toDmmse()[p] - pd.toRidge()[p];
            }
            g[i] = mean(pd.toDmmse()) - mean(pd.toRidge());
        }
        SplittableRandom random = new SplittableRandom(seed);
        int[] pick = new int[n];
        double[] resampled = new double[tasks.length];
        double[] switches = new double[resamples];
        int switched = 0;
        for (int r = 0; r < resamples; r++) {
            for (int p = 0; p < n; p++) {
                pick[p] = random.nextInt(n);
            }
            for (int i = 0; i < tasks.length; i++) {
                double s = 0;
                for (int p : pick) {
                    s += gap[i][p];
                }
                resampled[i] = s / n;
            }
            double m = switchPoint(tasks, resampled);
            if (!Double.isNaN(m)) {
                switches[switched++] = m;
            }
        }
        double[] found = Arrays.copyOf(switches, switched);
        Arrays.sort(found);
        double tail = (1 - BAND) / 2;
        return new Transition(switchPoint(tasks, g), switched == 0 ? Double.NaN : percentile(found, tail),
                switched == 0 ? Double.NaN : percentile(found, 1 - tail), (resamples - switched) / (double) resamples,
                resamples, n);
    }

    /** The q-quantile of sorted values, interpolating linearly between order statistics. */
    private static double percentile(double[] sorted, double q) {
        double at = q * (sorted.length - 1);
        int lo = (int) Math.floor(at);
        int hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (at - lo) * (sorted[hi] - sorted[lo]);
    }

    /**
     * The largest distance Δ (mean squared difference of predictions over D) at which the transformer counts as
     * behaving like a Bayes predictor, fixed before any run: the Bayes predictors' own errors are about 0.03 to 0.07
     * here, so a model within 0.05 of one predicts like it to within that predictor's own error.
     */
    static final double LIKE = 0.05;
    /** ... and it must be this many times closer to that predictor than to the other. */
    static final double RATIO = 4;

    /**
     * Which Bayes predictor the model behaves like, by distances alone (never by error sizes): "dMMSE" or "ridge" when
     * its distance to it is at most {@link #LIKE} and {@link #RATIO} times below its distance to the other; otherwise
     * "neither" (with the nearer one named). The control has no dMMSE to compare with: an error.
     */
    static String like(Row r) {
        if (r.control()) {
            throw new IllegalArgumentException("the control (M = 0) has no dMMSE; judge it by its error against "
                    + "ridge's");
        }
        boolean dmmse = r.toDmmse() < r.toRidge();
        double near = Math.min(r.toDmmse(), r.toRidge());
        double far = Math.max(r.toDmmse(), r.toRidge());
        String name = dmmse ? "dMMSE" : "ridge";
        return near <= LIKE && near * RATIO <= far ? name : "neither (nearer " + name + ")";
    }

    /** The claim that {@code row} behaves like {@code expected} (rather than {@code other}), judged by {@link #like}. */
    private static Claim regime(String claim, String where, Row row, String expected, String other) {
        String l = like(row);
        double toExpected = expected.equals("dMMSE") ? row.toDmmse() : row.toRidge();
        double toOther = expected.equals("dMMSE") ? row.toRidge() : row.toDmmse();
        return new Claim(claim, String.format(Locale.ROOT, "at %s: Δ to %s <= %.2f and %.0fx below Δ to %s", where,
                expected, LIKE, RATIO, other),
                String.format(Locale.ROOT, "M = %d: Δ(%s) %.3g, Δ(%s) %.3g: %s", row.tasks(), expected, toExpected,
                        other, toOther, l),
                l.equals(expected) ? Claim.Verdict.AGREE : l.equals(other) ? Claim.Verdict.DISAGREE
                        : Claim.Verdict.INCONCLUSIVE);
    }

    /** Whether the step budget suffices: the control's error against {@link #CONTROL_TOLERANCE} times ridge's. */
    private static Claim budget(Row control) {
        return new Claim("the step budget trains the control to ridge", String.format(Locale.ROOT, "the control (no "
                + "pool, M = ∞) on fresh tasks: error at the last position <= %.2f × ridge's", CONTROL_TOLERANCE),
                String.format(Locale.ROOT, "control %.4f, ridge %.4f: %.2f × ridge's error", control.model(),
                        control.ridge(), control.model() / control.ridge()),
                control.model() <= CONTROL_TOLERANCE * control.ridge() ? Claim.Verdict.AGREE
                        : Claim.Verdict.DISAGREE);
    }

    /** {@code c} when the budget is insufficient: inconclusive, saying so and what its criterion alone reads. */
    private static Claim underTrained(Claim c, Row control) {
        return new Claim(c.claim(), c.criterion(), String.format(Locale.ROOT, "%s; but the step budget is insufficient "
                + "(the control is at %.2f × ridge's error), and under-training cannot tell the regimes apart (by the "
                + "criterion alone: %s)", c.measured(), control.model() / control.ridge(),
                c.verdict().name().toLowerCase(Locale.ROOT)), Claim.Verdict.INCONCLUSIVE);
    }

    /**
     * Raventós et al.'s claims judged by {@link #like} on the grid's rows and by the located {@code transition} (criteria
     * fixed before the run). With a control row, the first claim is whether the step budget trains it to ridge; when
     * it does not, every other claim is inconclusive, saying so.
     */
    static List<Claim> claims(List<Row> rows, Transition transition) {
        List<Row> controls = rows.stream().filter(Row::control).toList();
        if (controls.size() > 1) {
            throw new IllegalArgumentException("claims: at most one control row (M = 0); got " + controls.size());
        }
        List<Row> pool = rows.stream().filter(r -> !r.control() && r.setting().equals("standard")).toList();
        List<Row> fresh = rows.stream().filter(r -> !r.control() && r.setting().equals("fresh_tasks")).toList();
        List<Claim> judged = new ArrayList<>();
        // Small M: the smallest pool with more than one task (with one task dMMSE is that task: trivially matched).
        Row small = pool.stream().filter(r -> r.tasks() > 1).findFirst().orElse(pool.isEmpty() ? null : pool.get(0));
        if (small != null) {
            judged.add(regime("small M: the transformer behaves like dMMSE on the pool's tasks", "the smallest M > 1, "
                    + "on pool tasks", small, "dMMSE", "ridge"));
        }
        if (!fresh.isEmpty()) {
            judged.add(regime("large M: the transformer behaves like ridge on fresh tasks", "the largest M, on fresh "
                    + "tasks", fresh.get(fresh.size() - 1), "ridge", "dMMSE"));
            Row first = fresh.stream().filter(r -> like(r).equals("ridge")).findFirst().orElse(null);
            judged.add(new Claim("a threshold in M from dMMSE to ridge (paper: 2¹⁴–2¹⁵ for its base model)",
                    "the smallest M whose fresh-task row behaves like ridge, above a smaller M that behaves like dMMSE",
                    first == null ? "no M behaves like ridge on fresh tasks" : "first M like ridge: " + first.tasks(),
                    first == null ? Claim.Verdict.INCONCLUSIVE : pool.stream().anyMatch(r -> r.tasks() < first.tasks()
                            && like(r).equals("dMMSE")) ? Claim.Verdict.AGREE : Claim.Verdict.INCONCLUSIVE));
        }
        judged.add(new Claim("the move from dMMSE to ridge happens at a threshold M*", String.format(Locale.ROOT,
                "on fresh tasks g(M) = Δ(TF, dMMSE) − Δ(TF, ridge) goes from < 0 to > 0 (M* interpolated in log₂ M), "
                        + "and at most %.0f%% of %d bootstrap resamples of the prompts have no switch",
                100 * MAX_NO_SWITCH, transition.resamples()), transition.describe(),
                transition.switched() && transition.noSwitch() <= MAX_NO_SWITCH ? Claim.Verdict.AGREE
                        : Claim.Verdict.INCONCLUSIVE));
        if (controls.isEmpty()) {
            return judged;
        }
        Row control = controls.get(0);
        Claim budget = budget(control);
        List<Claim> out = new ArrayList<>(List.of(budget));
        for (Claim c : judged) {
            out.add(budget.verdict() == Claim.Verdict.AGREE ? c : underTrained(c, control));
        }
        return out;
    }

    static String summary(RunConfig c, List<Row> rows, Transition transition) {
        StringBuilder s = new StringBuilder("# raventos-diversity: task diversity and the move from dMMSE to ridge\n\n");
        s.append(String.format(Locale.ROOT, "Noisy linear regression, D = %d, K = %d points, noise σ = %.2g (σ² = %.3g), "
                + "τ = %.2g; GPT-2 %d layers, width %d, %d heads, %s encoding; %d steps of batch %d, %s lr %.1e (%s). "
                + "Errors: squared error at the last position over E[y²]. Δ: mean (ŷ_TF − ŷ_baseline)² / D over "
                + "prompts and positions (Raventós et al.'s distance), %d prompts per setting.%n%n", c.task().nDims(),
                c.evalPoints(), c.task().noiseStd(), c.task().noiseStd() * c.task().noiseStd(), c.task().yScale(),
                c.model().layers(), c.model().width(), c.model().heads(), c.model().encoding().name()
                        .toLowerCase(Locale.ROOT), c.training().steps(), c.training().batchSize(),
                c.training().optimizer().name().toLowerCase(Locale.ROOT), c.training().learningRate(),
                c.training().schedule().name().toLowerCase(Locale.ROOT), c.eval().numPrompts()));
        s.append("| M | setting | transformer | dMMSE | ridge | Δ(TF, dMMSE) | Δ(TF, ridge) | behaves like |\n");
        s.append("|---|---|---|---|---|---|---|---|\n");
        int neither = 0;
        int judged = 0;
        Row control = null;
        for (Row r : rows) {
            if (r.control()) {
                control = r;
                s.append(String.format(Locale.ROOT, "| ∞ (control) | latent | %.4f | – | %.4f | – | %.2e | "
                        + "control: %.2f × ridge's error |%n", r.model(), r.ridge(), r.toRidge(), r.model() / r.ridge()));
                continue;
            }
            String like = like(r);
            judged++;
            if (like.startsWith("neither")) {
                neither++;
            }
            s.append(String.format(Locale.ROOT, "| %d | %s | %.4f | %.4f | %.4f | %.2e | %.2e | %s |%n", r.tasks(),
                    r.setting().equals("standard") ? "pretrain" : "latent", r.model(), r.dmmse(), r.ridge(), r.toDmmse(),
                    r.toRidge(), like));
        }
        s.append(String.format(Locale.ROOT, "%n\"Behaves like\" is judged by distances only: within Δ = %.2f of a Bayes "
                + "predictor and %.0fx nearer it than the other; %d of %d rows are like neither.%n%n", LIKE, RATIO,
                neither, judged));
        if (control == null) {
            s.append("No control cell (control=false): whether the step budget suffices is not measured.\n\n");
        } else {
            boolean enough = control.model() <= CONTROL_TOLERANCE * control.ridge();
            s.append(String.format(Locale.ROOT, "The control, trained without a pool (the Gaussian prior itself), ends at "
                    + "%.2f × ridge's error on fresh tasks: the step budget is %s (criterion: <= %.2f ×)%s.%n%n",
                    control.model() / control.ridge(), enough ? "sufficient" : "insufficient", CONTROL_TOLERANCE,
                    enough ? "" : ", so the regime claims below are inconclusive"));
        }
        s.append("Switch from dMMSE to ridge on fresh tasks, g(M) = Δ(TF, dMMSE) − Δ(TF, ridge):");
        for (Row r : rows) {
            if (!r.control() && r.setting().equals("fresh_tasks")) {
                s.append(String.format(Locale.ROOT, " M = %d: %+.3g;", r.tasks(), r.toDmmse() - r.toRidge()));
            }
        }
        s.append(String.format(Locale.ROOT, " %s. M* interpolates g linearly in log₂ M between the last M with g < 0 "
                + "and the first after it with g > 0; the band is the 5th and 95th percentiles of M* over resamples of "
                + "the prompts with replacement (the same prompts for every M, seed %d) that switch.%n%n",
                transition.describe(), BOOTSTRAP_SEED));
        s.append(Claim.table(claims(rows, transition)));
        s.append("\nThe CPU preset trains far shorter and smaller than the paper (see above), so where its transition "
                + "lies is not the paper's threshold; `--preset paper` runs the paper's sizes.\n");
        return s.toString();
    }
}
