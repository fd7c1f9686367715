package dev.incontext.cli;

import dev.incontext.experiments.Demo;
import dev.incontext.experiments.ExperimentContext;
import dev.incontext.experiments.ExperimentReport;
import dev.incontext.report.Reports;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code incontext demo}: runs the {@link Demo} experiment and prints its table and verdict. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Train a tiny transformer to do linear regression in context (d = 5, 11 points, CPU, a few "
            + "minutes), compare it with least squares, averaging and 3-NN, and plot normalised squared error "
            + "against the number of in-context examples (runs/demo/eval.png). Replaces the previous demo run in its out_dir.",
            "Overrides (KEY=VALUE) apply to the shipped `demo` config, e.g. training.steps=2000."})
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "KEY=VALUE", arity = "0..*", description = "Overrides of the demo config.")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        try (ConsoleProgress progress = new ConsoleProgress(out)) {
            ExperimentContext ctx = new ExperimentContext(false, null, overrides, line -> {
                progress.close();
                out.println(line);
                out.flush();
            }, progress);
            Demo.Result r = new Demo().runDemo(ctx);
            progress.close();
            Reports.table(r.evaluation(), out, 1);
            ExperimentReport report = Demo.write(r);
            out.println("wrote " + report.files().get(0) + ", eval.json, eval.png");
            out.println(r.verdict());
        }
        out.printf(Locale.ROOT, "total %.0f s%n", (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
