package dev.incontext.train;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunKind;
import dev.incontext.config.RunSpec;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One training run as a launcher hands it to each of its ranks: the config resolved to YAML (so a rank on another
 * machine needs neither the config file nor the overrides), the checkpoint or run directory to resume from (null:
 * from scratch), whether to overwrite a previous run in {@code out_dir}, and how long a rank waits for the others in
 * a collective. Serializable, for launchers that ship it to executors.
 */
public record TrainRequest(RunKind kind, String configYaml, String resume, boolean overwrite, long timeoutSeconds)
        implements Serializable {
    public TrainRequest {
        if (kind == null || configYaml == null) {
            throw new IllegalArgumentException("a training request needs a kind of run and its config");
        }
        if (timeoutSeconds < 1) {
            throw new IllegalArgumentException("the collective timeout must be >= 1 second; got " + timeoutSeconds);
        }
    }

    public static TrainRequest of(RunSpec config, Path resume, boolean overwrite, Duration timeout) {
        return new TrainRequest(config.kind(), ConfigLoader.toYaml((Record) config),
                resume == null ? null : resume.toAbsolutePath().toString(), overwrite, timeout.toSeconds());
    }

    public RunSpec config() {
        return ConfigLoader.fromYaml(kind, configYaml);
    }

    public Duration timeout() {
        return Duration.ofSeconds(timeoutSeconds);
    }

    /** This request with {@code overrides} applied to its config (run-local keys such as {@code device}). */
    public TrainRequest withOverrides(java.util.List<String> overrides) {
        RunSpec c = (RunSpec) ConfigLoader.withOverrides((Record) config(), overrides);
        return new TrainRequest(kind, ConfigLoader.toYaml((Record) c), resume, overwrite, timeoutSeconds);
    }

    /** Trains this run as one rank of {@code parallel} (whose world size must be the config's). */
    public Trainer.Outcome train(DataParallel parallel, TrainingListener listener) throws IOException {
        return new Trainer(listener).train(Trainer.prepare(config()), resume == null ? null : Path.of(resume),
                overwrite, parallel);
    }
}
