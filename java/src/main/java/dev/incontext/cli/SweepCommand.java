package dev.incontext.cli;

import dev.incontext.sweep.Cell;
import dev.incontext.sweep.CellResult;
import dev.incontext.sweep.SweepOptions;
import dev.incontext.sweep.SweepOutcome;
import dev.incontext.sweep.SweepPlan;
import dev.incontext.sweep.SweepProgress;
import dev.incontext.sweep.SweepSpec;
import dev.incontext.sweep.Sweeps;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code incontext sweep}: a grid of training runs, as Spark tasks (embedded by default) or one by one. */
@Command(name = "sweep", mixinStandardHelpOptions = true,
        description = {"Run a grid of training runs: one run directory per cell under the sweep's out_dir, "
            + "results.csv, and for two axes heatmap.png / heatmap.svg. Re-running skips finished cells and resumes "
            + "interrupted ones.",
            "CONFIG is a sweep file (base, overrides, axes, mode, seeds, out_dir, evaluate, heatmap) or a run config "
            + "(file or shipped name) to sweep around.",
            "Axes on the command line: key=1,2,4  key=range(2,9,2)  key=logrange(1e-4,1e-2,3)  seed=0,1,2; "
            + "key=value (one value) is a fixed override."})
final class SweepCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-c", "--config"}, required = true, description = "Sweep file, or run config to use as the base.")
    String config;

    @Option(names = "--master", description = "Spark master: local[N] (embedded; default local[<cores>]), "
            + "spark://host:7077 or any Spark master URL; or serial (one by one, no Spark).")
    String master;

    @Option(names = "--out", description = "The sweep's out_dir (overrides the file's).")
    String out;

    @Option(names = "--mode", description = "How axes combine: cross (every combination) or zip (overrides the file's).")
    SweepSpec.Mode mode;

    @Option(names = "--retry", description = "Rerun cells recorded as failed.")
    boolean retry;

    @Option(names = "--fail-fast", description = "Stop the sweep at the first failed cell.")
    boolean failFast;

    @Option(names = "--threads-per-cell", description = "torch and OpenBLAS threads per cell when the config leaves "
            + "training.threads at 0 (default: cores / concurrent cells).", defaultValue = "0")
    int threadsPerCell;

    @Option(names = "--conf", description = "Spark setting, e.g. --conf spark.executor.memory=4g (repeatable).")
    Map<String, String> sparkConf = new LinkedHashMap<>();

    @Option(names = "--dry-run", description = "Print the cells and exit.")
    boolean dryRun;

    @Parameters(paramLabel = "KEY=VALUES", arity = "0..*", description = "Axes (key=v1,v2,...) and overrides (key=v).")
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        PrintWriter w = spec.commandLine().getOut();
        SweepSpec s = SweepSpec.load(config, args, mode, out);
        SweepPlan plan = SweepPlan.of(s);
        if (dryRun) {
            for (Cell c : plan.cells()) {
                w.println(c.name() + "  " + String.join(" ", c.overrides()));
            }
            w.printf("%d cells under %s%n", plan.cells().size(), plan.outDir().toAbsolutePath());
            w.flush();
            return 0;
        }
        SweepOptions o = new SweepOptions(master != null ? master : SweepOptions.defaultMaster(), retry, failFast,
                threadsPerCell, sparkConf);
        SweepProgress progress = new SweepProgress(line -> {
            synchronized (w) {
                w.println(line);
                w.flush();
            }
        });
        SweepOutcome r = Sweeps.run(plan, o, progress);
        w.printf("sweep: %d finished, %d failed, %d not finished; %.1f s; results %s%n",
                r.count(CellResult.Status.FINISHED), r.count(CellResult.Status.FAILED),
                r.count(CellResult.Status.INTERRUPTED), r.seconds(), r.resultsCsv().toAbsolutePath());
        if (r.heatmapPng() != null) {
            w.println("heatmap " + r.heatmapPng().toAbsolutePath() + " and heatmap.svg");
        }
        w.flush();
        return r.count(CellResult.Status.FINISHED) == r.cells().size() ? 0 : 1;
    }
}
