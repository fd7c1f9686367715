package dev.incontext.sweep.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.sweep.Cell;
import dev.incontext.sweep.CellResult;
import dev.incontext.sweep.SweepListener;
import dev.incontext.sweep.SweepOptions;
import dev.incontext.sweep.SweepOutcome;
import dev.incontext.sweep.SweepPlan;
import dev.incontext.sweep.SweepSpec;
import dev.incontext.sweep.Sweeps;
import dev.incontext.train.Trainer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 2 x 2 grid of tiny runs on an embedded Spark ({@code local[2]}): results bit-identical to the same cells trained
 * one by one, re-runs skip finished cells, and a cell whose final checkpoint is deleted (and only that one) resumes.
 */
class SparkSweepTest {
    /** A tiny run (1 layer, width 16, d = 5, 11 points, 8 steps, checkpoints at 4 and 8), one thread per pool. */
    static final List<String> TINY = List.of("model.preset=custom", "model.n_layer=1", "model.n_head=2",
            "model.n_embd=16", "training.steps=8", "training.log_every=1", "training.save_every=4",
            "training.keep_checkpoints=2", "training.threads=1", "training.blas_threads=1", "training.batch_size=16",
            "eval.num_prompts=64", "eval.batch_size=64", "seed=1234");

    static SweepSpec grid(Path out, String... axes) {
        return SweepSpec.load("demo", concat(TINY, axes), null, out.toString());
    }

    @Test
    void localGridEqualsSerialRunsResumesAndSkips(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("sweep");
        SweepPlan plan = SweepPlan.of(grid(out, "training.learning_rate=0.001,0.003", "model.n_layer=1,2"));
        assertEquals(4, plan.cells().size());
        SweepOptions local2 = new SweepOptions("local[2]", false, false, 0, Map.of("spark.ui.enabled", "false"));
        SweepOutcome first = Sweeps.run(plan, local2, new SweepListener() {});
        assertEquals(4, first.count(CellResult.Status.FINISHED), first.cells().toString());
        assertEquals(4, first.count(CellResult.Action.TRAINED));

        // Cells ran side by side: the training intervals of some two cells overlap (a serial backend overlaps none).
        // Any pair, not a fixed one: a cell trains in about 30 ms here, and one executor thread's start can lag the
        // other's by as much (seen once for cells 0 and 1, 4 ms apart), while the slots stay busy together.
        List<FileTime[]> intervals = new java.util.ArrayList<>();
        for (Cell c : plan.cells()) {
            intervals.add(interval(out.resolve(c.name())));
        }
        boolean overlap = false;
        for (int i = 0; i < intervals.size(); i++) {
            for (int j = i + 1; j < intervals.size(); j++) {
                FileTime[] a = intervals.get(i), b = intervals.get(j);
                overlap |= a[0].compareTo(b[1]) < 0 && b[0].compareTo(a[1]) < 0;
            }
        }
        final boolean sideBySide = overlap;
        assertTrue(sideBySide, () -> "no two cells overlapped: " + intervals.stream().map(List::of).toList());

        // The same cells trained one after another in this thread, without Spark: bit for bit the same.
        for (Cell c : plan.cells()) {
            Path cellDir = out.resolve(c.name());
            RunConfig saved = ConfigLoader.fromYaml(RunConfig.class, Files.readString(cellDir.resolve("config.yaml")));
            RunConfig serial = ConfigLoader.withOverrides(saved, List.of("out_dir=" + dir.resolve("serial").resolve(c.name())));
            try (PointerScope scope = new PointerScope()) {
                new Trainer().train(serial, null);
            }
            assertEquals(losses(dir.resolve("serial").resolve(c.name())), losses(cellDir), c.name());
            assertArrayEquals(Files.readAllBytes(dir.resolve("serial").resolve(c.name()).resolve("checkpoints/step-00000008/model.pt")),
                    Files.readAllBytes(cellDir.resolve("checkpoints/step-00000008/model.pt")), c.name());
        }

        // results.csv: one row per cell with its axis values and final loss; the heatmap of the two axes.
        List<String> rows = Files.readAllLines(first.resultsCsv());
        assertEquals(5, rows.size(), String.join("\n", rows));
        assertTrue(rows.get(0).startsWith("cell,training.learning_rate,model.n_layer,status,action"), rows.get(0));
        assertTrue(rows.get(0).contains("final_loss") && rows.get(0).contains("eval_model")
                && rows.get(0).contains("eval_least_squares"), rows.get(0));
        assertNotNull(first.heatmapPng());
        assertTrue(ImageIO.read(first.heatmapPng().toFile()).getWidth() > 2 * 96);
        assertTrue(Files.readString(first.heatmapSvg()).contains("<svg"));

        // Re-running skips all four, with the same numbers.
        Map<String, FileTime> times = checkpointTimes(out, plan);
        SweepOutcome again = Sweeps.run(plan, local2, new SweepListener() {});
        assertEquals(4, again.count(CellResult.Action.SKIPPED), again.cells().toString());
        for (CellResult r : again.cells()) {
            assertEquals(first.cell(r.name()).metrics(), r.metrics(), r.name());
        }
        assertEquals(times, checkpointTimes(out, plan));

        // Deleting one cell's last checkpoint resumes that cell (from step 4), and only that one.
        Cell victim = plan.cells().get(2);
        deleteTree(out.resolve(victim.name()).resolve("checkpoints/step-00000008"));
        SweepOutcome third = Sweeps.run(plan, local2, new SweepListener() {});
        assertEquals(3, third.count(CellResult.Action.SKIPPED), third.cells().toString());
        CellResult resumed = third.cell(victim.name());
        assertEquals(CellResult.Action.RESUMED, resumed.action());
        assertEquals(4, resumed.resumedFromStep());
        Map<String, Double> before = new HashMap<>(first.cell(victim.name()).metrics());
        Map<String, Double> after = new HashMap<>(resumed.metrics());
        before.remove("train_seconds");
        after.remove("train_seconds");
        assertEquals(before, after);
        assertEquals(losses(dir.resolve("serial").resolve(victim.name())), losses(out.resolve(victim.name())));
        Map<String, FileTime> timesAfter = checkpointTimes(out, plan);
        for (Cell c : plan.cells()) {
            if (c != victim) {
                assertEquals(times.get(c.name()), timesAfter.get(c.name()), c.name());
            }
        }
    }

