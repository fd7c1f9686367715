package dev.incontext.tasks;

import dev.incontext.ops.Rng;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.testing.NativeScope;
import dev.incontext.config.RunConfig;
import dev.incontext.util.Tensors;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

@ExtendWith(NativeScope.class)
class TaskSamplerTest {
    private static final TensorOptions F32 = new TensorOptions(torch.ScalarType.Float);
    private static TaskSampler sampler(String... overrides) {
        java.util.List<String> o = new java.util.ArrayList<>(List.of(overrides));
        int d = 20;
        for (String s : overrides) {
            if (s.startsWith("task.n_dims=")) {
                d = Integer.parseInt(s.substring(12));
            }
        }
        o.add("curriculum.dims={start: 1, end: " + d + ", inc: 1, interval: 1}");
        RunConfig c = ConfigLoader.load(RunConfig.class, "linear_regression", o);
        return TaskSampler.forRun(c, F32);
    }

    private static double[] values(Tensor t) {
        Tensor d = t.detach().to(torch.ScalarType.Double).contiguous();
        double[] out = new double[(int) d.numel()];
        d.data_ptr_double().get(out);
        return out;
    }

    /** The zero predictor scores 1 after normalisation: E[y^2] / normalisation = 1 within 6 standard errors. */
    @ParameterizedTest
    @EnumSource(RunConfig.TaskKind.class)
    void zeroPredictorScoresOne(RunConfig.TaskKind kind) {
        TaskSampler s = sampler("task.name=" + kind.name().toLowerCase(), "task.n_dims=10", "task.noise_std=1.0",
                "task.renormalize_ys=" + (kind == RunConfig.TaskKind.NOISY_LINEAR_REGRESSION));
        int b = 4096;
        int n = 8;
        PromptBatch batch = s.sample(b, n, 10, Rng.cpu(11));
        double norm = s.family().normalisation(10);
        // Per-prompt means are independent: their spread gives the standard error of the overall mean.
        double[] perPrompt = values(batch.ys().pow(new Scalar(2)).mean(new long[] {1}).div(new Scalar(norm)));
        double mean = 0;
        for (double v : perPrompt) {
            mean += v / b;
        }
        double var = 0;
        for (double v : perPrompt) {
            var += (v - mean) * (v - mean) / (b - 1);
        }
        double se = Math.sqrt(var / b);
        assertTrue(Math.abs(mean - 1.0) <= 6 * se + 1e-6, kind + ": E y^2 / norm = " + mean + " +- " + se);
    }

    @Test
    void curriculumTruncationZeroesInactiveCoordinates() {
        PromptBatch b = sampler("task.n_dims=8").sample(16, 5, 3, Rng.cpu(1));
        assertEquals(0.0, b.xs().narrow(2, 3, 5).abs().max().item_double());
        assertTrue(b.xs().narrow(2, 0, 3).abs().max().item_double() > 0);
        assertEquals(3, b.activeDims());
    }

    @Test
    void sparseTasksHaveSNonzerosAmongActiveCoordinates() {
        TaskSampler s = sampler("task.name=sparse_linear_regression", "task.n_dims=10", "task.sparsity=3");
        PromptBatch b = s.sample(256, 4, 6, Rng.cpu(2));
        Tensor w = b.params().get("w").squeeze(2);
        Tensor nonzero = w.ne(new Scalar(0)).to(torch.ScalarType.Double);
        assertEquals(3.0, nonzero.sum(new long[] {1}).min().item_double());
        assertEquals(3.0, nonzero.sum(new long[] {1}).max().item_double());
        assertEquals(0.0, nonzero.narrow(1, 6, 4).sum().item_double(), "support outside the active coordinates");
        // Every active coordinate is chosen sometimes.
        assertTrue(nonzero.narrow(1, 0, 6).sum(new long[] {0}).min().item_double() > 0);
    }

    @Test
    void classificationLabelsAreSigns() {
        PromptBatch b = sampler("task.name=linear_classification").sample(32, 9, 20, Rng.cpu(3));
        assertEquals(1.0, b.ys().abs().min().item_double());
        assertEquals(1.0, b.ys().abs().max().item_double());
    }

