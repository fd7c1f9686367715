package dev.incontext.experiments;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.ModularConfig;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.nio.file.Path;

/**
 * {@link HeModular} as a named experiment: {@code he_modular_cpu} by default (the o.o.d. attempt and the plateau study,
 * about an hour on 2 cores), {@code he_modular_paper} as the paper preset; {@code --config he_modular} is the
 * three-minute grid.
 */
public final class HeModularExperiment implements Experiment {
    @Override
    public String id() {
        return "he-modular";
    }

    @Override
    public String description() {
        return "He et al. 2024's in-context modular arithmetic and its phase diagram (CPU-sized by default; --preset "
                + "paper for the paper's sizes, GPU-sized); interrupted runs resume per grid cell";
    }

    @Override
    public ExperimentReport run(ExperimentContext ctx) throws IOException {
        if (ctx.configFile() != null && ctx.paperPreset()) {
            throw new IllegalArgumentException("give either --preset paper or --config FILE (a file can "
                    + "`inherit: he_modular_paper`)");
        }
        String base = ctx.configFile() != null ? ctx.configFile() : ctx.paperPreset() ? "he_modular_paper"
                : "he_modular_cpu";
        ModularConfig c = ConfigLoader.load(ModularConfig.class, base, ctx.overrides());
        ctx.log().accept("config: " + Path.of(c.outDir()).resolve("config.yaml") + " (p = " + c.task().p() + ", "
                + c.training().steps() + " steps per cell; every key is in that file)");
        HeModular.Report r = new HeModular(c, ctx.log()).run(ctx.master());
        List<Path> files = new ArrayList<>(r.curves());
        files.add(r.heatmap());
        return new ExperimentReport(r.summary(), files, true, "wrote the phase diagram of " + r.cells().size()
                + " cells; see the summary for the paper's claims beside the measured accuracies");
    }
}
