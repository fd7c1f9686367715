package dev.incontext.experiments;

import dev.incontext.train.TrainingListener;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * How an experiment is asked to run: the preset (CPU-sized default or the paper's sizes), an optional config file on
 * top of it, KEY=VALUE overrides, where progress lines go, and a listener for training progress bars.
 */
public record ExperimentContext(boolean paperPreset, String configFile, List<String> overrides, Consumer<String> log,
        TrainingListener training) {
    public ExperimentContext {
        overrides = List.copyOf(overrides);
        Objects.requireNonNull(log, "log");
        Objects.requireNonNull(training, "training");
    }

    /** Defaults: CPU preset, no file, no overrides, progress to nowhere. */
    public static ExperimentContext quiet(List<String> overrides) {
        return new ExperimentContext(false, null, overrides, line -> { }, new TrainingListener() { });
    }
}
