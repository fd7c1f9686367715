package dev.incontext.cli;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.eval.Evaluation;
import dev.incontext.train.TrainedModel;
import dev.incontext.train.Trainer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.PointerScope;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code incontext demo}: trains a tiny GPT-2 on 5-dimensional linear regression in context on the CPU, then
 * compares it with least squares, averaging and 3-NN at every prefix, prints the table, writes a PNG plot, and
 * says whether the transformer reached the demo's targets.
 */
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
        RunConfig c = ConfigLoader.load("demo", overrides);
        out.printf("demo: training a tiny GPT-2 (%d layers, %d heads, width %d) on %d-dimensional linear regression,"
                + " %d points per prompt, %d steps on %s%n", c.model().layers(), c.model().heads(), c.model().width(),
                c.task().nDims(), c.curriculum().points().end(), c.training().steps(), c.device());
        out.flush();
        long t0 = System.nanoTime();
        try (PointerScope scope = new PointerScope(); ConsoleProgress progress = new ConsoleProgress(out)) {
            // The demo is meant to be run again: it replaces its own previous run (checkpoints, metrics, config).
            TrainedModel model = new Trainer(progress).train(c, null, true);
            progress.close();
            double trainSeconds = (System.nanoTime() - t0) / 1e9;
            out.printf(Locale.ROOT, "trained in %.0f s; evaluating on %d prompts%n", trainSeconds, c.eval().numPrompts());
            Evaluation e = EvalCommand.run(model, c, out);
            EvalCommand.write(e, c, Path.of(c.outDir()), out);
            verdict(e, c.task().nDims(), out);
        }
        out.printf(Locale.ROOT, "total %.0f s%n", (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    /** The demo's targets: error at k = 2d at most 0.1, and below averaging and 3-NN at every k >= d. */
    static boolean verdict(Evaluation e, int d, PrintWriter out) {
        double[] tf = e.curve("Transformer").mean();
        double[] avg = e.curve("Averaging").mean();
        double[] nn = e.curve("3-NN").mean();
        int k2 = Math.min(2 * d, tf.length - 1);
        boolean low = tf[k2] <= 0.1;
        boolean beats = true;
        for (int k = d; k < tf.length; k++) {
            beats &= tf[k] < avg[k] && tf[k] < nn[k];
        }
        out.printf(Locale.ROOT, "transformer at k = %d: %.4f (target <= 0.1: %s); below averaging and 3-NN at every "
                + "k >= %d: %s%n", k2, tf[k2], low ? "met" : "NOT met", d, beats ? "yes" : "NO");
        out.flush();
        return low && beats;
    }
}
