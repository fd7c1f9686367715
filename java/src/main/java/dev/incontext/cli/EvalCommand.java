package dev.incontext.cli;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.eval.EvalCache;
import dev.incontext.eval.EvalSuite;
import dev.incontext.eval.Evaluation;
import dev.incontext.eval.SuiteResult;
import dev.incontext.eval.baselines.Baselines;
import dev.incontext.experiments.SuiteEvaluation;
import dev.incontext.report.NpyExport;
import dev.incontext.report.Reports;
import dev.incontext.train.Checkpoints;
import dev.incontext.train.TrainedModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.PointerScope;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code incontext eval}: a trained model against its baselines over a suite of settings. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Evaluate a trained model against the baselines of its task over a suite of settings "
            + "(distribution shifts): per setting CSV, JSON and plots, and one HTML report.",
            "Suites: standard (the training distribution), garg (Garg et al.'s shifts), zhang (random covariances, "
                + "longer prompts), akyurek (SPD/ILWD against every baseline), raventos (pool vs fresh tasks).",
            "Overrides (KEY=VALUE) apply to the model's saved config, e.g. eval.num_prompts=2560 "
                + "'eval.baselines=[least_squares, ridge:0.1]'."})
final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint", required = true, description = "Checkpoint directory or run directory.")
    Path checkpoint;

    @Option(names = "--suite", defaultValue = "standard", description = "Suite of settings (default: standard).")
    String suite;

    @Option(names = "--out", description = "Where to write the results (default: eval-<suite> in the directory of the "
            + "run whose checkpoint is loaded, wherever that run was trained).")
    Path outDir;

    @Option(names = "--overwrite", description = "Replace what an earlier --export left in its folder.")
    boolean overwrite;

    @Option(names = "--export", description = "Also write prompts and every predictor's predictions as .npy files "
            + "here, one folder per setting, with a manifest.json.")
    Path exportDir;

    @Option(names = "--no-cache", description = "Recompute every curve (the cache lives in <out>/cache).")
    boolean noCache;

    @Parameters(paramLabel = "KEY=VALUE", arity = "0..*", description = "Overrides of the saved config.")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        EvalSuite.Named named = EvalSuite.Named.byId(suite);
        for (String o : overrides) {
            String key = (o.startsWith("--") ? o.substring(2) : o).split("=", 2)[0];
            if (!key.startsWith("eval.")) {
                throw new IllegalArgumentException("eval overrides may change evaluation keys (eval.*) only; '" + key
                        + "' would describe another model or task than the checkpoint's");
            }
        }
        if (exportDir != null) {
            NpyExport.checkTarget(exportDir, overwrite);   // before any work
        }
        try (PointerScope scope = new PointerScope()) {
            TrainedModel model = TrainedModel.load(checkpoint, m -> {
                out.println("note: " + m);
                out.flush();
            });
            RunConfig c = ConfigLoader.withOverrides(model.config(), overrides);
            Baselines.validate(c.eval());
            // Beside the checkpoint that was loaded, not in the out_dir recorded inside it: a copied run keeps its
            // reports to itself.
            Path dir = outDir != null ? outDir : Checkpoints.runDirOf(model.checkpoint().orElseThrow())
                    .resolve("eval-" + named.id());
            SuiteEvaluation.Options o = SuiteEvaluation.Options.of(c)
                    .withCache(noCache ? null : new EvalCache(dir.resolve("cache")))
                    .withCapture(exportDir != null);
            long t0 = System.nanoTime();
            SuiteEvaluation.Outcome outcome = SuiteEvaluation.run(model, c, named.suite(c.task()), o,
                    (setting, done, total) -> {
                        out.printf(Locale.ROOT, "\r%-22s %5d / %d prompts", setting, done, total);
                        if (done == total) {
                            out.println();
                        }
                        out.flush();
                    });
            SuiteResult r = outcome.result();
            for (Evaluation e : r.evaluations()) {
                Reports.table(e, out, Math.max(1, e.points() / 12));
            }
            for (SuiteResult.Skipped s : r.skipped()) {
                out.println("skipped " + s.setting() + ": " + s.reason());
            }
            if (exportDir != null && overwrite) {
                NpyExport.clearTarget(exportDir);
            }
            List<Path> files = SuiteEvaluation.write(outcome, c, dir, exportDir);
            out.printf(Locale.ROOT, "%d curves computed, %d from the cache, in %.1f s%n", outcome.computedCurves(),
                    outcome.cachedCurves(), (System.nanoTime() - t0) / 1e9);
            out.println("report: " + files.get(0));
            for (Path manifest : files.subList(1, files.size())) {
                out.println("export: " + manifest);
            }
            out.flush();
        }
        return 0;
    }
}
