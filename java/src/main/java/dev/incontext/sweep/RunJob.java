package dev.incontext.sweep;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunIdentity;
import dev.incontext.config.RunKind;
import dev.incontext.config.RunSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The one sweep job: every cell, whatever its kind of run, is the sweep's base config with the cell's values, its
 * directory as out_dir and its share of the threads, trained by the one trainer into an ordinary run directory
 * (config.yaml, metrics.jsonl, checkpoints/) and resumed from its newest valid checkpoint ({@link CellTraining}).
 * What differs between kinds of cell (how the base is read, what a finished cell reports) is its {@link CellResults}.
 */
public final class RunJob implements CellJob {
    private static final long serialVersionUID = 1L;
    private final CellResults results;

    public RunJob(CellResults results) {
        this.results = results;
    }

    @Override
    public CellJob.Run prepare(String baseYaml, Cell cell, Path dir, int threads, List<String> extraOverrides) {
        RunSpec c = config(results.kind(), baseYaml, cell, dir, threads);
        RunSpec config = results.configure(extraOverrides.isEmpty() ? c
                : (RunSpec) ConfigLoader.withOverrides((Record) c, extraOverrides));
        return new CellJob.Run() {
            @Override
            public String device() {
                return config.device();
            }

            @Override
            public String identity() {
                return RunIdentity.digest(config);
            }

            @Override
            public boolean complete() {
                return results.complete(config, dir);
            }

            @Override
            public Trained train(BooleanSupplier stop, Consumer<String> notices, boolean evaluate) throws IOException {
                results.started(config, dir, notices);
                long start = System.nanoTime();
                CellTraining.Result r = CellTraining.train(config, dir, stop, notices);
                double seconds = (System.nanoTime() - start) / 1e9;
                return new Trained(r.resumedFromStep(), results.finished(config, r, dir, seconds, evaluate));
            }
        };
    }

    /** {@code baseYaml} (of {@code kind}) plus the cell's values, {@code dir} as out_dir, threads: see {@link CellJob#prepare}. */
    static RunSpec config(RunKind kind, String baseYaml, Cell cell, Path dir, int threads) {
        List<String> o = new ArrayList<>(cell.overrides());
        o.add("out_dir=" + dir);
        Record c = ConfigLoader.withOverrides((Record) ConfigLoader.fromYaml(kind, baseYaml), o);
        List<String> t = CellJob.threadOverrides(((RunSpec) c).training(), threads);
        return (RunSpec) (t.isEmpty() ? c : ConfigLoader.withOverrides(c, t));
    }
}
