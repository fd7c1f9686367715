package dev.incontext.experiments;

import dev.incontext.util.AtomicFiles;
import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.eval.EvalSuite;
import dev.incontext.eval.Evaluation;
import dev.incontext.eval.Evaluator;
import dev.incontext.eval.baselines.Baselines;
import dev.incontext.train.TrainedModel;
import dev.incontext.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;

/**
 * The demo: a tiny GPT-2 trained on 5-dimensional linear regression in context on the CPU (shipped config
 * {@code demo}), evaluated on the training distribution against its relevant baselines. Its targets: normalised error
 * at k = 2d at most 0.1, and below averaging and 3-NN at every k &ge; d. It replaces its own previous run.
 */
public final class Demo implements Experiment {
    @Override
    public String id() {
        return "demo";
    }

    @Override
    public String description() {
        return "a tiny transformer learns 5-dimensional linear regression in context on the CPU (minutes)";
    }

    /** The evaluation and the verdict, for callers that want the numbers. */
    public record Result(RunConfig config, Evaluation evaluation, boolean targetsMet, String verdict,
            double trainSeconds) {}

    @Override
    public ExperimentReport run(ExperimentContext ctx) throws IOException {
        return write(runDemo(ctx));
    }

    /** Writes eval.csv, eval.json, eval.png and summary.md into the run's out_dir. */
    public static ExperimentReport write(Result r) throws IOException {
        Path dir = Path.of(r.config().outDir());
        List<Path> files = SuiteFiles.writeEvaluation(r.evaluation(), r.config(), dir);
        Path summary = dir.resolve("summary.md");
        AtomicFiles.write(summary, "# demo\n\n" + r.verdict() + "\n\nTrained in " + String.format(Locale.ROOT, "%.0f",
                r.trainSeconds()) + " s. Curves: eval.csv, eval.json, eval.png.\n");
        return new ExperimentReport(summary, files, r.targetsMet(), r.verdict());
    }

    /** The file that marks a run directory as the demo's own, which a later demo may replace. */
    static final String MARKER = ".demo-run";

    public Result runDemo(ExperimentContext ctx) throws IOException {
        RunConfig c = ConfigLoader.load(RunConfig.class, ctx.configFile() != null ? ctx.configFile() : "demo", ctx.overrides());
        Baselines.validate(c.eval());
        ctx.log().accept(String.format(Locale.ROOT, "demo: training a tiny GPT-2 (%d layers, %d heads, width %d) on "
                + "%d-dimensional linear regression, %d points per prompt, %d steps on %s", c.model().layers(),
                c.model().heads(), c.model().width(), c.task().nDims(), c.curriculum().points().end(),
                c.training().steps(), c.device()));
        Path dir = Path.of(c.outDir());
        boolean holdsRun = Files.exists(dir.resolve("config.yaml")) || Files.exists(dir.resolve("checkpoints"))
                || Files.exists(dir.resolve("metrics.jsonl"));
        if (holdsRun && !Files.exists(dir.resolve(MARKER))) {
            throw new IllegalArgumentException("out_dir " + dir + " holds a run the demo did not write; the demo "
                    + "replaces only its own previous run. Choose another out_dir, or delete " + dir + " first");
        }
        long t0 = System.nanoTime();
        try (PointerScope scope = new PointerScope()) {
            TrainedModel model = new Trainer(ctx.training()).train(c, null, true);
            AtomicFiles.write(dir.resolve(MARKER), "written by `incontext demo`, which may replace this run\n");
            double trainSeconds = (System.nanoTime() - t0) / 1e9;
            ctx.log().accept(String.format(Locale.ROOT, "trained in %.0f s; evaluating on %d prompts", trainSeconds,
                    c.eval().numPrompts()));
            SuiteEvaluation.Outcome o = SuiteEvaluation.run(model, c,
                    EvalSuite.Named.STANDARD.suite(c.task()), SuiteEvaluation.Options.of(c), Evaluator.Listener.NONE);
            Evaluation e = o.result().evaluations().get(0);
            Map<String, String> specs = o.predictorSettings().get(e.setting());
            String[] verdict = new String[1];
            boolean met = verdict(e, specs, c.task().nDims(), verdict);
            return new Result(c, e, met, verdict[0], trainSeconds);
        }
    }

    /** The demo's targets, judged on the curves by the baselines' specs (not their display names). */
    static boolean verdict(Evaluation e, Map<String, String> specs, int d, String[] words) {
        double[] tf = e.curves().get(0).mean();
        List<double[]> rivals = new ArrayList<>();
        for (Evaluation.Curve c : e.curves()) {
            String spec = specs.get(c.predictor());
            if ("averaging".equals(spec) || (spec != null && spec.startsWith("knn:3"))) {
                rivals.add(c.mean());
            }
        }
        if (rivals.size() < 2) {
            throw new IllegalStateException("the demo's verdict needs the averaging and 3-NN baselines; eval.baselines "
                    + "has " + specs.values());
        }
        int k2 = Math.min(2 * d, tf.length - 1);
        boolean low = tf[k2] <= 0.1;
        boolean beats = true;
        for (int k = d; k < tf.length; k++) {
            for (double[] r : rivals) {
                beats &= tf[k] < r[k];
            }
        }
        words[0] = String.format(Locale.ROOT, "transformer at k = %d: %.4f (target <= 0.1: %s); below averaging and "
                + "3-NN at every k >= %d: %s", k2, tf[k2], low ? "met" : "NOT met", d, beats ? "yes" : "NO");
        return low && beats;
    }
}
