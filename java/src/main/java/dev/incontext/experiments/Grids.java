package dev.incontext.experiments;

import dev.incontext.sweep.Cell;
import dev.incontext.sweep.CellResult;
import dev.incontext.sweep.CellRunner;
import dev.incontext.sweep.SweepListener;
import dev.incontext.sweep.SweepOptions;
import dev.incontext.sweep.SweepOutcome;
import dev.incontext.sweep.SweepPlan;
import dev.incontext.sweep.SweepSpec;
import dev.incontext.sweep.Sweeps;
import dev.incontext.config.RunConfig;
import dev.incontext.train.TrainedModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;

/** What the grid experiments share: running their grid through the sweep runner and reading its cells back. */
final class Grids {
    private Grids() {}

    /**
     * Trains every cell of {@code plan} on a sweep master ({@code serial}, {@code local[N]} or a Spark master URL;
     * finished cells are skipped), logging each cell and what its training reports.
     */
    static SweepOutcome train(SweepPlan plan, String master, Consumer<String> log) throws IOException {
        try {
            return Sweeps.run(plan, new SweepOptions(master, false, true, 0, Map.of()), new SweepListener() {
                @Override
                public void onCellFinished(CellResult r) {
                    log.accept("cell " + r.name() + ": " + (r.action() == CellResult.Action.SKIPPED && !r.failed()
                            ? "done before, skipped" : (r.status() + " " + r.message()).strip()));
                }

                @Override
                public void onNotice(String message) {
                    log.accept(message);
                }
            });
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("the grid's sweep failed: " + e.getMessage(), e);
        }
    }

    /**
     * The seed axis of an experiment's grid: the one seed of its resolved config ({@code seed=N} among the overrides,
     * else the config file's), so that every cell trains from it and the cell names say it ({@code ...__seed=N}). A
     * sweep's {@code seeds: 1} would instead set seed 0 on every cell whatever the override said.
     */
    static SweepSpec.Axis seedAxis(RunConfig config) {
        return new SweepSpec.Axis("seed", List.of(Long.toString(config.seed())));
    }

    /** A cell's trained model; a cell that did not finish is an error naming it. */
    static TrainedModel load(SweepPlan plan, SweepOutcome outcome, Cell cell, ExperimentContext ctx) throws IOException {
        finished(plan, outcome, cell);
        return TrainedModel.load(Path.of(plan.cellConfig(cell).outDir()), ctx.log());
    }

    /**
     * A cell's result when it finished; a failed cell (which a re-run skips while the config is the same) or one that
     * stopped before its end (a re-run resumes it) is an error naming it.
     */
    static CellResult finished(SweepPlan plan, SweepOutcome outcome, Cell cell) {
        CellResult r = outcome.cell(cell.name());
        if (r.failed()) {
            throw new IllegalStateException("cell " + cell.name() + " failed: " + r.message() + " (recorded in "
                    + plan.outDir().resolve(cell.name()).resolve(CellRunner.STATUS_FILE) + "; a run with the same "
                    + "config skips it: change the config, or delete that file to try again)");
        }
        if (r.status() != CellResult.Status.FINISHED) {
            throw new IllegalStateException("cell " + cell.name() + " did not finish: " + r.message());
        }
        return r;
    }

    /**
     * The value of an experiment's on/off override such as {@code control=false}: true or false, else an error naming
     * the key and what false means.
     */
    static boolean flag(String override, String whatFalseMeans) {
        int eq = override.indexOf('=');
        String key = override.substring(0, eq);
        String v = override.substring(eq + 1).strip();
        if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException(key + ": must be true or false (false: " + whatFalseMeans + "); got '"
                    + v + "'");
        }
        return v.equals("true");
    }

    /**
     * The value of an experiment's count override such as {@code compare_steps=6000}: an integer from 1 to {@code max},
     * else an error naming the key, the range and what the count is.
     */
    static long count(String override, long max, String what) {
        int eq = override.indexOf('=');
        String v = override.substring(eq + 1).strip();
        if (v.matches("[1-9]\\d{0,17}") && Long.parseLong(v) <= max) {
            return Long.parseLong(v);
        }
        throw new IllegalArgumentException(override.substring(0, eq) + ": must be an integer from 1 to " + max + " ("
                + what + "); got '" + v + "'");
    }

    /**
     * The name of the predictor an evaluation configured as {@code spec} (e.g. {@code averaging}, or {@code knn:3} for
     * any 3-NN variant), from an outcome's predictor settings; an error naming what there is when none is.
     */
    static String predictorWith(Map<String, String> specs, String spec, String experiment) {
        for (var en : specs.entrySet()) {
            if (en.getValue().equals(spec) || en.getValue().startsWith(spec + ":")) {
                return en.getKey();
            }
        }
        throw new IllegalStateException(experiment + " needs the " + spec + " baseline; eval.baselines has "
                + specs.values());
    }

    /**
     * {@code plan} with one more key on every cell, its value computed from the cell: per-cell settings that no axis
     * crosses (e.g. a longer schedule for the grid's deepest model). The cells keep their names, and every cell gets
     * the key, so the sweep's results table keeps one column per key.
     */
    static SweepPlan withCellValue(SweepPlan plan, String key, Function<Cell, String> value) {
        List<Cell> cells = new ArrayList<>();
        for (Cell c : plan.cells()) {
            if (c.keys().contains(key)) {
                throw new IllegalArgumentException("cell " + c.name() + " already sets " + key);
            }
            List<String> keys = new ArrayList<>(c.keys());
            List<String> values = new ArrayList<>(c.values());
            keys.add(key);
            values.add(value.apply(c));
            cells.add(new Cell(c.index(), c.name(), keys, values));
        }
        return new SweepPlan(plan.spec(), plan.baseYaml(), cells, plan.outDir(), plan.job());
    }

    /**
     * {@code plan} with only the cells {@code keep} accepts, in their order and with their names: a grid that is not a
     * full cross of its axes (e.g. one setting at one size, both at another).
     */
    static SweepPlan select(SweepPlan plan, Predicate<Cell> keep) {
        List<Cell> cells = new ArrayList<>();
        for (Cell c : plan.cells()) {
            if (keep.test(c)) {
                cells.add(new Cell(cells.size(), c.name(), c.keys(), c.values()));
            }
        }
        if (cells.isEmpty()) {
            throw new IllegalArgumentException("no cell of the grid is selected");
        }
        return new SweepPlan(plan.spec(), plan.baseYaml(), cells, plan.outDir(), plan.job());
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
