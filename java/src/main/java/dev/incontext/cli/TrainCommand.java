package dev.incontext.cli;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.train.TrainedModel;
import dev.incontext.train.Trainer;
import java.io.PrintWriter;
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

/** {@code incontext train}: trains a model from a config, with checkpoints and resume. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train an in-context learner.",
            "CONFIG is a YAML file (may `inherit:` others) or the name of a shipped config "
                + "(demo, toy, linear_regression, sparse_linear_regression, noisy_linear_regression, "
                + "linear_classification, quadratic_regression, relu_2nn_regression, decision_tree, "
                + "lsa_linear_regression).",
            "Overrides: key.path=value (or --key.path=value), e.g. training.steps=1000 model.preset=tiny."})
final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-c", "--config"}, description = "Config file or shipped config name (default: linear_regression).",
            defaultValue = "linear_regression")
    String config;

    @Option(names = "--resume", description = "Resume from a checkpoint directory or a run directory (its newest checkpoint).")
    Path resume;

    @Option(names = "--overwrite", description = "Start afresh in an out_dir that holds a previous run, deleting its "
            + "checkpoints, metrics.jsonl and config.yaml (nothing else).")
    boolean overwrite;

    @Parameters(paramLabel = "KEY=VALUE", description = "Config overrides.", arity = "0..*")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        RunConfig c = ConfigLoader.load(config, overrides);
        out.println("# resolved config");
        out.print(ConfigLoader.toYaml(c));
        out.flush();
        try (PointerScope scope = new PointerScope(); ConsoleProgress progress = new ConsoleProgress(out)) {
            TrainedModel m = new Trainer(progress).train(c, resume, overwrite);
            out.printf("trained %s (%,d parameters); run directory %s%n", m.model().name(), m.model().parameterCount(),
                    Path.of(c.outDir()).toAbsolutePath());
        }
        return 0;
    }
}
