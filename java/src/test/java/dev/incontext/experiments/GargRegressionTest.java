package dev.incontext.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.eval.Evaluation;
import dev.incontext.eval.Metric;
import dev.incontext.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** garg-regression: its grid at a tiny size, its claims' criteria on made-up curves, and its plateau rule. */
class GargRegressionTest {
    private static final int D = 5;
    private static final int POINTS = 11;

    @Test
    void runsRecipeAndComparisonCellsPerSeed(@TempDir Path dir) throws Exception {
        // The recipe at d = 5 (30 steps) and the curriculum comparison at d = 6 (13 points, 20 steps), both settings:
        // a larger d than the recipe's, as on the CPU default (a check that forgot the comparison's d refused it).
        List<String> o = List.of("out_dir=" + dir, "model.n_layer=1", "model.n_embd=16", "training.steps=30",
                "training.save_every=10", "training.log_every=5", "eval.num_prompts=64", "eval.batch_size=64",
                "compare_dims=6", "compare_steps=20");
        ExperimentReport r = new GargRegression().run(ExperimentContext.quiet(o));
        List<String> rows = Files.readAllLines(dir.resolve("errors.csv"));
        int large = 2 * 6 + 1;
        assertEquals(1 + POINTS + 2 * large, rows.size(), rows.toString());
        assertTrue(rows.get(1).startsWith("0,5,false,0,") && rows.get(1 + POINTS).startsWith("0,6,false,0,")
                && rows.get(1 + POINTS + large).startsWith("0,6,true,0,"), rows.toString());
        // Each comparison cell trained at its own size and length, the recipe's at the recipe's.
        RunConfig on = ConfigLoader.load(RunConfig.class,
                dir.resolve("cells/seed=0__n_dims=6__enabled=true/config.yaml").toString(), List.of());
        assertEquals(6, on.task().nDims());
        assertEquals(13, on.model().nPositions());
        assertEquals(6, on.curriculum().dims().end());
        assertEquals(13, on.curriculum().points().end());
        assertEquals(20, on.training().steps());
        assertTrue(on.curriculum().enabled());
        RunConfig recipe = ConfigLoader.load(RunConfig.class,
                dir.resolve("cells/seed=0__n_dims=5__enabled=false/config.yaml").toString(), List.of());
        assertEquals(5, recipe.task().nDims());
        assertEquals(11, recipe.model().nPositions());
        assertEquals(30, recipe.training().steps());
        assertTrue(Files.notExists(dir.resolve("cells/seed=0__n_dims=5__enabled=true")), "no curriculum cell at d = 5");
        String summary = Files.readString(r.summary());
        assertTrue(summary.contains("| claim | criterion (fixed before the run) | measured | verdict |"), summary);
        assertTrue(summary.contains("| 0 | 5 | off (recipe) |") && summary.contains("| 0 | 6 | on |")
                && summary.contains("| 0 | 6 | off |"), summary);
        assertTrue(summary.contains("on every seed at d = 6 (20 steps a run)"), summary);
        assertTrue(Files.exists(dir.resolve("errors.svg")));
        // 30 steps learn nothing: the error is far from 0, which the first claim must say.
        assertTrue(summary.contains("**disagree**"), summary);
    }

    @Test
    void comparisonAtTheRecipesSizeSharesItsCell(@TempDir Path dir) throws Exception {
        List<String> o = List.of("out_dir=" + dir, "model.n_layer=1", "model.n_embd=16", "training.steps=20",
                "training.save_every=10", "training.log_every=5", "eval.num_prompts=64", "eval.batch_size=64",
                "compare_dims=5");
        new GargRegression().run(ExperimentContext.quiet(o));
        try (var cells = Files.list(dir.resolve("cells"))) {
            assertEquals(List.of("seed=0__n_dims=5__enabled=false", "seed=0__n_dims=5__enabled=true"), cells
                    .filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList());
        }
        // Other steps for the comparison would make the shared cell two different runs.
        assertThrows(IllegalArgumentException.class, () -> new GargRegression().run(ExperimentContext.quiet(
                List.of("out_dir=" + dir, "compare_dims=5", "compare_steps=10"))));
    }

