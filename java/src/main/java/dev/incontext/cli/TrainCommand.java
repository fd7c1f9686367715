package dev.incontext.cli;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.config.RunSpec;
import dev.incontext.eval.baselines.Baselines;
import dev.incontext.model.InContextModel;
import dev.incontext.model.TrainableModel;
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
            "CONFIG is a YAML file (may `inherit:` others) or the name of a shipped config (an unknown name lists "
                + "them). A config that is or inherits he_modular trains a token run (modular arithmetic); any "
                + "other, a regression run.",
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
        RunSpec c = ConfigLoader.load(ConfigLoader.kindOf(config), config, overrides);
        if (c instanceof RunConfig r) {
            Baselines.validate(r.eval());
        }
        out.printf("config: %s (%s run, %d steps, seed %d; every key is in that file)%n",
                Path.of(c.outDir()).resolve("config.yaml"), c.kind().id(), c.training().steps(), c.seed());
        out.flush();
        try (PointerScope scope = new PointerScope(); ConsoleProgress progress = new ConsoleProgress(out)) {
            Trainer.Outcome o = new Trainer(progress).train(Trainer.prepare(c), resume, overwrite);
            out.printf("trained %s (%,d parameters); run directory %s%n", name(o.objective().model()),
                    o.objective().model().parameterCount(), Path.of(c.outDir()).toAbsolutePath());
        }
        return 0;
    }

    private static String name(TrainableModel m) {
        return m instanceof InContextModel r ? r.name() : m.getClass().getSimpleName();
    }
}
