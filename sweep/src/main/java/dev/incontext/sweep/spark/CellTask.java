package dev.incontext.sweep.spark;

import dev.incontext.ops.NativeCache;
import dev.incontext.sweep.Cell;
import dev.incontext.sweep.CellResult;
import dev.incontext.sweep.CellRunner;
import java.util.List;
import java.util.Locale;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.VoidFunction;
import org.apache.spark.util.CollectionAccumulator;

/**
 * One Spark task: runs one cell through {@link CellRunner} and hands its result to the driver through an accumulator.
 * A cell's own error is a result, not an exception, so Spark never retries a deterministic failure; only a lost
 * executor (a native crash in its own JVM) makes Spark run the task again, and the cell then resumes from what it
 * saved last (a regression run's newest checkpoint, a modular run's resume state). The task stops between training
 * steps when Spark kills it (the sweep was cancelled).
 */
final class CellTask implements VoidFunction<Cell> {
    private static final long serialVersionUID = 1L;

    private final CellRunner runner;
    private final boolean localMode;
    private final CollectionAccumulator<CellResult> results;

    CellTask(CellRunner runner, boolean localMode, CollectionAccumulator<CellResult> results) {
        this.runner = runner;
        this.localMode = localMode;
        this.results = results;
    }

    @Override
    public void call(Cell cell) {
        NativeCache.prepare();
        TaskContext ctx = TaskContext.get();
        CellResult r = runner.run(cell, ctx::isInterrupted, m -> System.err.println("incontext sweep: " + m),
                device(cell, ctx));
        results.add(r);
    }

    /**
     * A cell configured for CUDA gets one GPU: the address Spark's resource scheduling gave its task
     * ({@code spark.task.resource.gpu.amount}), or in local mode one of this machine's GPUs by cell index.
     */
    private List<String> device(Cell cell, TaskContext ctx) {
        String device = runner.device(cell);   // null: an invalid config, which the runner records
        if (device == null || !device.toLowerCase(Locale.ROOT).startsWith("cuda")) {
            return List.of();
        }
        String gpu = SparkSetup.gpu(ctx, cell.index(), localMode);
        return gpu == null ? List.of() : List.of("device=" + gpu);
    }
}
