package dev.incontext.sweep;

import java.io.Serializable;
import java.util.LinkedHashMap;

/**
 * What became of one cell in one execution of a sweep. {@code status} is the cell's state afterwards; {@code action}
 * what this execution did to it. Metrics are the numbers of {@code results.csv} ({@code final_loss},
 * {@code final_excess_loss}, {@code train_seconds}, {@code eval_<predictor>}: the evaluation metric at the last
 * position); empty for a failed cell.
 */
public record CellResult(int index, String name, Status status, Action action, long resumedFromStep, String message,
        double seconds, LinkedHashMap<String, Double> metrics, String where) implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The cell's state after this execution. */
    public enum Status {
        /** Trained to its last step (and evaluated when the sweep asks for it). */
        FINISHED,
        /** Threw: its message is recorded; re-runs skip it unless --retry. */
        FAILED,
        /** Stopped before the end (the sweep was cancelled, e.g. by --fail-fast); the next run resumes it. */
        INTERRUPTED
    }

    /** What this execution did. */
    public enum Action { SKIPPED, TRAINED, RESUMED, RETRIED, NONE }

    public CellResult {
        metrics = new LinkedHashMap<>(metrics);
    }

    public boolean failed() {
        return status == Status.FAILED;
    }
}
