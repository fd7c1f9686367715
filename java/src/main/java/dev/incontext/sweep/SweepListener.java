package dev.incontext.sweep;

/** Receives a sweep's events; the CLI prints them, tests assert on them. Backends may call it from several threads. */
public interface SweepListener {
    /** The sweep is about to run {@code cells} cells, at most {@code parallelism} at once. */
    default void onStart(int cells, int parallelism) {}

    default void onCellStarted(Cell cell) {}

    default void onCellFinished(CellResult result) {}

    /** Something the user should know that is not a cell's result (set-up costs, a backend's warnings). */
    default void onNotice(String message) {}
}
