package dev.incontext.cli;

import dev.incontext.train.TrainingListener;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Training progress on the terminal: a progress bar with loss, steps/s and ETA when stdout is a terminal; when it
 * is not (CI, pipes, files) the bar stays quiet and only a line every tenth of the run is printed.
 */
final class ConsoleProgress implements TrainingListener, AutoCloseable {
    private final PrintWriter out;
    private final boolean terminal = System.console() != null;
    private ProgressBar bar;
    private long total = -1;
    private String lastExtra = "";

    ConsoleProgress(PrintWriter out) {
        this.out = out;
    }

    @Override
    public void onStep(long stepsDone, long totalSteps) {
        if (terminal) {
            if (bar == null) {
                bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(totalSteps)
                        .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).showSpeed().build();
                bar.stepTo(stepsDone - 1);
            }
            bar.stepTo(stepsDone);
            bar.setExtraMessage(lastExtra);
        } else {
            total = totalSteps;
        }
    }

    @Override
    public void onLog(TrainingLog log) {
        lastExtra = String.format(Locale.ROOT, " loss %.4f", log.loss());
        if (!terminal && total > 0 && (log.step() % Math.max(1, total / 10) < Math.max(1, total / 1000) || log.step() == total - 1)) {
            StringBuilder extra = new StringBuilder();
            log.fields().forEach((k, v) -> {
                if (v instanceof Integer || v instanceof Long) {
                    extra.append("  ").append(k.startsWith("n_") ? k.substring(2) : k).append(' ').append(v);
                }
            });
            out.printf(Locale.ROOT, "step %d/%d  loss %.5f  lr %.2e%s  %.1f steps/s%n", log.step(), total, log.loss(),
                    log.lr(), extra, log.stepsPerSecond());
            out.flush();
        }
    }

    @Override
    public void onEvaluation(long step, String summary) {
        line(summary);
    }

    @Override
    public void onCheckpoint(Path dir, long step) {
        if (!terminal) {
            out.println("checkpoint " + dir);
            out.flush();
        }
    }

    @Override
    public void onNotice(String message) {
        line("note: " + message);
    }

    private void line(String message) {
        if (bar != null) {
            bar.pause();
        }
        out.println(message);
        out.flush();
        if (bar != null) {
            bar.resume();
        }
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
