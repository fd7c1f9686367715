package dev.incontext.train;

/** Receives what the trainer logs; the CLI turns it into a progress bar, tests into assertions. */
public interface TrainingListener {
    /** Called at every logged step (and the last one). */
    default void onLog(TrainingLog log) {}

    /** Called after every step with the step just completed (1-based count of steps done). */
    default void onStep(long stepsDone, long totalSteps) {}

    /** Called when a checkpoint was written. */
    default void onCheckpoint(java.nio.file.Path dir, long step) {}

    /** Something the user should know that is not an error (a skipped corrupted checkpoint, a clean-up). */
    default void onNotice(String message) {}

    /** One line of metrics.jsonl. */
    record TrainingLog(long step, double loss, double lr, int dims, int points, double stepsPerSecond,
            Double excessLoss) {
        public String toJson() {
            StringBuilder s = new StringBuilder("{");
            s.append("\"step\":").append(step).append(",\"loss\":").append(num(loss)).append(",\"lr\":").append(num(lr))
                    .append(",\"n_dims\":").append(dims).append(",\"n_points\":").append(points)
                    .append(",\"steps_per_s\":").append(num(stepsPerSecond));
            if (excessLoss != null) {
                s.append(",\"excess_loss\":").append(num(excessLoss));
            }
            return s.append('}').toString();
        }

        private static String num(double v) {
            return Double.isFinite(v) ? Double.toString(v) : "null";
        }
    }
}
