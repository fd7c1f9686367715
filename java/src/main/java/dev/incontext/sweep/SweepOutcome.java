package dev.incontext.sweep;

import java.nio.file.Path;
import java.util.List;

/** A sweep's results: one row per cell (in grid order), the table and heatmap written, and the wall time. */
public record SweepOutcome(List<CellResult> cells, Path resultsCsv, Path heatmapPng, Path heatmapSvg, double seconds) {
    public SweepOutcome {
        cells = List.copyOf(cells);
    }

    public long count(CellResult.Status status) {
        return cells.stream().filter(c -> c.status() == status).count();
    }

    public long count(CellResult.Action action) {
        return cells.stream().filter(c -> c.action() == action).count();
    }

    public CellResult cell(String name) {
        return cells.stream().filter(c -> c.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no cell named " + name));
    }
}
