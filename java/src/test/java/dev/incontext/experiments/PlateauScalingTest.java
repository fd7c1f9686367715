package dev.incontext.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.experiments.PlateauScaling.Point;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The plateau study's rule, fit and extrapolation on constructed cells whose answers are known. */
class PlateauScalingTest {
    private static final double LN11 = Math.log(11);

    @Test
    void aRunLeavesThePlateauWhenItsLossStaysUnderTheMark() {
        long[] steps = {0, 250, 500, 750, 1000};
        double mark = PlateauScaling.FRACTION * LN11;
        // Under the mark from step 750 on.
        assertEquals(750, PlateauScaling.exit(steps, new double[] {3.3, 2.4, 2.39, mark - 0.01, 1.0}, 11));
        // A dip that comes back above does not count: the exit is the last crossing.
        assertEquals(1000, PlateauScaling.exit(steps, new double[] {3.3, mark - 0.1, mark + 0.1, 2.4, 1.0}, 11));
        // Exactly at the mark counts as under it; ending above it means not left.
        assertEquals(0, PlateauScaling.exit(new long[] {0}, new double[] {mark}, 11));
        assertEquals(-1, PlateauScaling.exit(steps, new double[] {3.3, 1.0, 1.0, 1.0, 2.4}, 11));
        assertEquals(-1, PlateauScaling.exit(steps, new double[] {3.3, 1.0, 1.0, 1.0, Double.NaN}, 11));
        assertEquals(-1, PlateauScaling.stayingAtOrBelow(new long[0], new double[0], 1.0));
        assertThrows(IllegalArgumentException.class, () -> PlateauScaling.stayingAtOrBelow(steps, new double[1], 1.0));
        assertEquals(-1, PlateauScaling.exit(new long[0], new double[0], 11));
        assertThrows(IllegalArgumentException.class, () -> PlateauScaling.exit(steps, new double[] {1}, 11));
    }

    /** Exits made exactly by exit = 50 n^1.5 batch^-0.5 width^-1: the fit returns those exponents and R² = 1. */
    @Test
    void theFitRecoversAKnownPowerLawAndExtrapolatesToThePapersShareOfTasks() {
        List<Point> pts = new ArrayList<>();
        for (int n : new int[] {8, 16, 32}) {
            for (int b : new int[] {64, 256}) {
                for (int w : new int[] {32, 64}) {
                    pts.add(new Point(n, b, w, Math.round(law(n, b, w)), 100000, 10));
                }
            }
        }
        pts.add(new Point(48, 64, 64, -1, 200, 10));   // stayed, but ran only 200 steps: no contradiction
        PlateauScaling.Fit fit = PlateauScaling.fit(pts);
        assertEquals(List.of("n_id", "batch", "width"), fit.factors());
        assertEquals(1.5, fit.exponents()[0], 1e-3);   // rounding the exits to whole steps moves them by < 1e-3
        assertEquals(-0.5, fit.exponents()[1], 1e-3);
        assertEquals(-1.0, fit.exponents()[2], 1e-3);
        assertEquals(12, fit.cells());
        assertTrue(fit.r2() > 0.99999, "R² " + fit.r2());
        assertEquals(74, PlateauScaling.targetTasks(11));   // 512/841 of 121
        assertEquals(law(74, 256, 64), fit.predict(74, 256, 64), 1e-3 * law(74, 256, 64));
        String s = PlateauScaling.section(pts, 11, 256, 64);
        assertTrue(s.contains("n_id^1.50 · batch^-0.50 · width^-1.00"), s);
        assertTrue(s.contains(String.format(java.util.Locale.ROOT, "%.3g steps", law(74, 256, 64))), s);
        assertTrue(s.contains("hours at the 10.0 steps/s"), s);
        assertTrue(!s.contains("contradicted"), s);
        // A cell that stayed for longer than the fit predicts contradicts it.
        pts.add(new Point(16, 256, 64, -1, 100000, 10));
        assertTrue(PlateauScaling.section(pts, 11, 256, 64).contains("contradicted by cells that stayed"));
    }

    private static double law(int n, int b, int w) {
        return 50 * Math.pow(n, 1.5) / Math.sqrt(b) / w * 1000;
    }

    @Test
    void tooFewExitsOrOneTaskCountSaySoInsteadOfExtrapolating() {
        List<Point> two = List.of(new Point(8, 64, 64, 500, 2000, 30), new Point(32, 64, 64, 1500, 2000, 30),
                new Point(96, 64, 64, -1, 2000, 30));
        assertNull(PlateauScaling.fit(two));
        assertTrue(PlateauScaling.section(two, 11, 64, 64).contains("2 of 3 cells left the plateau: too few"));
        List<Point> oneCount = List.of(new Point(8, 64, 64, 500, 2000, 30), new Point(8, 128, 64, 300, 2000, 20),
                new Point(8, 256, 64, 200, 2000, 10));
        PlateauScaling.Fit fit = PlateauScaling.fit(oneCount);
        assertEquals(List.of("batch"), fit.factors());
        assertTrue(PlateauScaling.section(oneCount, 11, 64, 64).contains("No extrapolation in the number of tasks"));
    }
}
