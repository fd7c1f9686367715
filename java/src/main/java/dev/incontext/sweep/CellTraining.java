package dev.incontext.sweep;

import dev.incontext.config.RunSpec;
import dev.incontext.train.CheckpointException;
import dev.incontext.train.Checkpoints;
import dev.incontext.train.Trainer;
import dev.incontext.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * How every sweep cell trains, whatever its kind of run: from the newest valid checkpoint in its directory when
 * there is one (else afresh, replacing a previous run's files there), asking {@code stop} after every step and
 * throwing {@link CellJob.Stopped} when it says so, and passing the trainer's notices and evaluation lines on.
 */
public final class CellTraining {
    private CellTraining() {}

    /** What a cell's training ended with, and the step it continued from (-1: it started afresh). */
    public record Result(Trainer.Outcome outcome, long resumedFromStep) {}

    public static Result train(RunSpec config, Path dir, BooleanSupplier stop, Consumer<String> notices)
            throws IOException {
        Path resume = null;
        long from = -1;
        if (!Checkpoints.list(dir).isEmpty()) {
            try {
                from = Checkpoints.load(dir, notices).step();
                resume = dir;
                notices.accept("resuming " + dir + " at step " + from);
            } catch (CheckpointException e) {
                notices.accept("no valid checkpoint (" + e.getMessage() + "); starting afresh");
            }
        }
        TrainingListener listener = new TrainingListener() {
            @Override
            public void onStep(long stepsDone, long totalSteps) {
                if (stop.getAsBoolean()) {
                    throw new CellJob.Stopped();
                }
            }

            @Override
            public void onEvaluation(long step, String summary) {
                notices.accept(summary);
            }

            @Override
            public void onNotice(String message) {
                notices.accept(message);
            }
        };
        Trainer.Outcome outcome = new Trainer(listener).train(Trainer.prepare(config), resume, resume == null);
        return new Result(outcome, resume != null ? from : -1);
    }
}
