package dev.incontext.config;

import dev.incontext.config.RunConfig.TrainingConfig;

/**
 * A run's config, of either kind: {@link RunConfig} (regression) or {@link ModularConfig} (token runs). Both hold
 * the one {@link RunBasics} record every run has; the trainer, the checkpoints and the sweep see runs through this
 * type only.
 */
public sealed interface RunSpec permits RunConfig, ModularConfig {
    /** Seed, device, run directory and training: the part every run has. */
    RunBasics run();

    /** Which kind of run this is (how its YAML is read back). */
    RunKind kind();

    default long seed() {
        return run().seed();
    }

    default String device() {
        return run().device();
    }

    default String outDir() {
        return run().outDir();
    }

    default TrainingConfig training() {
        return run().training();
    }
}
