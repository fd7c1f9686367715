package dev.incontext.cli;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.ModularConfig;
import dev.incontext.experiments.GridRunner;
import dev.incontext.experiments.HeModular;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code incontext experiment NAME}: runs a paper's experiment end to end and writes its report. */
@Command(name = "experiment", mixinStandardHelpOptions = true,
        description = {"Run a paper's experiment end to end: train its grid, evaluate, write plots and a summary.",
            "he-modular: He et al. 2024's in-context modular arithmetic and its phase diagram (CPU-sized by "
                + "default; --preset paper for the paper's sizes, GPU-sized). Interrupted runs resume per grid cell.",
            "Overrides: key.path=value, e.g. training.steps=500 'phase_diagram.n_tasks_pl=[2,8]'."})
final class ExperimentCommand implements Callable<Integer> {
    /** The experiments this command knows. */
    enum Experiment { HE_MODULAR }

    /** Sizes of he-modular. */
    enum Preset {
        CPU(null), PAPER("he_modular_paper");

        final String config;

        Preset(String config) {
            this.config = config;
        }
    }

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME", description = "Experiment: he-modular.",
            converter = ExperimentConverter.class)
    Experiment experiment;

    @Option(names = "--preset", description = "cpu (default) or paper.", converter = PresetConverter.class,
            defaultValue = "cpu")
    Preset preset;

    @Option(names = {"-c", "--config"}, description = "A YAML file on top of the preset (may `inherit:` others).")
    String config;

    @Parameters(index = "1..*", paramLabel = "KEY=VALUE", description = "Config overrides.", arity = "0..*")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        List<String> all = new ArrayList<>();
        String base = config != null ? config : preset.config;
        if (config != null && preset.config != null) {
            throw new IllegalArgumentException("give either --preset paper or --config FILE (a file can "
                    + "`inherit: he_modular_paper`)");
        }
        all.addAll(overrides);
        ModularConfig c = ConfigLoader.loadModular(base, all);
        out.println("# resolved config");
        out.print(ConfigLoader.toYaml(c));
        out.flush();
        HeModular.Report r = switch (experiment) {
            case HE_MODULAR -> new HeModular(c, line -> {
                out.println(line);
                out.flush();
            }).run(new GridRunner.Serial());
        };
        out.println();
        out.print(Files.readString(r.summary()));
        out.printf("%nwrote %s, %s and %d accuracy-per-shot plots%n", r.summary(), r.heatmap(), r.curves().size());
        return 0;
    }

    static final class ExperimentConverter implements picocli.CommandLine.ITypeConverter<Experiment> {
        @Override
        public Experiment convert(String value) {
            for (Experiment e : Experiment.values()) {
                if (e.name().replace('_', '-').equalsIgnoreCase(value)) {
                    return e;
                }
            }
            throw new picocli.CommandLine.TypeConversionException("unknown experiment '" + value + "'; known: "
                    + "he-modular");
        }
    }

    static final class PresetConverter implements picocli.CommandLine.ITypeConverter<Preset> {
        @Override
        public Preset convert(String value) {
            for (Preset p : Preset.values()) {
                if (p.name().equalsIgnoreCase(value)) {
                    return p;
                }
            }
            throw new picocli.CommandLine.TypeConversionException("unknown preset '" + value + "'; valid: cpu, paper");
        }
    }
}
