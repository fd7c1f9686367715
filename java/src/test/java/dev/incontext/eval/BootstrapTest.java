package dev.incontext.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.config.RunConfig.TaskConfig;
import dev.incontext.eval.baselines.Zero;
import dev.incontext.testing.NativeScope;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The bootstrap band resamples the independent unit: whole prompts, or whole batches when the prompts of a batch share
 * a draw (Zhang's random covariance). The 90% band of a mean over G independent units of plug-in spread sd is about
 * 2 x 1.645 sd / sqrt(G) wide. Tolerance 15%: the 5th and 95th percentiles of 1000 resampled means each carry a Monte
 * Carlo standard error of sqrt(0.05 x 0.95 / 1000) / φ(1.645) = 0.067 sd/sqrt(G), so the width about 0.095 / 3.29 =
 * 3% of itself; 15% is 5 of those. Grouping that is ignored narrows the band by several times here.
 */
@ExtendWith(NativeScope.class)
class BootstrapTest {
    private static final double Z90 = 2 * 1.645;

    private static double width(Evaluation.Curve c, int k) {
        return c.high()[k] - c.low()[k];
    }

    /** Plug-in standard deviation (divisor n), which is what the bootstrap's resampling distribution has. */
    private static double sd(double[] v) {
        double m = 0;
        for (double x : v) {
            m += x / v.length;
        }
        double s = 0;
        for (double x : v) {
            s += (x - m) * (x - m) / v.length;
        }
        return Math.sqrt(s);
    }

    /**
     * 100 groups of 50 prompts whose group means spread with sd 1 and prompts within a group with sd 0.1: grouped, the
     * band is 2 x 1.645 sd_between / sqrt(100) wide (about 0.33); prompt by prompt it would be 2 x 1.645 sd_total /
     * sqrt(5000) (about 0.047), which is what the same scores give ungrouped.
     */
    @Test
    void groupedBandFollowsTheSpreadBetweenGroups() {
        int groups = 100;
        int size = 50;
        SplittableRandom rnd = new SplittableRandom(17);
        double[][] rows = new double[groups * size][];
        double[] groupMeans = new double[groups];
        double[] all = new double[groups * size];
        for (int g = 0; g < groups; g++) {
            double mu = rnd.nextGaussian();
            for (int i = 0; i < size; i++) {
                double v = mu + 0.1 * rnd.nextGaussian();
                rows[g * size + i] = new double[] {v};
                all[g * size + i] = v;
                groupMeans[g] += v / size;
            }
        }
        Evaluation.Curve grouped = Evaluator.summarise("grouped", rows, 1, 3, size);
        Evaluation.Curve single = Evaluator.summarise("single", rows, 1, 3, 1);
        double expected = Z90 * sd(groupMeans) / Math.sqrt(groups);
        assertEquals(expected, width(grouped, 0), 0.15 * expected, "grouped band width");
        double ungrouped = Z90 * sd(all) / Math.sqrt(rows.length);
        assertEquals(ungrouped, width(single, 0), 0.15 * ungrouped, "prompt-by-prompt band width");
        assertEquals(single.mean()[0], grouped.mean()[0], 1e-12, "grouping changes the band, not the mean");
        assertTrue(grouped.low()[0] <= grouped.mean()[0] && grouped.mean()[0] <= grouped.high()[0]);

        // A group size past the number of prompts leaves one unit: nothing to resample, a band of width 0.
        assertEquals(0.0, width(Evaluator.summarise("one", rows, 1, 3, rows.length + 7), 0), 1e-12);
    }

    /**
     * Ungrouped settings keep their bands digit for digit: these numbers are what the prompt bootstrap gave on these
     * rows before groups existed (recorded from that code).
     */
    @Test
    void ungroupedBandsAreUnchanged() {
        double[][] rows = new double[50][];
        SplittableRandom r = new SplittableRandom(42);
        for (int i = 0; i < rows.length; i++) {
            rows[i] = new double[] {r.nextDouble(), r.nextGaussian(), i % 7};
        }
        Evaluation.Curve c = Evaluator.summarise("x", rows, 3, 9, 1);
        assertArrayEquals(new double[] {0.4918514470455358, 0.0711080319430249, 2.94}, c.mean(), 0.0);
        assertArrayEquals(new double[] {0.41923796290058346, -0.1417313420737075, 2.46}, c.low(), 0.0);
        assertArrayEquals(new double[] {0.5619768627270342, 0.2939762537953665, 3.4}, c.high(), 0.0);
    }

    /** Only the settings whose prompts share a draw per batch say so. */
    @Test
    void onlyRandomCovarianceGroupsItsPrompts() {
        TaskConfig lr = ConfigLoader.load(RunConfig.class, "demo", List.of()).task();
        for (EvalSuite.Named n : EvalSuite.Named.values()) {
            for (Setting s : n.suite(lr).settings()) {
                assertEquals(s instanceof Setting.RandomCovariance, s.groupedByBatch(), s.id());
            }
        }
    }

    /**
     * End to end: the zero predictor under Zhang's random covariance, 64 batches of 100 prompts (one covariance each).
     * Its scores are y²/normaliser, so the captured targets give each batch's mean score; the band at every k is
     * 2 x 1.645 sd_between / sqrt(64) wide within 15% (the batch means are skewed, Σ λ_i over 5 Exp draws, but their
     * mean over 64 batches has skewness about 0.1, which moves the 5%-95% width by well under 1%). Resampling prompts
     * one by one would give about a third of it.
     */
    @Test
    void randomCovarianceBandResamplesBatches() {
        TaskConfig lr = ConfigLoader.load(RunConfig.class, "demo", List.of()).task();
        int batches = 64;
        int batch = 100;
        int points = 11;
        Evaluator.Request req = new Evaluator.Request(batches * batch, batch, 5,
                new TensorOptions(torch.ScalarType.Double), true);
        Evaluator.Result r = Evaluator.evaluate(List.of(new Zero()), lr, points, points,
                new Setting.RandomCovariance(4), req, Evaluator.Listener.NONE);
        Evaluation e = r.evaluation();
        double[] y = r.captured().targets();
        Evaluation.Curve z = e.curves().get(0);
        for (int k = 0; k < points; k++) {
            double[] means = new double[batches];
            for (int b = 0; b < batches; b++) {
                for (int i = 0; i < batch; i++) {
                    double t = y[(b * batch + i) * points + k];
                    means[b] += t * t / e.normaliser() / batch;
                }
            }
            double expected = Z90 * sd(means) / Math.sqrt(batches);
            assertEquals(expected, width(z, k), 0.15 * expected, "band width at k=" + k);
        }
        assertFalse(new Setting.Standard().groupedByBatch());
        // The evaluation says what its bands resample, for the reports and the export.
        assertEquals(batch, e.bootstrapUnit());
        assertTrue(e.band().contains("whole evaluation batches of 100 prompts"), e.band());
        Evaluation standard = Evaluator.evaluate(List.of(new Zero()), lr, points, points, new Setting.Standard(), req,
                Evaluator.Listener.NONE).evaluation();
        assertEquals(1, standard.bootstrapUnit());
        assertEquals("90% bootstrap over whole prompts", standard.band());
    }
}
