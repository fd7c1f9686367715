package dev.incontext.train;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** Receives what the trainer logs; the CLI turns it into a progress bar, tests into assertions. */
public interface TrainingListener {
    /** Called at every logged step (and the last one). */
    default void onLog(TrainingLog log) {}

    /** Called after every step with the step just completed (1-based count of steps done). */
    default void onStep(long stepsDone, long totalSteps) {}

    /** Called when a checkpoint was written. */
    default void onCheckpoint(Path dir, long step) {}

    /** Called after an evaluation during training, with a line saying what it found. */
    default void onEvaluation(long step, String summary) {}

    /** Something the user should know that is not an error (a skipped corrupted checkpoint, a clean-up). */
    default void onNotice(String message) {}

    /**
     * One record of metrics.jsonl: the step (0-based), its batch's loss, the learning rate, the rate since the
     * previous record, and what the objective adds ({@code n_dims}, {@code n_points}, {@code excess_loss} for
     * regression; the evaluation sets' results when it evaluated at this step).
     */
    record TrainingLog(long step, double loss, double lr, double stepsPerSecond, Map<String, Object> fields) {
        public TrainingLog {
            fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
        }

        /** The record as one JSON object, in the order written to metrics.jsonl. */
        public Map<String, Object> record() {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("step", step);
            r.put("loss", loss);
            r.put("lr", lr);
            r.putAll(fields);
            r.put("steps_per_s", stepsPerSecond);
            return r;
        }
    }
}
