package dev.incontext.train;

/**
 * Training stopped because the loss (or the parameters) stopped being finite. The message names the step where it
 * first happened and what to change; no checkpoint holding non-finite parameters is written.
 */
public final class TrainingDivergedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;
    private final long step;

    TrainingDivergedException(long step, String what, double learningRate, Throwable cause) {
        super("training diverged at step " + step + " (" + what + "); lower training.learning_rate (now "
                + learningRate + ") or set training.grad_clip", cause);
        this.step = step;
    }

    /** The first step at which the loss or the parameters were not finite. */
    public long step() {
        return step;
    }
}
