package dev.incontext.experiments;

import dev.incontext.sweep.Cell;
import dev.incontext.sweep.CellResult;
import dev.incontext.sweep.SweepListener;
import dev.incontext.sweep.SweepOptions;
import dev.incontext.sweep.SweepOutcome;
import dev.incontext.sweep.SweepPlan;
import dev.incontext.sweep.Sweeps;
import dev.incontext.train.TrainedModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** What the grid experiments share: running their grid through the sweep runner and reading its cells back. */
final class Grids {
    private Grids() {}

    /** Trains every cell of {@code plan} on the context's master (finished cells are skipped), logging each cell. */
    static SweepOutcome train(SweepPlan plan, ExperimentContext ctx) throws IOException {
        try {
            return Sweeps.run(plan, new SweepOptions(ctx.master(), false, true, 0, Map.of()), new SweepListener() {
                @Override
                public void onCellFinished(CellResult r) {
                    ctx.log().accept("cell " + r.name() + ": " + r.status() + " " + r.message());
                }
            });
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("the grid's sweep failed: " + e.getMessage(), e);
        }
    }

    /** A cell's trained model; a failed cell is an error naming it. */
    static TrainedModel load(SweepPlan plan, SweepOutcome outcome, Cell cell, ExperimentContext ctx) throws IOException {
        CellResult r = outcome.cell(cell.name());
        if (r.failed()) {
            throw new IllegalStateException("cell " + cell.name() + " failed: " + r.message());
        }
        return TrainedModel.load(Path.of(plan.cellConfig(cell).outDir()), ctx.log());
    }

    /** The values of a list override such as {@code grid=1,4,16} or {@code depths=[1,2]}. */
    static List<String> values(String v) {
        List<String> out = new ArrayList<>();
        for (String s : v.replace("[", "").replace("]", "").split(",")) {
            if (!s.isBlank()) {
                out.add(s.strip());
            }
        }
        return out;
    }
}
