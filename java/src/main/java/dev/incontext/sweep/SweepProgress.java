package dev.incontext.sweep;

import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Counts cells done, running and failed, and estimates the time left from the cells that actually trained (skipped
 * ones cost nothing) and the number running at once. Prints one line per change through {@code out}.
 */
public final class SweepProgress implements SweepListener {
    private final Consumer<String> out;
    private final Set<Integer> running = new HashSet<>();
    private final Set<Integer> ended = new HashSet<>();
    private final long t0 = System.nanoTime();
    private int total;
    private int parallelism = 1;
    private int done;
    private int failed;
    private int skipped;
    private int trained;
    private double trainedSeconds;

    public SweepProgress(Consumer<String> out) {
        this.out = out;
    }

    @Override
    public synchronized void onStart(int cells, int parallelism) {
        this.total = cells;
        this.parallelism = Math.max(1, parallelism);
        out.accept(String.format(Locale.ROOT, "sweep: %d cells, up to %d at once", cells, this.parallelism));
    }

    @Override
    public synchronized void onCellStarted(Cell cell) {
        if (!ended.contains(cell.index())) {   // Spark may report a task's start after its result
            running.add(cell.index());
        }
    }

    @Override
    public void onNotice(String message) {
        out.accept("note: " + message);
    }

    @Override
    public synchronized void onCellFinished(CellResult r) {
        running.remove(r.index());
        ended.add(r.index());
        if (r.status() == CellResult.Status.FAILED) {
            failed++;
        } else if (r.status() == CellResult.Status.FINISHED) {
            done++;
        }
        if (r.action() == CellResult.Action.SKIPPED) {
            skipped++;
        } else if (r.status() != CellResult.Status.INTERRUPTED) {
            trained++;
            trainedSeconds += r.seconds();
        }
        String what = switch (r.status()) {
            case FINISHED -> r.action() == CellResult.Action.SKIPPED ? "already finished"
                    : r.action() == CellResult.Action.RESUMED ? "finished (resumed from step " + r.resumedFromStep() + ")"
                    : "finished";
            case FAILED -> (r.action() == CellResult.Action.SKIPPED ? "failed before (--retry reruns it): "
                    : "FAILED: ") + r.message();
            case INTERRUPTED -> "interrupted";
        };
        out.accept(String.format(Locale.ROOT, "cell %s %s%s", r.name(), what,
                r.action() == CellResult.Action.SKIPPED ? "" : String.format(Locale.ROOT, " (%.1f s)", r.seconds())));
        out.accept(line());
    }

    /** e.g. {@code 5/16 done, 2 running, 1 failed, 8 to go; 40 s elapsed, about 1 min 4 s left}. */
    public synchronized String line() {
        int left = total - done - failed;
        // Spark may announce the next task's start just before the previous task's result reaches us.
        int runningNow = Math.min(Math.min(running.size(), parallelism), left);
        int pending = Math.max(0, left - runningNow);
        String eta;
        if (left == 0) {
            eta = "";
        } else if (trained == 0) {
            eta = ", time left unknown until a cell has trained";
        } else {
            double perCell = trainedSeconds / trained;
            eta = ", about " + duration(perCell * left / Math.min(parallelism, Math.max(1, left))) + " left";
        }
        return String.format(Locale.ROOT, "sweep: %d/%d done, %d running, %d failed, %d to go (%d skipped as finished); "
                + "%s elapsed%s", done, total, runningNow, failed, pending, skipped,
                duration((System.nanoTime() - t0) / 1e9), eta);
    }

    static String duration(double s) {
        long r = Math.round(s);
        if (r < 60) {
            return r + " s";
        }
        if (r < 3600) {
            return (r / 60) + " min " + (r % 60) + " s";
        }
        return (r / 3600) + " h " + (r % 3600 / 60) + " min";
    }
}
