package dev.incontext.cli;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.eval.EvalThroughput;
import dev.incontext.util.BuildInfo;
import dev.incontext.util.Devices;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code incontext bench-eval}: evaluation throughput of each task's baseline set, with each baseline's share. */
@Command(name = "bench-eval", mixinStandardHelpOptions = true,
        description = "Time each task's relevant baselines on one batch of prompts: prompts x positions per second "
            + "and each baseline's share of the set's time.")
final class BenchEvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--tasks", split = ",", defaultValue = "linear_regression,noisy_linear_regression,"
            + "sparse_linear_regression,relu_2nn_regression,decision_tree,linear_classification",
            description = "Shipped task configs to measure (default: every family).")
    List<String> tasks = new ArrayList<>();

    @Option(names = "--prompts", defaultValue = "64")
    int prompts;

    @Option(names = "--points", defaultValue = "0", description = "Points per prompt (0 = the config's eval length).")
    int points;

    @Option(names = "--repeats", defaultValue = "3", description = "Timed repetitions (best is reported).")
    int repeats;

    @Option(names = "--reference", description = "Also time the reference implementation of each accelerated "
            + "baseline (the GD-trained ReLU net, XGBoost) on the same batch, with the speed-up and how far apart "
            + "the two predict (max |fast - reference| / max |reference|).")
    boolean reference;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "# evaluation throughput, cpu: %s, commit %s%n", BuildInfo.cpu(), BuildInfo.commit());
        out.printf(Locale.ROOT, "%-26s %-28s %-24s %10s %14s %7s%s%n", "task", "baseline", "spec", "ms/batch",
                "positions/s", "share", reference ? String.format(Locale.ROOT, " %14s %9s %12s", "reference ms",
                        "speed-up", "max rel diff") : "");
        for (String t : tasks) {
            RunConfig c = ConfigLoader.load(RunConfig.class, t, List.of());
            int n = points > 0 ? points : c.evalPoints();
            for (EvalThroughput.Row r : EvalThroughput.measure(c.task(), c.eval(), prompts, n, repeats,
                    Devices.float32(c.device()), reference)) {
                String ref = !reference || Double.isNaN(r.referenceSeconds()) ? ""
                        : String.format(Locale.ROOT, " %14.2f %8.1fx %12.2e", r.referenceSeconds() * 1e3,
                                r.referenceSeconds() / r.seconds(), r.maxRelDiff());
                out.printf(Locale.ROOT, "%-26s %-28s %-24s %10.2f %14.0f %6.1f%%%s%n", t + " (n=" + n + ")",
                        r.baseline(), r.spec(), r.seconds() * 1e3, r.positionsPerSecond(), 100 * r.share(), ref);
            }
            out.flush();
        }
        return 0;
    }
}
