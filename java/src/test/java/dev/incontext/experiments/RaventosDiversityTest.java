package dev.incontext.experiments;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.eval.Evaluator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * raventos-diversity's control cell, its switch M* with the bootstrap band, and the validation of its records, on
 * made-up rows and per-prompt distances whose answers are known; one tiny run without the control.
 */
class RaventosDiversityTest {
    /** A model that has learnt both regimes: like dMMSE on a small pool, like ridge on fresh tasks for a large one. */
    private static final List<RaventosDiversity.Row> LEARNT = List.of(
            new RaventosDiversity.Row(4, "standard", 0.04, 0.03, 0.07, 0.01, 0.2),
            new RaventosDiversity.Row(4, "fresh_tasks", 1.3, 1.3, 0.07, 0.01, 0.9),
            new RaventosDiversity.Row(4096, "standard", 0.07, 0.03, 0.07, 0.2, 0.01),
            new RaventosDiversity.Row(4096, "fresh_tasks", 0.07, 0.5, 0.07, 0.3, 0.02));
    private static final RaventosDiversity.Transition SHARP =
            new RaventosDiversity.Transition(512, 300, 900, 0.0, 1000, 1024);

    private static List<RaventosDiversity.Row> withControl(double controlError) {
        List<RaventosDiversity.Row> rows = new ArrayList<>(LEARNT);
        // Last, as the run writes it: a rule that took the last fresh row for the largest M would take the control.
        rows.add(new RaventosDiversity.Row(0, "fresh_tasks", controlError, Double.NaN, 0.07, Double.NaN, 0.002));
        return rows;
    }

    @Test
    void aControlWithinTenPercentOfRidgeLeavesTheVerdicts() {
        List<Claim> claims = RaventosDiversity.claims(withControl(0.075), SHARP);   // 1.07 x ridge
        assertEquals("the step budget trains the control to ridge", claims.get(0).claim());
        assertEquals(1 + RaventosDiversity.claims(LEARNT, SHARP).size(), claims.size(), claims.toString());
        for (Claim c : claims) {
            assertEquals(Claim.Verdict.AGREE, c.verdict(), c.toString());
        }
        // The control is left out of the M-ordered claims: the largest M is 4096, not the control's 0.
        Claim large = claims.stream().filter(c -> c.claim().startsWith("large M")).findFirst().orElseThrow();
        assertTrue(large.measured().startsWith("M = 4096:"), large.measured());
    }

    @Test
    void aControlAwayFromRidgeMakesEveryOtherClaimInconclusive() {
        List<Claim> claims = RaventosDiversity.claims(withControl(0.5), SHARP);   // 7.1 x ridge
        assertEquals(Claim.Verdict.DISAGREE, claims.get(0).verdict(), claims.get(0).toString());
        assertTrue(claims.get(0).measured().contains("7.14 × ridge's error"), claims.get(0).measured());
        for (Claim c : claims.subList(1, claims.size())) {
            assertEquals(Claim.Verdict.INCONCLUSIVE, c.verdict(), c.toString());
            assertTrue(c.measured().contains("the step budget is insufficient")
                    && c.measured().endsWith("(by the criterion alone: agree)"), c.measured());
        }
        assertThrows(IllegalArgumentException.class, () -> RaventosDiversity.claims(List.of(
                withControl(0.5).get(4), withControl(0.5).get(4)), SHARP));
    }

    @Test
    void theSummaryLabelsTheControlAndSaysWhetherTheBudgetSuffices() {
        RunConfig c = ConfigLoader.load(RunConfig.class, "raventos_diversity", List.of());
        String enough = RaventosDiversity.summary(c, withControl(0.075), SHARP);
        assertTrue(enough.contains("| ∞ (control) | latent | 0.0750 | – | 0.0700 | – |"), enough);
        assertTrue(enough.contains("the step budget is sufficient"), enough);
        assertTrue(enough.contains("M* = 512, 90% band [300, 900]"), enough);
        assertTrue(enough.contains("0 of 4 rows are like neither"), enough);
        String short_ = RaventosDiversity.summary(c, withControl(0.5), SHARP);
        assertTrue(short_.contains("the step budget is insufficient (criterion: <= 1.10 ×), so the regime claims "
                + "below are inconclusive"), short_);
        assertTrue(RaventosDiversity.summary(c, LEARNT, SHARP).contains("No control cell (control=false)"));
    }

