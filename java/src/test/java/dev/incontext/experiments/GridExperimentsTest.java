package dev.incontext.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.eval.Agreement;
import dev.incontext.eval.LinearProbes;
import dev.incontext.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** raventos-diversity and akyurek-algorithms: their mechanics at tiny sizes, and their paper presets. */
class GridExperimentsTest {
    private static final List<String> TINY = List.of("model.n_layer=1", "model.n_embd=16", "training.steps=30",
            "training.save_every=30", "eval.num_prompts=64", "eval.batch_size=64");

    @Test
    void raventosRunsItsPoolGridAndComparesWithDmmseAndRidge(@TempDir Path dir) throws Exception {
        List<String> o = new ArrayList<>(TINY);
        o.add("out_dir=" + dir);
        o.add("grid=1,64");
        ExperimentReport r = new RaventosDiversity().run(ExperimentContext.quiet(o));
        List<String> rows = Files.readAllLines(dir.resolve("diversity.csv"));
        // two pool sizes x (pretrain, latent), and the control (no pool) on fresh tasks, added to the user's grid
        assertEquals(1 + 2 * 2 + 1, rows.size(), rows.toString());
        assertTrue(rows.get(1).startsWith("1,standard,") && rows.get(2).startsWith("1,fresh_tasks,"), rows.toString());
        assertTrue(rows.get(5).startsWith("0,fresh_tasks,") && rows.get(5).contains(",NaN,"), rows.get(5));
        String summary = Files.readString(r.summary());
        assertTrue(summary.contains("dMMSE") && summary.contains("threshold"), summary);
        assertTrue(summary.contains("| ∞ (control) | latent |"), summary);
        assertTrue(summary.contains("the move from dMMSE to ridge happens at a threshold M*")
                && summary.contains("bootstrap resamples"), summary);
        // 30 steps cannot bring the control near ridge: the budget claim disagrees and every other claim says why
        // it is inconclusive.
        assertTrue(summary.contains("| the step budget trains the control to ridge |")
                && summary.contains("× ridge's error | **disagree** |"), summary);
        assertTrue(summary.contains("step budget is insufficient") && !summary.contains("**agree**"), summary);
        // With one task in the pool, dMMSE knows the task after one example: on pool prompts it beats ridge.
        String[] one = rows.get(1).split(",");
        assertTrue(Double.parseDouble(one[3]) < Double.parseDouble(one[4]), rows.get(1));
        // Running again trains nothing: every cell's final weights stay the very files they were.
        Map<Path, Object> weights = finalWeights(dir);
        assertEquals(3, weights.size(), weights.toString());
        new RaventosDiversity().run(ExperimentContext.quiet(o));
        assertEquals(weights, finalWeights(dir));
        assertTrue(Files.exists(dir.resolve("transition_fresh_tasks.svg")));
    }

    /**
     * Regimes are assigned by distances, not error sizes: rows of the committed CPU run (2026-12-01) where the old
     * rule said "dMMSE" although the model was 0.64 and 0.46 away from it are "neither" now, and the claims say
     * inconclusive rather than agree (that run had no switch on fresh tasks either).
     */
    @Test
    void raventosJudgesRegimesByDistances() {
        List<RaventosDiversity.Row> rows = List.of(
                new RaventosDiversity.Row(1, "standard", 0.0306, 0.0306, 0.0713, 1.42e-4, 1.89e-1),
                new RaventosDiversity.Row(1, "fresh_tasks", 1.6754, 1.6768, 0.0692, 1.97e-4, 1.30),
                new RaventosDiversity.Row(4, "standard", 0.1019, 0.0306, 0.0734, 1.07e-1, 2.52e-1),
                new RaventosDiversity.Row(4, "fresh_tasks", 1.2343, 1.3830, 0.0692, 6.42e-1, 9.42e-1),
                new RaventosDiversity.Row(16, "standard", 0.3638, 0.0306, 0.0749, 3.39e-1, 2.53e-1),
                new RaventosDiversity.Row(16, "fresh_tasks", 0.7994, 0.8702, 0.0692, 4.61e-1, 5.15e-1));
        assertEquals("dMMSE", RaventosDiversity.like(rows.get(0)));
        assertTrue(RaventosDiversity.like(rows.get(3)).startsWith("neither"), RaventosDiversity.like(rows.get(3)));
        assertTrue(RaventosDiversity.like(rows.get(5)).startsWith("neither"), RaventosDiversity.like(rows.get(5)));
        var noSwitch = new RaventosDiversity.Transition(Double.NaN, Double.NaN, Double.NaN, 1.0, 1000, 1024);
        for (Claim c : RaventosDiversity.claims(rows, noSwitch)) {
            assertEquals(Claim.Verdict.INCONCLUSIVE, c.verdict(), c.toString());
        }
        // A model that has learnt both regimes: like dMMSE on a small pool, like ridge on fresh tasks for a large one.
        List<RaventosDiversity.Row> learnt = List.of(
                new RaventosDiversity.Row(4, "standard", 0.04, 0.03, 0.07, 0.01, 0.2),
                new RaventosDiversity.Row(4, "fresh_tasks", 1.3, 1.3, 0.07, 0.01, 0.9),
                new RaventosDiversity.Row(4096, "standard", 0.07, 0.03, 0.07, 0.2, 0.01),
                new RaventosDiversity.Row(4096, "fresh_tasks", 0.07, 0.5, 0.07, 0.3, 0.02));
        var sharp = new RaventosDiversity.Transition(512, 300, 900, 0.0, 1000, 1024);
        for (Claim c : RaventosDiversity.claims(learnt, sharp)) {
            assertEquals(Claim.Verdict.AGREE, c.verdict(), c.toString());
        }
    }

