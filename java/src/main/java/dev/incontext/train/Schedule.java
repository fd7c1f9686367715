package dev.incontext.train;

import dev.incontext.config.RunConfig.TrainingConfig;

/** Learning-rate schedules as pure functions of the step. */
public final class Schedule {
    private Schedule() {}

    /**
     * constant: lr (after an optional warm-up). warmup_cosine: linear warm-up over warmup_steps, then cosine from lr
     * down to min_lr_fraction * lr at the last step. triangle (Raventós et al.): linear 0 to lr over the first half,
     * then back to 0 over the second half. Every warm-up rises linearly from warmup_start_fraction * lr (exclusive)
     * to lr, reached at step warmup_steps - 1; with both fractions 0 these are the classic schedules.
     */
    public static double lr(TrainingConfig t, long step) {
        double base = t.learningRate();
        long total = Math.max(1, t.steps());
        return switch (t.schedule()) {
            case CONSTANT -> t.warmupSteps() > 0 && step < t.warmupSteps() ? warmup(t, step) : base;
            case WARMUP_COSINE -> {
                if (step < t.warmupSteps()) {
                    yield warmup(t, step);
                }
                double progress = (double) (step - t.warmupSteps()) / Math.max(1, total - t.warmupSteps());
                double floor = base * t.minLrFraction();
                yield floor + (base - floor) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1.0, progress)));
            }
            case TRIANGLE -> {
                double half = total / 2.0;
                yield step < half ? base * (step + 1) / half : base * Math.max(0.0, (total - step) / half);
            }
        };
    }

    private static double warmup(TrainingConfig t, long step) {
        double base = t.learningRate();
        double start = base * t.warmupStartFraction();
        return start + (base - start) * (step + 1) / t.warmupSteps();
    }
}