    @Test
    void rowsAreValidatedOnConstruction() {
        double nan = Double.NaN;
        var standardControl = assertThrows(IllegalArgumentException.class,
                () -> new RaventosDiversity.Row(0, "standard", 0.1, nan, 0.07, nan, 0.01));
        assertTrue(standardControl.getMessage().contains("only setting is fresh_tasks"), standardControl.getMessage());
        var controlDmmse = assertThrows(IllegalArgumentException.class,
                () -> new RaventosDiversity.Row(0, "fresh_tasks", 0.1, 0.1, 0.07, 0.01, 0.01));
        assertTrue(controlDmmse.getMessage().contains("no dMMSE"), controlDmmse.getMessage());
        var nanModel = assertThrows(IllegalArgumentException.class,
                () -> new RaventosDiversity.Row(4, "fresh_tasks", nan, 0.1, 0.07, 0.01, 0.01));
        assertTrue(nanModel.getMessage().startsWith("row M = 4, fresh_tasks: model must be"), nanModel.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new RaventosDiversity.Row(4, "latent", 0.1, 0.1, 0.07, 0.01,
                0.01));
        assertThrows(IllegalArgumentException.class, () -> new RaventosDiversity.Row(-1, "standard", 0.1, 0.1, 0.07,
                0.01, 0.01));
        assertThrows(IllegalArgumentException.class, () -> RaventosDiversity.like(withControl(0.1).get(4)));
    }

    /**
     * Per-prompt distances at M whose means are g + 1 (to dMMSE) and 1 (to ridge): ±noise in runs of {@code stride}
     * prompts, which cancels when 2 stride divides the prompts.
     */
    private static RaventosDiversity.PromptDistances distances(long m, double g, double noise, int prompts, int stride) {
        double[] toD = new double[prompts];
        double[] toR = new double[prompts];
        for (int p = 0; p < prompts; p++) {
            double e = (p / stride) % 2 == 0 ? noise : -noise;
            toD[p] = 1 + g + e;
            toR[p] = 1;
        }
        return new RaventosDiversity.PromptDistances(m, toD, toR);
    }

    /**
     * g = -0.1 at M = 16 and +0.3 at M = 64: zero a quarter of the way in log₂ M, at 2^4.5 = 22.6 (linear in M would
     * give 28). With noise of ±0.01 per prompt the band is narrow and holds it, and every resample switches.
     */
    @Test
    void theSwitchIsInterpolatedInLogMWithANarrowBandWhenPromptsAgree() {
        List<RaventosDiversity.PromptDistances> perM = List.of(distances(1, -0.4, 0.01, 256, 1),
                distances(4, -0.3, 0.01, 256, 2), distances(16, -0.1, 0.01, 256, 4), distances(64, 0.3, 0.01, 256, 8),
                distances(256, 0.4, 0.01, 256, 16));
        RaventosDiversity.Transition t = RaventosDiversity.locate(perM, 1000, 7);
        double expected = Math.pow(2, 4.5);
        assertEquals(expected, t.switchM(), 1e-9 * expected, t.toString());
        assertTrue(t.low() <= expected && expected <= t.high() && t.high() / t.low() < 1.05, t.toString());
        assertEquals(0.0, t.noSwitch(), t.toString());
        assertEquals(256, t.prompts());
        assertEquals(t, RaventosDiversity.locate(perM, 1000, 7));   // a fixed seed: the same band every time
        Claim threshold = RaventosDiversity.claims(LEARNT, t).get(3);
        assertEquals(Claim.Verdict.AGREE, threshold.verdict(), threshold.toString());
        assertTrue(threshold.measured().startsWith("M* = 22.6, 90% band ["), threshold.measured());
    }

    @Test
    void noCrossingMeansNoSwitchAndAnInconclusiveThreshold() {
        RaventosDiversity.Transition below = RaventosDiversity.locate(List.of(distances(1, -0.4, 0.01, 128, 1),
                distances(16, -0.2, 0.01, 128, 2), distances(256, -0.1, 0.01, 128, 4)), 1000, 7);
        assertTrue(Double.isNaN(below.switchM()) && Double.isNaN(below.low()) && Double.isNaN(below.high()),
                below.toString());
        assertEquals(1.0, below.noSwitch());
        Claim threshold = RaventosDiversity.claims(LEARNT, below).get(3);
        assertEquals(Claim.Verdict.INCONCLUSIVE, threshold.verdict(), threshold.toString());
        assertTrue(threshold.measured().startsWith("no switch") && threshold.measured().contains("100.0% of 1000"),
                threshold.measured());
        RaventosDiversity.Transition above = RaventosDiversity.locate(List.of(distances(1, 0.1, 0.01, 128, 1),
                distances(16, 0.2, 0.01, 128, 2)), 1000, 7);
        assertTrue(Double.isNaN(above.switchM()), above.toString());
    }

