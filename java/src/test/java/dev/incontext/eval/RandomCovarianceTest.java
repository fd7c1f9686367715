package dev.incontext.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.config.RunConfig.TaskConfig;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.testing.NativeScope;
import dev.incontext.util.Devices;
import dev.incontext.util.Tensors;
import java.util.List;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Zhang et al.'s random-covariance setting and the scale and noise settings, for models trained off the isotropic
 * distribution: the inputs and the normalisers are what the settings say, by Monte Carlo.
 */
@ExtendWith(NativeScope.class)
class RandomCovarianceTest {
    private static TaskConfig trained(String... more) {
        List<String> o = new java.util.ArrayList<>(List.of("task.n_dims=5"));
        o.addAll(List.of(more));
        return ConfigLoader.load(RunConfig.class, "demo", o).task();
    }

    /** Pooled E x², E x⁴ and E y² of a setting's prompts over many batches (one covariance draw per batch). */
    private static double[] moments(Setting setting, TaskConfig trained, int batches) {
        TaskSampler s = new TaskSampler(setting.task(trained), 11, Devices.float32("cpu"));
        Generator gen = s.generator(5);
        double x2 = 0;
        double x4 = 0;
        double y2 = 0;
        for (int b = 0; b < batches; b++) {
            PromptBatch p = setting.prompts(s, 32, 11, gen);
            x2 += p.xs().pow(new Scalar(2)).mean().item_double();
            x4 += p.xs().pow(new Scalar(4)).mean().item_double();
            y2 += p.ys().pow(new Scalar(2)).mean().item_double();
        }
        return new double[] {x2 / batches, x4 / batches, y2 / batches};
    }

    /**
     * A model trained on random diagonal covariances (cov_scale 2): the setting's x has one covariance c κ Exp(1) per
     * coordinate, not the training draw times another (fourth moment 6 (E x²)², not 12), and the normaliser counts
     * κ. Tolerances: 1500 Exp draws (300 batches x 5 coordinates) give E x² to about 3% and E x⁴ to about 6%.
     */
    @Test
    void randomCovarianceDoesNotCompoundWithTheTrainingDraw() {
        TaskConfig t = trained("task.x_distribution=random_diagonal", "task.cov_scale=2.0");
        Setting.RandomCovariance setting = new Setting.RandomCovariance(1.0);
        double[] m = moments(setting, t, 300);
        assertEquals(2.0, m[0], 0.2, "E x²");
        double kurtosis = m[1] / (m[0] * m[0]);
        assertTrue(kurtosis > 4.5 && kurtosis < 8, "E x⁴ / (E x²)² = " + kurtosis + " (6 expected, 12 if compounded)");
        assertEquals(setting.normaliser(t), m[2], 0.15 * setting.normaliser(t), "normaliser against E y²");
        assertEquals(10.0, setting.normaliser(t), 1e-12);   // d c κ = 5 x 1 x 2
    }

    /** Scaled inputs under random-diagonal training keep cov_scale; noisy renormalised labels have E y² = d. */
    @Test
    void scaleAndNoiseNormalisersMatchMonteCarlo() {
        TaskConfig t = trained("task.x_distribution=random_diagonal", "task.cov_scale=2.0", "task.x_scale=1.5");
        Setting.ScaleX scale = new Setting.ScaleX(2.0);
        double[] m = moments(scale, t, 300);
        assertEquals(5 * 2.0 * 1.5 * 1.5 * 4, scale.normaliser(t), 1e-9);
        assertEquals(scale.normaliser(t), m[2], 0.15 * scale.normaliser(t), "scale_x normaliser against E y²");
        TaskConfig iso = trained("task.x_scale=1.5");
        Setting.NoisyLabels noisy = new Setting.NoisyLabels(0.5);
        double[] n = moments(noisy, iso, 100);
        assertEquals(5.0, noisy.normaliser(iso), 1e-12);
        assertEquals(noisy.normaliser(iso), n[2], 0.1 * noisy.normaliser(iso), "noisy normaliser against E y²");
    }