    /** Every final checkpoint's model.pt under {@code dir}, with its file identity and modification time. */
    private static Map<Path, Object> finalWeights(Path dir) throws IOException {
        Map<Path, Object> out = new TreeMap<>();
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.filter(p -> p.endsWith(Path.of("step-00000030", "model.pt"))).toList()) {
                var a = Files.readAttributes(p, BasicFileAttributes.class);
                out.put(dir.relativize(p), List.of(String.valueOf(a.fileKey()), a.lastModifiedTime()));
            }
        }
        return out;
    }

    @Test
    void akyurekRunsItsDepthNoiseGrid(@TempDir Path dir) throws Exception {
        List<String> o = new ArrayList<>(TINY.subList(1, TINY.size()));
        o.add("out_dir=" + dir);
        o.add("depths=2,1");          // out of order: the tables and the claims read them shallowest first
        o.add("noise=0.0,0.5");
        o.add("seed=2");
        ExperimentReport r = new AkyurekAlgorithms().run(ExperimentContext.quiet(o));
        // The seed override reaches every cell (a sweep's seeds: 1 once replaced it with seed 0, silently).
        for (String cell : List.of("n_layer=1__noise_std=0.0__seed=2", "n_layer=2__noise_std=0.5__seed=2")) {
            assertTrue(Files.readString(dir.resolve("cells").resolve(cell).resolve("config.yaml")).startsWith("seed: 2\n"),
                    cell);
        }
        String summary = Files.readString(r.summary());
        assertTrue(summary.contains("| 1 |") && summary.contains("| 2 |") && summary.contains("σ²/τ² = 0.25"), summary);
        assertTrue(summary.indexOf("| 1 |") < summary.indexOf("| 2 |"), summary);
        assertTrue(summary.contains("| the shallowest model runs one step of gradient descent | depth 1,"), summary);
        assertThrows(IllegalArgumentException.class, () -> new AkyurekAlgorithms().run(ExperimentContext.quiet(
                List.of("out_dir=" + dir.resolve("bad"), "depths=1,x"))));
        List<String> probes = Files.readAllLines(dir.resolve("probes.csv"));
        // 2 noiseless + 2 noisy cells x 2 tokens x 4 targets (with the control) x (layers + 1) x 9 positions.
        assertEquals(1 + 2 * 4 * 9 * (2 + 3) * 2, probes.size());
        assertTrue(probes.stream().anyMatch(l -> l.startsWith("2,0.0,y,w_ols,")), probes.get(1));
        // The control: the embedding holds each token's own input linearly, so its layer-0 probe is near exact at
        // both tokens (reading the other token's hidden states, or a wrong fit, gives about 0).
        for (String token : List.of("x", "y")) {
            String prefix = "2,0.0," + token + "," + LinearProbes.CONTROL + ",0,8,";
            String row = probes.stream().filter(l -> l.startsWith(prefix)).findFirst().orElseThrow();
            assertTrue(Double.parseDouble(row.substring(prefix.length())) > 0.99, row);
        }
        // The deepest noiseless cell trains twice the steps on the CPU default (the least-squares claim reads it);
        // every other cell trains the config's steps.
        assertTrue(summary.contains("30 steps (the depth-2 noiseless cell, which the least-squares claim reads, 60)"),
                summary);
        assertEquals(60, steps(dir, "n_layer=2__noise_std=0.0__seed=2"));
        for (String cell : List.of("n_layer=1__noise_std=0.0__seed=2", "n_layer=2__noise_std=0.5__seed=2")) {
            assertEquals(30, steps(dir, cell), cell);
        }
        // The grid's results table has the per-cell steps as a column of every row.
        List<String> results = Files.readAllLines(dir.resolve("cells").resolve("results.csv"));
        assertTrue(results.get(0).startsWith("cell,model.n_layer,task.noise_std,seed,training.steps,"), results.get(0));
        assertTrue(results.stream().anyMatch(l -> l.startsWith("n_layer=2__noise_std=0.0__seed=2,2,0.0,2,60,")),
                results.toString());
        assertTrue(results.stream().anyMatch(l -> l.startsWith("n_layer=1__noise_std=0.5__seed=2,1,0.5,2,30,")),
                results.toString());
        assertTrue(summary.contains("| y token | w_ols |") && summary.contains("| x token | w_ols |"), summary);
        assertTrue(Files.readString(dir.resolve("agreement.csv")).contains("gd:1"));
        assertTrue(summary.contains("| claim | criterion (fixed before the run) | measured | verdict |"), summary);
    }

    private static long steps(Path dir, String cell) throws IOException {
        return ConfigLoader.load(RunConfig.class, dir.resolve("cells").resolve(cell).resolve("config.yaml").toString(),
                List.of()).training().steps();
    }

    /** The factor is checked, and a grid without a noiseless level has no cell it applies to: all train alike. */
    @Test
    void akyurekChecksTheDeepestStepsFactor(@TempDir Path dir) throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new AkyurekAlgorithms().run(
                ExperimentContext.quiet(List.of("out_dir=" + dir, "deepest_steps_factor=0"))));
        assertTrue(e.getMessage().startsWith("deepest_steps_factor: must be an integer from 1"), e.getMessage());
        List<String> o = new ArrayList<>(TINY.subList(1, TINY.size()));
        o.addAll(List.of("out_dir=" + dir.resolve("noisy"), "depths=1", "noise=0.5"));
        ExperimentReport r = new AkyurekAlgorithms().run(ExperimentContext.quiet(o));
        assertEquals(30, steps(dir.resolve("noisy"), "n_layer=1__noise_std=0.5__seed=0"));
        String summary = Files.readString(r.summary());
        assertTrue(summary.contains("30 steps of batch") && !summary.contains("the least-squares claim reads"), summary);
    }

    private static AkyurekAlgorithms.CellFindings findings(String depth, String noise, String best, double spd) {
        List<Agreement> a = new ArrayList<>();
        for (String c : AkyurekAlgorithms.CANDIDATES) {
            double v = c.equals(best) ? spd : 1.0;
            a.add(new Agreement("standard", "model", c, new double[] {9, v, v}, new double[] {9, v, v}, v));
        }
        return new AkyurekAlgorithms.CellFindings(depth, noise, a, best, Map.of());
    }

    /**
     * Akyürek's claims are judged by SPD to the best fit: the committed CPU run's depth 1 (best fit at SPD 0.32)
     * decides nothing; the noisy-data claim reads the deepest model's noisy cells (the paper reports it for its main,
     * 16-layer model), where one close to a non-Bayes λ disagrees, whatever the shallower cells fit.
     */
    @Test
    void akyurekJudgesClaimsBySpdToTheBestFit() {
        List<Claim> c = akyurekClaims("least_squares", 0.02, "ridge:0.0625", 0.01, "ridge:0.25", 0.03);
        assertEquals(Claim.Verdict.INCONCLUSIVE, c.get(0).verdict(), c.get(0).toString());
        assertEquals(Claim.Verdict.AGREE, c.get(1).verdict(), c.get(1).toString());
        assertEquals(Claim.Verdict.AGREE, c.get(2).verdict(), c.get(2).toString());
        assertTrue(c.get(2).measured().startsWith("2 of 2 cells"), c.get(2).measured());
        assertTrue(c.get(2).criterion().startsWith("depth 8, every noisy cell"), c.get(2).criterion());
        // The deepest model close to the wrong λ in one noisy cell: disagree.
        c = akyurekClaims("ridge:0.0625", 0.02, "ridge:0.0625", 0.01, "ridge:1", 0.03);
        assertEquals(Claim.Verdict.DISAGREE, c.get(1).verdict(), c.get(1).toString());
        assertEquals(Claim.Verdict.DISAGREE, c.get(2).verdict(), c.get(2).toString());
        assertTrue(c.get(2).measured().startsWith("1 of 2 cells"), c.get(2).measured());
        // Far from every algorithm: nothing decided.
        c = akyurekClaims("least_squares", 0.2, "ridge:1", 0.2, "ridge:1", 0.2);
        assertEquals(Claim.Verdict.INCONCLUSIVE, c.get(1).verdict(), c.get(1).toString());
        assertEquals(Claim.Verdict.INCONCLUSIVE, c.get(2).verdict(), c.get(2).toString());
    }

    /**
     * The claims of a depth 1 and 8 x σ = 0, 1/4, 1/2 grid whose depth-8 cells fit the given algorithms at the given
     * SPD, beside depth-1 cells far from GD and close to ridge λ = 1 in both noisy cells (the wrong λ for both).
     */
    private static List<Claim> akyurekClaims(String clean, double cleanSpd, String quarter, double quarterSpd,
            String half, double halfSpd) {
        return AkyurekAlgorithms.claims(List.of("1", "8"), List.of("0.0", "0.25", "0.5"), List.of(
                findings("1", "0.0", "gd:1", 0.32), findings("1", "0.25", "ridge:1", 0.04),
                findings("1", "0.5", "ridge:1", 0.04), findings("8", "0.0", clean, cleanSpd),
                findings("8", "0.25", quarter, quarterSpd), findings("8", "0.5", half, halfSpd)));
    }

    /** The paper presets start on the CPU: a couple of steps of the paper's models, one cell each. */
    @Test
    void paperPresetsStartOnTheCpu(@TempDir Path dir) throws Exception {
        var log = new ArrayList<String>();
        ExperimentContext raventos = new ExperimentContext(true, null, List.of("out_dir=" + dir.resolve("r"), "grid=2",
                "training.steps=2", "training.save_every=2", "eval.num_prompts=64", "eval.batch_size=64"), log::add,
                new TrainingListener() { });
        new RaventosDiversity().run(raventos);
        assertTrue(Files.readString(dir.resolve("r/summary.md")).contains("8 layers, width 128"), log.toString());
        ExperimentContext akyurek = new ExperimentContext(true, null, List.of("out_dir=" + dir.resolve("a"), "depths=1",
                "noise=0.0", "training.steps=2", "training.save_every=2", "eval.num_prompts=64", "eval.batch_size=64"),
                log::add, new TrainingListener() { });
        new AkyurekAlgorithms().run(akyurek);
        assertTrue(Files.readString(dir.resolve("a/summary.md")).contains("width 512, 4 heads"), log.toString());
    }

    @Test
    void paperPresetsHaveThePapersSizes() {
        var r = ConfigLoader.load(RunConfig.class, "raventos_diversity_paper", List.of());
        assertEquals(8, r.model().layers());
        assertEquals(500000, r.training().steps());
        assertEquals(8, r.task().nDims());                  // not the CPU default's D = 4, K = 8
        assertEquals(16, r.evalPoints());
        assertEquals(0, r.training().threads());
        assertEquals(RunConfig.ScheduleKind.TRIANGLE, r.training().schedule());
        var cpu = ConfigLoader.load(RunConfig.class, "raventos_diversity", List.of());
        assertEquals(4, cpu.task().nDims());
        assertEquals(1, cpu.training().threads());
        var a = ConfigLoader.load(RunConfig.class, "akyurek_algorithms_paper", List.of());
        assertEquals(512, a.model().width());
        assertEquals(41, a.evalPoints());
        assertEquals(0, a.training().threads());            // the CPU default's one thread per cell is not inherited
        var g = ConfigLoader.load(RunConfig.class, "garg_regression_paper", List.of());
        assertEquals(20, g.task().nDims());
        assertEquals(12, g.model().layers());
        assertEquals(500001, g.training().steps());
        assertTrue(g.curriculum().enabled());
        assertEquals(41, g.evalPoints());
    }
}