    /** Whether the model ends nearer ridge decides: the last move from < 0 to > 0 counts, a move back cancels it. */
    @Test
    void theSwitchIsTheLastMoveFromDmmseToRidge() {
        long[] m = {1, 4, 16, 64};
        assertEquals(32, RaventosDiversity.switchPoint(m, new double[] {-1, 1, -1, 1}), 1e-9);
        assertEquals(Math.pow(2, 5.5), RaventosDiversity.switchPoint(m, new double[] {-1, 0, -3, 1}), 1e-9);
        assertTrue(Double.isNaN(RaventosDiversity.switchPoint(m, new double[] {-1, 1, 1, -1})));
        assertEquals(2, RaventosDiversity.switchPoint(m, new double[] {-1, 0, 3, 1}), 1e-9);   // 0 is neither side
    }

    /**
     * g = ∓0.01 at two pool sizes with ±0.5 noise per prompt over 64 prompts (standard error 0.06): the point
     * estimate switches, but most resamples do not, so the threshold is not claimed.
     */
    @Test
    void aSwitchWithinTheNoiseIsInconclusive() {
        RaventosDiversity.Transition t = RaventosDiversity.locate(List.of(distances(1, -0.01, 0.5, 64, 1),
                distances(4, 0.01, 0.5, 64, 2)), 1000, 7);
        assertEquals(2, t.switchM(), 1e-9, t.toString());
        assertTrue(t.noSwitch() > 0.5, t.toString());
        Claim threshold = RaventosDiversity.claims(LEARNT, t).get(3);
        assertEquals(Claim.Verdict.INCONCLUSIVE, threshold.verdict(), threshold.toString());
    }

    @Test
    void locateRefusesInputsItCannotResample() {
        var unequal = assertThrows(IllegalArgumentException.class, () -> RaventosDiversity.locate(List.of(
                distances(1, -0.1, 0.01, 100, 1), distances(4, 0.1, 0.01, 50, 1)), 1000, 7));
        assertTrue(unequal.getMessage().contains("M = 4 has 50 prompts but M = 1 has 100"), unequal.getMessage());
        var order = assertThrows(IllegalArgumentException.class, () -> RaventosDiversity.locate(List.of(
                distances(4, -0.1, 0.01, 100, 1), distances(1, 0.1, 0.01, 100, 1)), 1000, 7));
        assertTrue(order.getMessage().contains("strictly ascending"), order.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RaventosDiversity.locate(List.of(), 1000, 7));
        var nan = assertThrows(IllegalArgumentException.class, () -> new RaventosDiversity.PromptDistances(4,
                new double[] {0.1, Double.NaN}, new double[] {0.1, 0.1}));
        assertTrue(nan.getMessage().contains("M = 4, prompt 1: toDmmse"), nan.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new RaventosDiversity.Transition(16, Double.NaN, Double.NaN,
                0.0, 1000, 64));   // resamples switched, yet no band
    }

    /** Δ per prompt over positions k >= 1 (position 0 has no example), over D; the mean is the row's Δ. */
    @Test
    void perPromptDistancesAverageOverPositionsFromOne() {
        Evaluator.Captured cap = new Evaluator.Captured(2, 3, 2, null, null, null, null, Map.of(
                "tf", new double[] {9, 1, 2, 0, 0, 4}, "ridge", new double[] {0, 0, 0, 0, 1, 1}));
        assertArrayEquals(new double[] {(1 + 4) / 2.0 / 2, (1 + 9) / 2.0 / 2},
                RaventosDiversity.perPromptDistance(cap, "tf", "ridge", 2), 1e-12);
    }

    /** The other reduction of the same squared differences (garg-regression's Δ per k): over prompts per position. */
    @Test
    void squaredDifferencesByPositionAverageOverPromptsAndAMissingPredictorIsNamed() {
        Evaluator.Captured cap = new Evaluator.Captured(2, 3, 2, null, null, null, null, Map.of(
                "tf", new double[] {9, 1, 2, 0, 0, 4}, "ridge", new double[] {0, 0, 0, 0, 1, 1}));
        assertArrayEquals(new double[] {81 / 2.0, (1 + 1) / 2.0, (4 + 9) / 2.0},
                cap.squaredDifferenceByPosition("tf", "ridge"), 1e-12);
        var missing = assertThrows(IllegalStateException.class, () -> cap.squaredDifferenceByPosition("tf", "ls"));
        assertTrue(missing.getMessage().startsWith("no captured predictions of ls"), missing.getMessage());
        assertThrows(IllegalArgumentException.class, () -> cap.squaredDifferenceByPrompt("tf", "ridge", 3));
    }

