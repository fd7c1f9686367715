package dev.incontext.train;

import dev.incontext.config.RunConfig.TrainingConfig;

/** Learning-rate schedules as pure functions of the step. */
public final class Schedule {
    private Schedule() {}

    /**
     * constant: lr. warmup_cosine: linear from 0 to lr over warmup_steps, then cosine to 0 at the last step.
     * triangle (Raventós et al.): linear 0 to lr over the first half, then back to 0 over the second half.
     */
    public static double lr(TrainingConfig t, long step) {
        double base = t.learningRate();
        long total = Math.max(1, t.steps());
        return switch (t.schedule()) {
            case CONSTANT -> t.warmupSteps() > 0 && step < t.warmupSteps() ? base * (step + 1) / t.warmupSteps() : base;
            case WARMUP_COSINE -> {
                if (step < t.warmupSteps()) {
                    yield base * (step + 1) / t.warmupSteps();
                }
                double progress = (double) (step - t.warmupSteps()) / Math.max(1, total - t.warmupSteps());
                yield base * 0.5 * (1 + Math.cos(Math.PI * Math.min(1.0, progress)));
            }
            case TRIANGLE -> {
                double half = total / 2.0;
                yield step < half ? base * (step + 1) / half : base * Math.max(0.0, (total - step) / half);
            }
        };
    }
}
