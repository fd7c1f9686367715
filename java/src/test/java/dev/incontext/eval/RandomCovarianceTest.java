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
import java.util.List;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Scalar;
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
}