    @Test
    void decisionTreeMatchesAPlainJavaWalk() {
        TaskSampler s = sampler("task.name=decision_tree", "task.n_dims=6", "task.depth=4");
        PromptBatch b = s.sample(8, 20, 6, Rng.cpu(4));
        double[] xs = values(b.xs());
        double[] ys = values(b.ys());
        Tensor coordsT = b.params().get("coords").to(torch.ScalarType.Double);
        double[] coords = values(coordsT);
        double[] leaves = values(b.params().get("leaves"));
        for (int p = 0; p < 8; p++) {
            for (int i = 0; i < 20; i++) {
                int node = 0;
                for (int level = 0; level < 4; level++) {
                    int c = (int) coords[p * 15 + node];
                    node = xs[(p * 20 + i) * 6 + c] > 0 ? 2 * node + 2 : 2 * node + 1;
                }
                assertEquals(leaves[p * 16 + node - 15], ys[p * 20 + i], 1e-6, "prompt " + p + " point " + i);
            }
        }
    }

    @Test
    void taskPoolDrawsFromAFixedSet() {
        TaskSampler s = sampler("task.num_tasks=3", "task.n_dims=4");
        Set<Double> firstCoordinates = new HashSet<>();
        for (int step = 0; step < 5; step++) {
            PromptBatch b = s.sample(64, 5, 4, Rng.cpu(100 + step));
            for (double v : values(b.params().get("w").select(1, 0).squeeze(1))) {
                firstCoordinates.add(v);
            }
        }
        assertEquals(3, firstCoordinates.size());
    }

    @Test
    void examplePoolRepeatsWholePrompts() {
        TaskSampler s = sampler("task.num_training_examples=5", "task.n_dims=4");
        Set<Double> firstInputs = new HashSet<>();
        for (int step = 0; step < 4; step++) {
            for (double v : values(s.sample(16, 5, 4, Rng.cpu(step)).xs().select(1, 0).select(1, 0))) {
                firstInputs.add(v);
            }
        }
        assertEquals(5, firstInputs.size());
    }

    @Test
    void sameSeedSameBatchOtherSeedOtherBatch() {
        TaskSampler s = sampler();
        PromptBatch a = s.sample(4, 6, 20, Rng.cpu(9));
        PromptBatch b = s.sample(4, 6, 20, Rng.cpu(9));
        PromptBatch c = s.sample(4, 6, 20, Rng.cpu(10));
        assertEquals(0.0, Tensors.maxAbsDiff(a.ys(), b.ys()));
        assertTrue(Tensors.maxAbsDiff(a.xs(), c.xs()) > 0);
    }

    @Test
    void inputDistributions() {
        int d = 8;
        // Skewed and half-subspace covariances have trace d; half-subspace inputs span d/2 dimensions.
        for (String kind : new String[] {"skewed", "half_subspace", "isotropic"}) {
            Tensor xs = sampler("task.n_dims=" + d, "task.x_distribution=" + kind).sample(512, 16, d, Rng.cpu(5)).xs();
            double trace = xs.pow(new Scalar(2)).sum(new long[] {2}).mean().item_double();
            assertEquals(d, trace, 0.5, kind + " trace");
            if (kind.equals("half_subspace")) {
                Tensor sv = torch.linalg_svdvals(xs.reshape(-1, d).to(torch.ScalarType.Double));
                assertTrue(sv.select(0, d / 2).item_double() < 1e-4 * sv.select(0, 0).item_double(), "rank d/2");
            }
        }
        Tensor diag = sampler("task.n_dims=" + d, "task.x_distribution=random_diagonal", "task.cov_scale=4.0")
                .sample(2048, 8, d, Rng.cpu(6)).xs();
        assertEquals(4.0 * d, diag.pow(new Scalar(2)).sum(new long[] {2}).mean().item_double(), 1.0);
        Tensor orth = sampler("task.n_dims=" + d, "task.x_distribution=orthants").sample(64, 10, d, Rng.cpu(7)).xs();
        Tensor signs = orth.sign();
        assertEquals(0.0, Tensors.maxAbsDiff(signs, signs.select(1, 0).unsqueeze(1).expand(new long[] {64, 10, d})),
                "one orthant per prompt");
        Tensor scaled = sampler("task.n_dims=" + d, "task.x_scale=3.0").sample(512, 16, d, Rng.cpu(5)).xs();
        assertEquals(9.0 * d, scaled.pow(new Scalar(2)).sum(new long[] {2}).mean().item_double(), 4.0);
    }
}
