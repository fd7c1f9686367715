package dev.incontext.experiments;

import dev.incontext.util.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.ToIntFunction;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * How long a modular-arithmetic run sits on the ln p plateau (the loss of a model that predicts z uniformly), against
 * the batch size, the width and the number of pre-training tasks, and what that says about the compute the paper's
 * o.o.d. phase needs when a run here does not reach it (He et al.; issue: the plateau study).
 *
 * <p>A run leaves the plateau at the first evaluation from which its loss on the i.d. training set stays at or below
 * {@link #FRACTION} x ln p at every later evaluation (fixed before any run). The exit steps of the cells that left are
 * fitted by least squares in logs, exit ≈ e^c0 · n_id^a · batch^b · width^c over the factors the grid varies; the fit
 * is extrapolated to {@link #OOD_TASK_SHARE} of the p² tasks, the share of the paper's released depth-2 checkpoint
 * (512 of 29² = 841 tasks, papers.md §3.3). Leaving the plateau is necessary for the o.o.d. phase, not sufficient: the
 * extrapolated compute is a lower bound.
 */
public final class PlateauScaling {
    /** The loss mark, as a fraction of ln p, a run must stay under to have left the plateau. */
    public static final double FRACTION = 0.9;
    /** The share of Z_p² the extrapolation targets: the paper's released depth-2 checkpoint's 512 of 841 tasks. */
    public static final double OOD_TASK_SHARE = 512.0 / 841;

    private PlateauScaling() {}

    /** One cell: its factors, when it left the plateau (-1: not by its last step), its length and its speed. */
    public record Point(int nId, int batch, int width, long exit, long steps, double stepsPerSecond) {
        public boolean left() {
            return exit >= 0;
        }
    }

    /**
     * The step at which a run left the plateau, from its evaluations (steps ascending and the i.d.-training loss at
     * each): the first evaluation from which the loss stays at or below {@link #FRACTION} ln p; -1 if the last is
     * above it (or there are none).
     */
    public static long exit(long[] steps, double[] loss, int p) {
        return stayingAtOrBelow(steps, loss, FRACTION * Math.log(p));
    }

    /**
     * The first step from which a series stays at or below {@code mark} to its end; -1 if its last value is above it
     * or there are none. A NaN counts as above (a diverged run has not left its plateau): the one rule of
     * he-modular's and garg-regression's plateau exits.
     */
    public static long stayingAtOrBelow(long[] steps, double[] values, double mark) {
        if (steps.length != values.length) {
            throw new IllegalArgumentException("plateau exit: " + steps.length + " steps but " + values.length
                    + " values");
        }
        long exit = -1;
        for (int i = steps.length - 1; i >= 0; i--) {
            if (!(values[i] <= mark)) {
                break;
            }
            exit = steps[i];
        }
        return exit;
    }

    /** A factor of the fit: its name and how it is read off a point. */
    private record Factor(String name, ToIntFunction<Point> value) {}

    private static final List<Factor> FACTORS = List.of(new Factor("n_id", Point::nId),
            new Factor("batch", Point::batch), new Factor("width", Point::width));

    /**
     * log(exit) = c0 + sum_i beta_i log(factor_i), fitted over the cells that left the plateau, on the factors with
     * at least two values among them.
     *
     * @param factors the fitted factors' names, in the order of {@code exponents}
     * @param r2 the fit's R² in logs
     * @param cells how many cells it was fitted on
     */
    public record Fit(List<String> factors, double intercept, double[] exponents, double r2, int cells) {
        /** The fitted exit step at the given factors (only the fitted ones are read). */
        public double predict(int nId, int batch, int width) {
            Point at = new Point(nId, batch, width, -1, 0, Double.NaN);
            double log = intercept;
            for (int i = 0; i < factors.size(); i++) {
                String f = factors.get(i);
                int v = FACTORS.stream().filter(x -> x.name().equals(f)).findFirst().orElseThrow().value()
                        .applyAsInt(at);
                log += exponents[i] * Math.log(v);
            }
            return Math.exp(log);
        }

        public String formula() {
            StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "exit ≈ %.3g", Math.exp(intercept)));
            for (int i = 0; i < factors.size(); i++) {
                s.append(String.format(Locale.ROOT, " · %s^%.2f", factors.get(i), exponents[i]));
            }
            return s.toString();
        }
    }

    /**
     * The fit over the cells that left the plateau; null when fewer cells left than the fit has parameters plus one
     * (so that R² means something).
     */
    public static Fit fit(List<Point> points) {
        List<Point> left = points.stream().filter(Point::left).toList();
        List<Factor> varying = FACTORS.stream().filter(f -> left.stream().mapToInt(f.value()).distinct().count() > 1)
                .toList();
        int k = varying.size() + 1;
        if (left.size() < k + 1) {
            return null;
        }
        double[] x = new double[left.size() * k];
        double[] y = new double[left.size()];
        for (int i = 0; i < left.size(); i++) {
            Point pt = left.get(i);
            x[i * k] = 1;
            for (int j = 0; j < varying.size(); j++) {
                x[i * k + j + 1] = Math.log(varying.get(j).value().applyAsInt(pt));
            }
            y[i] = Math.log(pt.exit());
        }
        double[] beta;
        try (PointerScope scope = new PointerScope()) {
            TensorOptions o = Tensors.options(torch.ScalarType.Double);
            Tensor xt = torch.tensor(x, o).view(left.size(), k);
            Tensor yt = torch.tensor(y, o).view(left.size(), 1);
            Tensor xtx = torch.matmul(xt.t(), xt);
            Tensor xty = torch.matmul(xt.t(), yt);
            beta = Tensors.toDoubleArray(Tensors.solveSpd(xtx, xty));
        }
        double mean = 0;
        for (double v : y) {
            mean += v / y.length;
        }
        double ssRes = 0;
        double ssTot = 0;
        for (int i = 0; i < y.length; i++) {
            double fitted = 0;
            for (int j = 0; j < k; j++) {
                fitted += beta[j] * x[i * k + j];
            }
            ssRes += (y[i] - fitted) * (y[i] - fitted);
            ssTot += (y[i] - mean) * (y[i] - mean);
        }
        double[] exponents = new double[k - 1];
        System.arraycopy(beta, 1, exponents, 0, k - 1);
        return new Fit(varying.stream().map(Factor::name).toList(), beta[0], exponents,
                ssTot > 0 ? 1 - ssRes / ssTot : Double.NaN, left.size());
    }

    /** The o.o.d. phase's task count at modulus p: {@link #OOD_TASK_SHARE} of the p² tasks, rounded. */
    public static int targetTasks(int p) {
        return (int) Math.round(OOD_TASK_SHARE * p * p);
    }

    /**
     * The summary's section: every cell's exit (or that it stayed), the fit with its fitted values beside the
     * measured, and the extrapolation to {@link #targetTasks} at the run's own batch and width, in steps, rows and
     * hours at the measured speed. Says plainly when there is nothing to fit or nothing to extrapolate in.
     */
    public static String section(List<Point> points, int p, int batch, int width) {
        StringBuilder s = new StringBuilder("## Leaving the ln p plateau\n\n");
        s.append(String.format(Locale.ROOT, "A cell leaves the plateau at the first evaluation from which its loss on "
                + "the i.d. training pairs stays at or below %.1f × ln p = %.3f (fixed before the run).%n%n", FRACTION,
                FRACTION * Math.log(p)));
        Fit fit = fit(points);
        s.append("| n_id | batch | width | left the plateau at step | steps run | steps/s |");
        s.append(fit != null ? " fitted |\n|---|---|---|---|---|---|---|\n" : "\n|---|---|---|---|---|---|\n");
        for (Point pt : points) {
            s.append(String.format(Locale.ROOT, "| %d | %d | %d | %s | %d | %.1f |", pt.nId(), pt.batch(), pt.width(),
                    pt.left() ? Long.toString(pt.exit()) : "not left", pt.steps(), pt.stepsPerSecond()));
            if (fit != null) {
                s.append(String.format(Locale.ROOT, " %.0f |", fit.predict(pt.nId(), pt.batch(), pt.width())));
            }
            s.append('\n');
        }
        long leftCount = points.stream().filter(Point::left).count();
        if (fit == null) {
            long varying = FACTORS.stream().filter(f -> points.stream().filter(Point::left).mapToInt(f.value())
                    .distinct().count() > 1).count();
            s.append(String.format(Locale.ROOT, "%n%d of %d cells left the plateau: too few to fit a power law in "
                    + "the %d factors they vary (that needs %d cells that left).%n", leftCount, points.size(), varying,
                    varying + 2));
            return s.toString();
        }
        s.append(String.format(Locale.ROOT, "%nFit over the %d cells that left (least squares in logs): **%s**, "
                + "R² = %.3f.%n", fit.cells(), fit.formula(), fit.r2()));
        List<String> contradicted = new ArrayList<>();
        for (Point pt : points) {
            double predicted = fit.predict(pt.nId(), pt.batch(), pt.width());
            if (!pt.left() && predicted < pt.steps()) {
                contradicted.add(String.format(Locale.ROOT, "n_id %d, batch %d, width %d (fitted %.0f, not left by "
                        + "%d)", pt.nId(), pt.batch(), pt.width(), predicted, pt.steps()));
            }
        }
        if (!contradicted.isEmpty()) {
            s.append("The fit is contradicted by cells that stayed on the plateau longer than it predicts: ")
                    .append(String.join("; ", contradicted)).append(". Read the extrapolation below as a lower "
                            + "bound.\n");
        }
        int target = targetTasks(p);
        if (!fit.factors().contains("n_id")) {
            s.append(String.format(Locale.ROOT, "%nNo extrapolation in the number of tasks: the cells that left the "
                    + "plateau share one task count. The o.o.d. target would be n_id = %d.%n", target));
            return s.toString();
        }
        double steps = fit.predict(target, batch, width);
        Map<Integer, Double> speed = new TreeMap<>();
        for (Point pt : points) {
            if (pt.batch() == batch && pt.width() == width && Double.isFinite(pt.stepsPerSecond())) {
                speed.merge(pt.nId(), pt.stepsPerSecond(), Math::max);
            }
        }
        double rate = speed.values().stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        TreeSet<Integer> ids = new TreeSet<>();
        points.forEach(pt -> ids.add(pt.nId()));
        s.append(String.format(Locale.ROOT, "%n**Extrapolation** to the o.o.d. phase's task count, n_id = %d (%.0f%% of "
                + "the p² = %d tasks, the share of the paper's released depth-2 checkpoint; measured task counts %s), "
                + "at batch %d and width %d: about **%.3g steps** (%.3g rows)%s. Leaving the plateau is necessary for "
                + "the o.o.d. phase, not sufficient, so this is a lower bound on its compute.%n", target,
                100 * OOD_TASK_SHARE, p * p, ids, batch, width, steps, steps * batch, Double.isFinite(rate)
                        ? String.format(Locale.ROOT, ", %.1f hours at the %.1f steps/s measured at that batch and "
                                + "width", steps / rate / 3600, rate) : ""));
        return s.toString();
    }
}