    @Test
    void refusesASingleSeedOverrideAndBadLists() {
        assertThrows(IllegalArgumentException.class,
                () -> new GargRegression().run(ExperimentContext.quiet(List.of("seed=3"))));
        assertThrows(IllegalArgumentException.class,
                () -> new GargRegression().run(ExperimentContext.quiet(List.of("seeds=0,x"))));
        assertThrows(IllegalArgumentException.class,
                () -> new GargRegression().run(ExperimentContext.quiet(List.of("compare=maybe"))));
        assertThrows(IllegalArgumentException.class,
                () -> new GargRegression().run(ExperimentContext.quiet(List.of("compare_dims=0"))));
        assertThrows(IllegalArgumentException.class,
                () -> new GargRegression().run(ExperimentContext.quiet(List.of("compare_steps=ten"))));
        // The curriculum starts at 2 dimensions: a comparison at d = 1 is no valid run, and says so before training.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new GargRegression().run(ExperimentContext.quiet(List.of("compare_dims=1"))));
        assertTrue(e.getMessage().contains("comparison at d = 1"), e.getMessage());
    }

    /** A curve flat at {@code value} with a band of +-{@code half}, except k = 0 at 1 (no examples). */
    private static Evaluation.Curve curve(String name, double value, double half) {
        double[] m = new double[POINTS];
        Arrays.fill(m, value);
        m[0] = 1;
        double[] lo = m.clone();
        double[] hi = m.clone();
        for (int k = 0; k < POINTS; k++) {
            lo[k] -= half;
            hi[k] += half;
        }
        return new Evaluation.Curve(name, m, lo, hi);
    }

    private static GargRegression.CellFindings cell(String seed, boolean curriculum, double tfError, double delta,
            long plateau) {
        return cell(seed, D, curriculum, !curriculum, true, tfError, delta, plateau);
    }

    private static GargRegression.CellFindings cell(String seed, int dims, boolean curriculum, boolean recipe,
            boolean comparison, double tfError, double delta, long plateau) {
        Evaluation e = new Evaluation("standard", "training distribution", new Metric.SquaredError(), D, 1280, List.of(
                curve("Transformer", tfError, tfError / 10), curve("Least Squares", 0, 0), curve("Averaging", 0.5, 0.05),
                curve("3-Nearest Neighbors", 0.8, 0.05)));
        double[] toLs = new double[POINTS];
        Arrays.fill(toLs, delta);
        return new GargRegression.CellFindings(seed, dims, curriculum, recipe, comparison, e, Map.of("Transformer", "model",
                "Least Squares", "least_squares", "Averaging", "averaging", "3-Nearest Neighbors", "knn:3"), toLs,
                plateau, 20000, 600);
    }

    @Test
    void claimsAgreeOnlyWhenEverySeedMeetsTheCriteria() {
        List<Claim> good = GargRegression.claims(List.of(cell("0", false, 0.004, 0.01, 1000), cell("0", true, 0.004,
                0.01, 600), cell("1", false, 0.003, 0.01, 1200), cell("1", true, 0.003, 0.01, 700)), D);
        for (Claim c : good) {
            assertEquals(Claim.Verdict.AGREE, c.verdict(), c.toString());
        }
        // One seed at 0.05 from k = 2d on: the first claim disagrees; the others still hold.
        List<Claim> oneBad = GargRegression.claims(List.of(cell("0", false, 0.004, 0.01, 1000),
                cell("1", false, 0.05, 0.01, 1000)), D);
        assertEquals(Claim.Verdict.DISAGREE, oneBad.get(0).verdict(), oneBad.get(0).toString());
        assertTrue(oneBad.get(0).measured().contains("seed 1: worst k = 10, 0.0500"), oneBad.get(0).measured());
        assertEquals(Claim.Verdict.AGREE, oneBad.get(1).verdict());
        // A band straddling the mark decides nothing.
        assertEquals(Claim.Verdict.INCONCLUSIVE, GargRegression.claims(List.of(cell("0", false, 0.0095, 0.01, 1000)),
                D).get(0).verdict());
        // Far from least squares below d: the third claim disagrees.
        assertEquals(Claim.Verdict.DISAGREE, GargRegression.claims(List.of(cell("0", false, 0.004, 0.2, 1000)), D)
                .get(2).verdict());
        // Worse than averaging: the second claim disagrees.
        assertEquals(Claim.Verdict.DISAGREE, GargRegression.claims(List.of(cell("0", false, 0.9, 0.01, 1000)), D)
                .get(1).verdict());
    }

