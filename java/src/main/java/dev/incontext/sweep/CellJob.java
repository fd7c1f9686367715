package dev.incontext.sweep;

import dev.incontext.config.RunConfig.TrainingConfig;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * What the cells of a sweep train, as {@link CellRunner} sees it. {@link CellRunner} does what is the same for every
 * cell (its record, skipping a finished cell, turning any error into a failed cell, stopping on request) and asks the
 * job for the rest: a cell's config, and its training. There is one job, {@link RunJob}, for every kind of run; what
 * an experiment's cells add is a {@link CellResults}. A job travels to Spark executors inside the runner, so it
 * holds plain values only.
 */
public interface CellJob extends Serializable {
    /**
     * A cell's run: the sweep's base config with the cell's values and {@code dir} as out_dir; {@code threads > 0}
     * sets the torch and BLAS threads that the config leaves at 0; {@code extraOverrides} come last (the device a
     * scheduler assigned). Throws, with the config's message, when the result is not a valid config.
     */
    Run prepare(String baseYaml, Cell cell, Path dir, int threads, List<String> extraOverrides);

    /** One cell's run, its config resolved. */
    interface Run {
        /** The device the config asks for: cpu, cuda or cuda:N. */
        String device();

        /** The run's identity ({@code RunIdentity.digest}): equal exactly when the cell trains the same weights. */
        String identity();

        /** Whether out_dir holds this run's final outputs; a cell recorded as finished without them trains again. */
        boolean complete();

        /**
         * Trains into out_dir, continuing from what an interrupted execution left there when the trainer can.
         * {@code stop} is polled between steps: when it says so, throws {@link Stopped}, leaving the run resumable.
         * {@code evaluate}: also evaluate the trained model as the sweep asks, where this kind of run has such an
         * evaluation. {@code notices}: what the trainer reports.
         */
        Trained train(BooleanSupplier stop, Consumer<String> notices, boolean evaluate) throws Exception;
    }

    /**
     * A trained cell: the step it continued from (-1: it started from scratch) and its metrics, the numbers of
     * {@code results.csv} and {@code cell.yaml}.
     */
    record Trained(long resumedFromStep, LinkedHashMap<String, Double> metrics) {
        public Trained {
            metrics = new LinkedHashMap<>(metrics);
        }
    }

    /** {@link Run#train} stopped between two steps because it was asked to. */
    final class Stopped extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public Stopped() {
            super("cell stopped", null, false, false);
        }
    }

    /**
     * The overrides that give a config whose torch and BLAS threads are 0 (the defaults: every core)
     * {@code threads} of each, so that cells side by side share the cores instead of each taking all of them.
     */
    public static List<String> threadOverrides(TrainingConfig training, int threads) {
        List<String> out = new ArrayList<>();
        if (threads > 0 && training.threads() == 0) {
            out.add("training.threads=" + threads);
        }
        if (threads > 0 && training.blasThreads() == 0) {
            out.add("training.blas_threads=" + threads);
        }
        return out;
    }
}