    /**
     * --fail-fast: the first cell fails at once (a bad value), the sweep is cancelled, the long cell running beside it
     * stops between two steps (interrupted, resumable) and the cells after it never start.
     */
    /** The start notice names the threads the cells will run on: a config's training.threads wins over the share. */
    @Test
    void threadsNoticeSaysWhatTheCellsRunOn(@TempDir Path dir) {
        Path out = dir.resolve("sweep");
        assertEquals("2 torch/OpenBLAS threads each", SparkBackend.threadsNotice(SweepPlan.of(grid(out,
                "training.threads=0", "training.learning_rate=0.001,0.003")), 2));
        assertEquals("torch threads as the cells' configs set them (1)", SparkBackend.threadsNotice(SweepPlan.of(
                grid(out, "training.learning_rate=0.001,0.003")), 2));   // TINY sets training.threads=1
        assertEquals("torch threads as the cells' configs set them (1), 2 each for the others",
                SparkBackend.threadsNotice(SweepPlan.of(grid(out, "training.threads=0,1")), 2));
        // A cell whose config is invalid fails in its own task, by name; the notice does not throw for it.
        assertEquals("torch threads as the cells' configs set them (1), 2 each for the others",
                SparkBackend.threadsNotice(SweepPlan.of(grid(out, "training.batch_size=16,0")), 2));
    }

    @Test
    void failFastStopsTheSweepAtTheFirstFailure(@TempDir Path dir) throws Exception {
        SweepSpec spec = SweepSpec.load("demo", concat(TINY, "training.steps=20000", "training.save_every=0",
                "training.learning_rate=-1,0.001,0.002,0.003"), null, dir.toString());
        SweepPlan plan = SweepPlan.of(spec);
        long t0 = System.nanoTime();
        SweepOutcome r = Sweeps.run(plan, new SweepOptions("local[2]", false, true, 0, Map.of("spark.ui.enabled", "false")),
                new SweepListener() {});
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(r.cells().get(0).failed(), r.cells().toString());
        assertEquals(0, r.count(CellResult.Status.FINISHED), r.cells().toString());
        assertEquals(CellResult.Status.INTERRUPTED, r.cells().get(1).status(), r.cells().toString());
        assertEquals(CellResult.Action.NONE, r.cells().get(3).action(), "the last cell should never have started");
        assertTrue(seconds < 60, "cancellation took " + seconds + " s");
    }

    /**
     * {@code a} then {@code b}. A later fixed value replaces an earlier one; an axis on a key that also has a fixed
     * value overrides it in every cell (the fixed value keeps the base config valid, e.g. model.n_layer with preset
     * custom).
     */
    static List<String> concat(List<String> a, String... b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(List.of(b));
        return out;
    }

    /** The losses of metrics.jsonl, step by step (steps/s differs run to run and is left out). */
    static List<String> losses(Path runDir) throws IOException {
        List<String> out = new ArrayList<>();
        for (String l : Files.readAllLines(runDir.resolve("metrics.jsonl"), StandardCharsets.UTF_8)) {
            out.add(l.replaceAll(",\"steps_per_s\":[^,}]*", ""));
        }
        return out;
    }

    /** When a cell's training began (config.yaml written) and ended (last checkpoint written). */
    static FileTime[] interval(Path cellDir) throws IOException {
        return new FileTime[] {Files.getLastModifiedTime(cellDir.resolve("config.yaml")),
            Files.getLastModifiedTime(cellDir.resolve("checkpoints/step-00000008/model.pt"))};
    }

    static void deleteTree(Path p) throws IOException {
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }

    static Map<String, FileTime> checkpointTimes(Path out, SweepPlan plan) throws IOException {
        Map<String, FileTime> m = new HashMap<>();
        for (Cell c : plan.cells()) {
            m.put(c.name(), Files.getLastModifiedTime(out.resolve(c.name()).resolve("checkpoints/step-00000008/model.pt")));
        }
        return m;
    }
}
