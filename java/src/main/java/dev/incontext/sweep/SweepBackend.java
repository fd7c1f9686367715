package dev.incontext.sweep;

import java.util.List;

/**
 * Executes the cells of a plan. {@link Sweeps} picks one by the master URL: the built-in serial backend for
 * {@code serial}, otherwise one found through {@link java.util.ServiceLoader} (the Spark backend of the
 * {@code incontext-sweep} module), so that users of the library who never sweep do not pull Spark.
 */
public interface SweepBackend {
    /** Whether this backend runs sweeps for the given master. */
    boolean accepts(String master);

    /**
     * Runs the cells (each through a {@link CellRunner}) and returns the result of every cell that was reached;
     * with {@code options.failFast()}, stops at the first new failure (cells running then are interrupted and stay
     * resumable). Must not throw for a cell's own error.
     */
    List<CellResult> run(SweepPlan plan, SweepOptions options, SweepListener listener) throws Exception;
}