    @Test
    void controlFalseDropsTheControlAndABadValueIsRefused(@TempDir Path dir) throws Exception {
        var bad = assertThrows(IllegalArgumentException.class, () -> new RaventosDiversity().run(
                ExperimentContext.quiet(List.of("out_dir=" + dir, "control=maybe"))));
        assertTrue(bad.getMessage().startsWith("control: must be true or false"), bad.getMessage());
        ExperimentReport r = new RaventosDiversity().run(ExperimentContext.quiet(List.of("out_dir=" + dir, "grid=4",
                "control=false", "model.n_layer=1", "model.n_embd=16", "training.steps=10", "training.save_every=10",
                "eval.n_checkpoints=0", "eval.num_prompts=64", "eval.batch_size=64", "seed=3")));
        // The seed override reaches the cell (a sweep's seeds: 1 once replaced it with seed 0, silently).
        Path cell = dir.resolve("cells").resolve("num_tasks=4__seed=3");
        assertTrue(Files.readString(cell.resolve("config.yaml")).startsWith("seed: 3\n"), cell.toString());
        List<String> rows = Files.readAllLines(dir.resolve("diversity.csv"));
        assertEquals(List.of("4,standard", "4,fresh_tasks"), rows.subList(1, rows.size()).stream()
                .map(l -> l.substring(0, l.indexOf(',', 2))).toList());
        String summary = Files.readString(r.summary());
        assertTrue(summary.contains("No control cell") && !summary.contains("the step budget trains"), summary);
        assertTrue(summary.contains("No earlier checkpoints were kept"), summary);
    }

    /** Earlier log-spaced checkpoints are evaluated on fresh tasks, one transients.csv row each. */
    @Test
    void earlierCheckpointsAreEvaluated(@TempDir Path dir) throws Exception {
        ExperimentReport r = new RaventosDiversity().run(ExperimentContext.quiet(List.of("out_dir=" + dir, "grid=4",
                "control=false", "model.n_layer=1", "model.n_embd=16", "training.steps=20", "training.save_every=20",
                "training.warmup_steps=0", "eval.n_checkpoints=3", "eval.num_prompts=64", "eval.batch_size=64")));
        List<String> rows = Files.readAllLines(dir.resolve("transients.csv"));
        // Log-spaced 1, 4, 20 (no warm-up): the two before the last, at M = 4.
        assertEquals(3, rows.size(), rows.toString());
        assertTrue(rows.get(1).startsWith("4,1,") && rows.get(2).startsWith("4,4,"), rows.toString());
        assertTrue(Files.readString(r.summary()).contains("earlier steps over 1 pool sizes")
                || Files.readString(r.summary()).contains("transient."), Files.readString(r.summary()));
    }

    /** A pool size ridge-like at an earlier checkpoint but not at the end is named as a transient. */
    @Test
    void transientRidgePhasesAreNamed() {
        List<RaventosDiversity.Row> rows = List.of(
                new RaventosDiversity.Row(64, "standard", 0.2, 0.03, 0.07, 0.01, 0.2),
                new RaventosDiversity.Row(64, "fresh_tasks", 1.1, 1.2, 0.07, 0.02, 0.6),
                new RaventosDiversity.Row(4096, "fresh_tasks", 0.07, 0.5, 0.07, 0.3, 0.02));
        List<RaventosDiversity.Snapshot> history = List.of(
                new RaventosDiversity.Snapshot(500, new RaventosDiversity.Row(64, "fresh_tasks", 0.08, 0.4, 0.07, 0.3,
                        0.01)),
                new RaventosDiversity.Snapshot(500, new RaventosDiversity.Row(4096, "fresh_tasks", 0.08, 0.4, 0.07, 0.3,
                        0.01)));
        String s = RaventosDiversity.transients(rows, history);
        assertTrue(s.contains("M = 64: ridge-like at step [500], not at the end (dMMSE): transient."), s);
        assertTrue(!s.contains("M = 4096"), s);        // ridge-like at the end too: not a transient
        // Only non-transient history: said so.
        assertTrue(RaventosDiversity.transients(rows, history.subList(1, 2)).contains("No transient ridge-like phase"));
        assertThrows(IllegalArgumentException.class, () -> new RaventosDiversity.Snapshot(0, rows.get(1)));
        assertThrows(IllegalArgumentException.class, () -> new RaventosDiversity.Snapshot(5, rows.get(0)));
    }
}