    @Test
    void curriculumClaimComparesStepsPerSeed() {
        // Slower with the curriculum on every seed: disagree; mixed: inconclusive; no pairs: inconclusive.
        assertEquals(Claim.Verdict.DISAGREE, GargRegression.claims(List.of(cell("0", false, 0.004, 0.01, 500),
                cell("0", true, 0.004, 0.01, 900)), D).get(3).verdict());
        assertEquals(Claim.Verdict.INCONCLUSIVE, GargRegression.claims(List.of(cell("0", false, 0.004, 0.01, 500),
                cell("0", true, 0.004, 0.01, 900), cell("1", false, 0.004, 0.01, 900), cell("1", true, 0.004, 0.01,
                        500)), D).get(3).verdict());
        // Within 10% counts as neither.
        assertEquals(Claim.Verdict.INCONCLUSIVE, GargRegression.claims(List.of(cell("0", false, 0.004, 0.01, 1000),
                cell("0", true, 0.004, 0.01, 950)), D).get(3).verdict());
        Claim none = GargRegression.claims(List.of(cell("0", false, 0.004, 0.01, 500)), D).get(3);
        assertEquals(Claim.Verdict.INCONCLUSIVE, none.verdict());
        // Never leaving the plateau without the curriculum while leaving it with: faster.
        assertEquals(Claim.Verdict.AGREE, GargRegression.claims(List.of(cell("0", false, 0.5, 0.01, -1),
                cell("0", true, 0.004, 0.01, 900)), D).get(3).verdict());
        // The recipe's cell at another size is not part of the comparison: its early exit (500) must not be paired
        // with the comparison's curriculum cell (900), which would read as slower.
        Claim sized = GargRegression.claims(List.of(cell("0", D, false, true, false, 0.004, 0.01, 500),
                cell("0", 10, false, false, true, 0.5, 0.01, -1), cell("0", 10, true, false, true, 0.02, 0.01, 2400)),
                D).get(3);
        assertEquals(Claim.Verdict.AGREE, sized.verdict(), sized.toString());
        assertTrue(sized.criterion().contains("at d = 10") && sized.measured().contains("step 2400 with, never"),
                sized.toString());
    }

    @Test
    void plateauExitNeedsASustainedDropAtTheFullSize() {
        RunConfig c = ConfigLoader.load(RunConfig.class, "garg_regression", List.of("curriculum.enabled=true"));
        List<JsonNode> records = new ArrayList<>();
        // Under the curriculum (4 dims) the loss is low already: not the full-size task, not counted.
        records.add(record(0, 4, 9, 0.5));
        // One noisy dip among plateau records is not an exit.
        double[] excess = {3.6, 3.5, 1.2, 3.4, 3.3, 3.2, 1.3, 1.2, 1.1, 1.0, 0.9};
        for (int i = 0; i < excess.length; i++) {
            records.add(record(100 * (i + 1), 5, 11, excess[i]));
        }
        // The running median of 5 is above 1.5 up to the window from step 400 (3.4 3.3 3.2 1.3 1.2), below from the
        // window from step 500 on.
        assertEquals(500, GargRegression.plateauExit(c, records));
        // Never below for good: the plateau records alone, or a spike back onto the plateau at the end.
        assertEquals(-1, GargRegression.plateauExit(c, records.subList(0, 7)));
        for (int i = 0; i < 3; i++) {
            records.add(record(1200 + 100 * i, 5, 11, 3.5));
        }
        assertEquals(-1, GargRegression.plateauExit(c, records));
        // A run that diverged after its drop has not left the plateau: metrics.jsonl holds null for the NaN loss,
        // which was once read as 0 (and counted as below the mark).
        List<JsonNode> diverged = new ArrayList<>(records.subList(0, 12));
        for (int i = 0; i < 3; i++) {
            diverged.add(Json.parse("{\"step\":" + (1200 + 100 * i) + ",\"loss\":null,\"n_dims\":5,\"n_points\":11,"
                    + "\"excess_loss\":null}"));
        }
        assertEquals(500, GargRegression.plateauExit(c, records.subList(0, 12)));
        assertEquals(-1, GargRegression.plateauExit(c, diverged));
    }

    private static JsonNode record(long step, int dims, int points, double excess) {
        return Json.parse("{\"step\":" + step + ",\"loss\":1.0,\"n_dims\":" + dims + ",\"n_points\":" + points
                + ",\"excess_loss\":" + excess + "}");
    }
}
