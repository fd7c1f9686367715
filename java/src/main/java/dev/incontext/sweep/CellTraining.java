package dev.incontext.sweep;

import dev.incontext.config.RunIdentity;
import dev.incontext.config.RunSpec;
import dev.incontext.train.CheckpointException;
import dev.incontext.train.Checkpoints;
import dev.incontext.train.Objective;
import dev.incontext.train.Trainer;
import dev.incontext.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * How every sweep cell trains, whatever its kind of run: from the newest valid checkpoint in its directory when it
 * belongs to the same run (its config differs in run-local keys only: {@link RunIdentity}); afresh otherwise, with
 * the previous run's files moved into {@code superseded-N/} rather than deleted, so that a cell's results always
 * come from weights trained under its config. It asks {@code stop} after every step, throwing
 * {@link CellJob.Stopped} when it says so, and passes the trainer's notices and evaluation lines on.
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
            Checkpoints.Saved saved = null;
            try {
                saved = Checkpoints.load(dir, notices);
            } catch (CheckpointException e) {
                notices.accept("no valid checkpoint (" + e.getMessage() + "); the files are kept in "
                        + setAside(dir) + " and the cell trains afresh");
            }
            if (saved != null) {
                List<String> diffs = RunIdentity.differences(saved.config(), config);
                if (!diffs.isEmpty() || saved.step() > config.training().steps()) {
                    String why = diffs.isEmpty() ? "its checkpoint is at step " + saved.step() + ", past training.steps = "
                            + config.training().steps() : "its config changed: " + String.join("; ", diffs);
                    notices.accept(why + "; the previous run is kept in " + setAside(dir) + " and the cell trains "
                            + "afresh");
                } else if (saved.step() == config.training().steps()) {
                    // Trained to the end already (an execution stopped between its last checkpoint and its record).
                    Objective objective = Trainer.prepare(config);
                    Checkpoints.loadModel(saved.dir(), objective.model().module());
                    notices.accept("already trained to step " + saved.step() + " (" + saved.dir() + ")");
                    return new Result(new Trainer.Outcome(objective, saved.dir(), saved.step(), Double.NaN),
                            saved.step());
                } else {
                    from = saved.step();
                    resume = dir;
                    notices.accept("resuming " + dir + " at step " + from);
                }
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

    /**
     * Moves a cell's run files (checkpoints, metrics, config) into a new {@code superseded-N/} folder inside it,
     * never deleting them; returns that folder.
     */
    static Path setAside(Path dir) throws IOException {
        Path aside;
        int n = 1;
        while (Files.exists(aside = dir.resolve("superseded-" + n))) {
            n++;
        }
        Files.createDirectories(aside);
        for (String f : List.of("checkpoints", "metrics.jsonl", "config.yaml")) {
            if (Files.exists(dir.resolve(f))) {
                Files.move(dir.resolve(f), aside.resolve(f));
            }
        }
        return aside;
    }
}
