package dev.incontext.experiments;

import java.io.IOException;
import java.util.List;

/**
 * Runs the cells of an experiment's grid. The only implementation today is {@link Serial}, one cell after another
 * in this JVM; the Spark sweep runner (the sweep issue) is meant to take over behind this interface, running cells
 * as tasks. A cell's job is idempotent and writes its own result file, so any runner may skip cells whose result
 * exists (resume) and may run the rest in any order.
 */
public interface GridRunner {
    /** One cell's work: trains and writes the cell's result under its own directory. */
    @FunctionalInterface
    interface CellJob<C> {
        void run(C cell) throws IOException;
    }

    /** Runs {@code job} on every cell (each exactly once, unless it throws). */
    <C> void run(List<C> cells, CellJob<C> job) throws IOException;

    /** Serially, in order, in the calling thread. */
    final class Serial implements GridRunner {
        @Override
        public <C> void run(List<C> cells, CellJob<C> job) throws IOException {
            for (C c : cells) {
                job.run(c);
            }
        }
    }
}
