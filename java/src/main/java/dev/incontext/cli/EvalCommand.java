package dev.incontext.cli;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.eval.Evaluation;
import dev.incontext.eval.Evaluator;
import dev.incontext.eval.baselines.Averaging;
import dev.incontext.eval.baselines.LeastSquares;
import dev.incontext.eval.baselines.NearestNeighbours;
import dev.incontext.model.Predictor;
import dev.incontext.report.Reports;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.train.TrainedModel;
import dev.incontext.util.Devices;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.PointerScope;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code incontext eval}: a trained model against least squares, averaging and k-NN at every prefix. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Evaluate a trained model against least squares, averaging and k-NN per number of in-context "
            + "examples; writes eval.csv, eval.json and eval.png.",
            "Overrides (KEY=VALUE) apply to the model's saved config, e.g. eval.num_prompts=2560 seed=7."})
final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint", required = true, description = "Checkpoint directory or run directory.")
    Path checkpoint;

    @Option(names = "--out", description = "Where to write eval.* (default: the run directory).")
    Path outDir;

    @Parameters(paramLabel = "KEY=VALUE", arity = "0..*", description = "Overrides of the saved config.")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (PointerScope scope = new PointerScope()) {
            TrainedModel model = TrainedModel.load(checkpoint, m -> {
                out.println("note: " + m);
                out.flush();
            });
            RunConfig c = ConfigLoader.withOverrides(model.config(), overrides);
            Path dir = outDir != null ? outDir : Path.of(c.outDir());
            Files.createDirectories(dir);
            Evaluation e = run(model, c, out);
            write(e, c, dir, out);
        }
        return 0;
    }

    static Evaluation run(TrainedModel model, RunConfig c, PrintWriter out) {
        TaskSampler sampler = TaskSampler.forRun(c, Devices.float32(c.device()));
        List<Predictor> predictors = new ArrayList<>();
        predictors.add(model.model());
        var ctx = new dev.incontext.eval.baselines.BaselineContext(c.task(), sampler, c.seed());
        for (var spec : dev.incontext.eval.baselines.Baselines.forEval(c.task(), c.eval())) {
            predictors.add(spec.create(ctx));
        }
        return Evaluator.evaluate(predictors, sampler, c.eval().numPrompts(), c.eval().batchSize(), c.evalPoints(),
                c.seed());
    }

    static void write(Evaluation e, RunConfig c, Path dir, PrintWriter out) throws java.io.IOException {
        Reports.table(e, out, 1);
        Reports.csv(e, dir.resolve("eval.csv"));
        Reports.json(e, dir.resolve("eval.json"));
        boolean accuracy = e.metric() instanceof dev.incontext.eval.Metric.Accuracy;
        Reports.plot(e, c.task().name().name().toLowerCase(java.util.Locale.ROOT) + ", d = " + c.task().nDims(),
                accuracy ? 0.5 : 1.0, dir.resolve("eval.png"));
        out.println("wrote " + dir.resolve("eval.csv") + ", eval.json, eval.png");
        out.flush();
    }
}
