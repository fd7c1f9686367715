package dev.incontext.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.cli.Main;
import dev.incontext.config.ConfigException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sweep files and command-line axes: parsing, and errors named before any work. Plus the serial backend. */
class SweepSpecTest {
    /** Writes a sweep file and runs `incontext sweep` on it; returns the exit code and checks nothing was created. */
    private static String failingSweep(Path dir, String yaml, int[] rc) throws Exception {
        Path f = dir.resolve("sweep.yaml");
        Files.writeString(f, yaml + "\nout_dir: " + dir.resolve("out") + "\n");
        StringWriter err = new StringWriter();
        rc[0] = Main.execute(new PrintWriter(new StringWriter()), new PrintWriter(err), "sweep", "--config", f.toString(),
                "--master", "serial");
        assertFalse(Files.exists(dir.resolve("out")), "work started before the error: " + err);
        return err.toString();
    }

    @Test
    void sweepFileErrorsNameTheKeyBeforeAnyWork(@TempDir Path dir) throws Exception {
        int[] rc = new int[1];
        String e = failingSweep(dir, "base: demo\naxis: {training.learning_rate: [0.1]}", rc);
        assertEquals(1, rc[0]);
        assertTrue(e.contains("axis: unknown key in the sweep file") && e.contains("axes"), e);

        e = failingSweep(dir, "base: demo\naxes: {training.learning_rat: [0.1, 0.2]}", rc);
        assertEquals(1, rc[0]);
        assertTrue(e.contains("axes.training.learning_rat: unknown config key under training") && e.contains("learning_rate"), e);

        e = failingSweep(dir, "base: demo\naxes: {training.learning_rate: []}", rc);
        assertEquals(1, rc[0]);
        assertTrue(e.contains("axes.training.learning_rate: has no values"), e);

        e = failingSweep(dir, "base: demo\naxes: {training.steps: 5}", rc);
        assertEquals(1, rc[0]);
        assertTrue(e.contains("axes.training.steps: expected a list of values"), e);

        e = failingSweep(dir, "base: demo\nmode: zip\naxes: {training.steps: [1, 2], seed: [1, 2, 3]}", rc);
        assertEquals(1, rc[0], e);
        assertTrue(e.contains("axes.seed: has 3 values but axes.training.steps has 2"), e);

        e = failingSweep(dir, "base: demo\naxes: {training: [1, 2]}", rc);
        assertEquals(1, rc[0], e);
        assertTrue(e.contains("axes.training: is a section"), e);

        e = failingSweep(dir, "base: demo\nseeds: 2\naxes: {seed: [1, 2]}", rc);
        assertEquals(1, rc[0], e);
        assertTrue(e.contains("seeds: give either seeds: N or an axis on seed"), e);

        // An override on seed beside seeds: N would be replaced on every cell by the seed axis: refused.
        e = failingSweep(dir, "base: demo\nseeds: 2\noverrides: {seed: 5}\naxes: {training.steps: [1, 2]}", rc);
        assertEquals(1, rc[0], e);
        assertTrue(e.contains("seeds: give either seeds: N (cells with seed 0..1) or the override seed=..."), e);

        e = failingSweep(dir, "base: no_such_config\naxes: {seed: [1, 2]}", rc);
        assertEquals(1, rc[0], e);
        assertTrue(e.contains("no config file 'no_such_config'"), e);

        e = failingSweep(dir, "base: demo\nheatmap: loss\naxes: {seed: [1, 2]}", rc);
        assertEquals(1, rc[0], e);
        assertTrue(e.contains("heatmap: unknown metric 'loss'"), e);
    }

    @Test
    void commandLineAxesLikeAHydraMultirun() {
        SweepSpec s = SweepSpec.load("demo", List.of("training.batch_size=8,16", "model.n_layer=range(1,4)",
                "training.learning_rate=logrange(1e-4,1e-2,3)", "seed=0,1", "training.steps=3", "eval.knn_k=[1,3]"),
                null, "runs/x");
        assertEquals(List.of("8", "16"), s.axes().get(0).values());
        assertEquals(List.of("1", "2", "3"), s.axes().get(1).values());
        assertEquals(List.of("0.0001", "0.001", "0.01"), s.axes().get(2).values());
        assertEquals(List.of("0", "1"), s.axes().get(3).values());
        assertEquals(List.of("training.steps=3", "eval.knn_k=[1,3]"), s.overrides());
        SweepPlan p = SweepPlan.of(s);
        assertEquals(2 * 3 * 3 * 2, p.cells().size());
        assertEquals("batch_size=8__n_layer=1__learning_rate=0.0001__seed=0", p.cells().get(0).name());
        assertEquals(16, p.cellConfig(p.cells().get(35)).training().batchSize());
        assertEquals(1, p.cellConfig(p.cells().get(35)).seed());

        assertEquals(List.of("0.1", "0.2", "0.3"), SweepSpec.expand("range", "0.1,0.4,0.1", "k"));
        assertEquals(List.of("5", "3"), SweepSpec.expand("range", "5,1,-2", "k"));
        ConfigException bad = assertThrows(ConfigException.class, () -> SweepSpec.expand("range", "1,x", "lr"));
        assertEquals("lr", bad.key());

        SweepSpec zip = SweepSpec.load("demo", List.of("training.batch_size=8,16", "seed=3,4"), SweepSpec.Mode.ZIP, "o");
        SweepPlan zp = SweepPlan.of(zip);
        assertEquals(2, zp.cells().size());
        assertEquals(List.of("16", "4"), zp.cells().get(1).values());
    }

