package dev.incontext.experiments;

import dev.incontext.sweep.Sweeps;
import dev.incontext.train.TrainingListener;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * How an experiment is asked to run: the preset (CPU-sized default or the paper's sizes), an optional config file on
 * top of it, KEY=VALUE overrides, where progress lines go, a listener for training progress bars, and the sweep
 * master its grids run on ({@code serial}: one cell after another in this JVM; {@code local[N]} or a Spark master URL
 * when the incontext-sweep module is on the class path).
 */
public record ExperimentContext(boolean paperPreset, String configFile, List<String> overrides, Consumer<String> log,
        TrainingListener training, String master) {
    public ExperimentContext(boolean paperPreset, String configFile, List<String> overrides, Consumer<String> log,
            TrainingListener training) {
        this(paperPreset, configFile, overrides, log, training, null);
    }

    public ExperimentContext {
        overrides = List.copyOf(overrides);
        master = master == null ? Sweeps.SERIAL : master;
        Objects.requireNonNull(log, "log");
        Objects.requireNonNull(training, "training");
    }

    /** Defaults: CPU preset, no file, progress to nowhere, grids run serially. */
    public static ExperimentContext quiet(List<String> overrides) {
        return new ExperimentContext(false, null, overrides, line -> { }, new TrainingListener() { }, null);
    }
}