    /** Mean and standard error of independent draws. */
    private static double[] meanAndSe(double[] v) {
        double m = 0;
        for (double x : v) {
            m += x / v.length;
        }
        double s = 0;
        for (double x : v) {
            s += (x - m) * (x - m) / (v.length - 1);
        }
        return new double[] {m, Math.sqrt(s / v.length)};
    }

    private static void within(double truth, double[] draws, String what) {
        double[] m = meanAndSe(draws);
        assertTrue(Math.abs(m[0] - truth) <= 5 * m[1], what + ": " + m[0] + " vs " + truth + " (se " + m[1] + ")");
    }

    /**
     * Every random-covariance setting of the zhang suite, for models trained on random diagonal covariances (cov_scale
     * 2, x_scale 1.5), uniform and skewed inputs: per coordinate, E x² = x_scale² c κ and E x⁴ = 6 (x_scale² c κ)²
     * (z² λ with λ ~ c κ Exp(1): 3 x 2), κ = cov_scale for random_diagonal training and 1 otherwise; the normaliser
     * equals E y² measured. The unit is the batch (one λ each): 2000 batches give each moment's mean and standard
     * error from the batches' own means (about 2% of E x² and 5% of E x⁴, whose batch means go as λ², relative sd
     * √20 / 2), and each check allows 5 standard errors. What these separate: compounding the training draw gives
     * 12 (E x²)² on random_diagonal and 3.6 (E x²)² on uniform inputs, and a skewed rotation gives coordinate
     * variances from 0.25 to 2 times the mean; dropping κ halves the normaliser.
     */
    @Test
    void zhangSuiteInputsHaveOneRandomCovarianceWhateverTheTraining() {
        int batches = 2000;
        int d = 5;
        for (String[] training : List.of(new String[] {"task.x_distribution=random_diagonal", "task.cov_scale=2.0",
                "task.x_scale=1.5"}, new String[] {"task.x_distribution=uniform"},
                new String[] {"task.x_distribution=skewed"})) {
            TaskConfig t = trained(training);
            double kappa = t.xDistribution() == RunConfig.XDistribution.RANDOM_DIAGONAL ? t.covScale() : 1.0;
            int checked = 0;
            for (Setting setting : EvalSuite.Named.ZHANG.suite(t).settings()) {
                if (!(setting instanceof Setting.RandomCovariance rc)) {
                    continue;
                }
                checked++;
                String what = setting.id() + " on " + String.join(" ", training);
                TaskSampler s = new TaskSampler(setting.task(t), 11, Devices.float32("cpu"));
                Generator gen = s.generator(7);
                double[][] x2 = new double[d][batches];
                double[][] x4 = new double[d][batches];
                double[] y2 = new double[batches];
                for (int b = 0; b < batches; b++) {
                    PromptBatch p = setting.prompts(s, 4, 11, gen);
                    double[] a = Tensors.toDoubleArray(p.xs().pow(new Scalar(2)).mean(new long[] {0, 1}, false,
                            new ScalarTypeOptional()));
                    double[] q = Tensors.toDoubleArray(p.xs().pow(new Scalar(4)).mean(new long[] {0, 1}, false,
                            new ScalarTypeOptional()));
                    for (int i = 0; i < d; i++) {
                        x2[i][b] = a[i];
                        x4[i][b] = q[i];
                    }
                    y2[b] = p.ys().pow(new Scalar(2)).mean().item_double();
                }
                double v = t.xScale() * t.xScale() * rc.c() * kappa;
                for (int i = 0; i < d; i++) {
                    within(v, x2[i], what + ": E x_" + i + "²");
                    within(6 * v * v, x4[i], what + ": E x_" + i + "⁴");
                }
                assertEquals(d * v, setting.normaliser(t), 1e-9 * d * v, what + ": normaliser");
                within(setting.normaliser(t), y2, what + ": normaliser against E y²");
            }
            assertEquals(3, checked, "the zhang suite's random covariances c = 1, 4, 9");
        }
    }
}
