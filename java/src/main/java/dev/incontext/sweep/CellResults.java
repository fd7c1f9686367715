package dev.incontext.sweep;

import dev.incontext.config.RunKind;
import dev.incontext.config.RunSpec;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.function.Consumer;

/**
 * What a kind of sweep cell adds to the one {@link RunJob}: which kind of run its cells are, the last word on a
 * cell's config, when a cell's outputs are complete, and what it reads back from a finished cell. The sweep's own
 * cells are {@link RegressionCells}; an experiment brings its own (he-modular's write an attention map and
 * {@code result.json}). Travels to Spark executors inside the job, so it holds plain values only.
 */
public interface CellResults extends Serializable {
    /** The kind of run every cell is (how the sweep's base YAML is read). */
    RunKind kind();

    /**
     * The cell's config as it trains, from the base with the cell's values, out_dir and threads applied; throws,
     * naming the key, when it is not a valid config for this kind of cell.
     */
    default RunSpec configure(RunSpec config) {
        return config;
    }

    /** Whether {@code dir} holds the finished cell's outputs; a cell recorded as finished without them trains again. */
    boolean complete(RunSpec config, Path dir);

    /** Called before a cell trains (again): clears what a previous execution's results left, says what it trains. */
    default void started(RunSpec config, Path dir, Consumer<String> notices) throws IOException {}

    /**
     * After training: the cell's numbers for results.csv and cell.yaml (writing any file the experiment reads back),
     * {@code trainSeconds} the time this execution trained, {@code evaluate} whether the sweep asked for an evaluation.
     */
    LinkedHashMap<String, Double> finished(RunSpec config, CellTraining.Result trained, Path dir, double trainSeconds,
            boolean evaluate) throws IOException;
}