    @Test
    void sweepFileWithSeedsRelativeBaseAndOverrides(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("my-base.yaml"), "inherit: demo\ntraining: {steps: 7}\n");
        Files.writeString(dir.resolve("sweep.yaml"), "base: my-base.yaml\noverrides: {training.batch_size: 8}\n"
                + "axes:\n  training.learning_rate: [1.0e-4, 3.0e-4]\nseeds: 3\nout_dir: " + dir.resolve("o") + "\n");
        SweepPlan p = SweepPlan.of(SweepSpec.load(dir.resolve("sweep.yaml").toString(), List.of(), null, null));
        assertEquals(6, p.cells().size());
        assertEquals(List.of("0.0001", "2"), p.cells().get(2).values());
        assertEquals(7, p.cellConfig(p.cells().get(0)).training().steps());
        assertEquals(8, p.cellConfig(p.cells().get(0)).training().batchSize());
        assertEquals(dir.resolve("o").resolve(p.cells().get(5).name()).toString(), p.cellConfig(p.cells().get(5)).outDir());
    }

    /**
     * Without Spark: the serial backend records a cell with a bad value as failed (message kept), finishes the other,
     * skips both on a re-run, and reruns the failed one with retry. A Spark master without the module names it.
     */
    @Test
    void serialSweepRecordsFailuresAndRetries(@TempDir Path dir) throws Exception {
        List<String> args = new ArrayList<>(List.of("model.preset=custom", "model.n_layer=1", "model.n_head=2",
                "model.n_embd=16", "training.steps=4", "training.save_every=2", "training.threads=1",
                "training.batch_size=8", "eval.num_prompts=16", "training.learning_rate=0.001,-1"));
        SweepPlan plan = SweepPlan.of(SweepSpec.load("demo", args, null, dir.toString()));
        SweepOptions serial = new SweepOptions("serial", false, false, 0, Map.of());
        List<String> lines = new ArrayList<>();
        SweepOutcome r = Sweeps.run(plan, serial, new SweepProgress(lines::add));
        assertEquals(1, r.count(CellResult.Status.FINISHED), r.cells().toString());
        CellResult bad = r.cells().get(1);
        assertTrue(bad.failed() && bad.message().contains("training.learning_rate: must be a positive number"),
                bad.message());
        assertTrue(lines.get(lines.size() - 1).contains("1/2 done, 0 running, 1 failed"), lines.toString());
        assertTrue(Files.readString(r.resultsCsv()).contains("must be a positive number"));

        SweepOutcome again = Sweeps.run(plan, serial, new SweepListener() {});
        assertEquals(2, again.count(CellResult.Action.SKIPPED));
        assertEquals(r.cells().get(0).metrics(), again.cells().get(0).metrics());
        assertTrue(again.cells().get(1).failed());

        SweepOutcome retry = Sweeps.run(plan, new SweepOptions("serial", true, false, 0, Map.of()), new SweepListener() {});
        assertEquals(CellResult.Action.SKIPPED, retry.cells().get(0).action());
        assertEquals(CellResult.Action.RETRIED, retry.cells().get(1).action());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Sweeps.run(plan, new SweepOptions("local[2]", false, false, 0, Map.of()), new SweepListener() {}));
        assertTrue(e.getMessage().contains("incontext-sweep"), e.getMessage());
    }

    @Test
    void dryRunListsTheCells() {
        StringWriter out = new StringWriter();
        int rc = Main.execute(new PrintWriter(out), null, "sweep", "--config", "demo", "--dry-run", "--out", "runs/x",
                "training.batch_size=8,16", "seed=0,1");
        assertEquals(0, rc, out.toString());
        assertTrue(out.toString().contains("batch_size=16__seed=1  training.batch_size=16 seed=1"), out.toString());
        assertTrue(out.toString().contains("4 cells under"), out.toString());
    }
}
