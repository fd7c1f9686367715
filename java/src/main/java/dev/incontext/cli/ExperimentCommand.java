package dev.incontext.cli;

import dev.incontext.experiments.Experiment;
import dev.incontext.experiments.ExperimentContext;
import dev.incontext.experiments.ExperimentReport;
import dev.incontext.experiments.Experiments;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code incontext experiment NAME}: runs a paper's experiment end to end and writes its report. */
@Command(name = "experiment", mixinStandardHelpOptions = true,
        description = {"Run a paper's experiment end to end: train its grid, evaluate, write plots and a summary.",
            "The experiments: see below (each one's own line, from its class).",
            "Overrides: key.path=value, e.g. training.steps=500 'phase_diagram.n_tasks_pl=[2,8]'."})
final class ExperimentCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME", description = "The experiment's name (listed above).",
            converter = ExperimentConverter.class)
    Experiments experiment;

    @Option(names = "--preset", description = "cpu (default) or paper.", defaultValue = "cpu",
            converter = PresetConverter.class)
    Preset preset;

    /** The experiment's sizes. */
    enum Preset { CPU, PAPER }

    @Option(names = {"-c", "--config"}, description = "A YAML file on top of the preset (may `inherit:` others).")
    String config;

    @Option(names = "--master", description = "Where an experiment's grid of runs goes: serial (default; one after "
            + "another in this JVM), local[N] (embedded Spark) or a Spark master URL.", defaultValue = "serial")
    String master;

    @Parameters(index = "1..*", paramLabel = "KEY=VALUE", description = "Config overrides.", arity = "0..*")
    List<String> overrides = new ArrayList<>();

    /**
     * Puts one line per registered experiment (its id and its own description) into the command's help, so that
     * adding an experiment touches no CLI file.
     */
    static void describeExperiments(CommandSpec spec) {
        List<String> lines = new ArrayList<>(List.of(spec.usageMessage().description()));
        int at = 1;
        lines.remove(at);
        for (Experiments e : Experiments.values()) {
            lines.add(at++, e.id() + ": " + e.create().description());
        }
        spec.usageMessage().description(lines.toArray(new String[0]));
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Experiment e = experiment.create();
        try (ConsoleProgress progress = new ConsoleProgress(out)) {
            ExperimentReport r = e.run(new ExperimentContext(preset == Preset.PAPER, config, overrides, line -> {
                progress.close();
                out.println(line);
                out.flush();
            }, progress, master));
            progress.close();
            out.println();
            out.print(Files.readString(r.summary()));
            out.printf("%n%s%nwrote %s and %d other files%n", r.verdict(), r.summary(), r.files().size());
        }
        return 0;
    }

    static final class ExperimentConverter implements picocli.CommandLine.ITypeConverter<Experiments> {
        @Override
        public Experiments convert(String value) {
            try {
                return Experiments.byId(value);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    static final class PresetConverter implements picocli.CommandLine.ITypeConverter<Preset> {
        @Override
        public Preset convert(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "cpu" -> Preset.CPU;
                case "paper" -> Preset.PAPER;
                default -> throw new picocli.CommandLine.TypeConversionException("unknown preset '" + value
                        + "'; valid: cpu, paper");
            };
        }
    }
}
